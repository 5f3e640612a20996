"""Fit bookkeeping every estimator shares: a fit that fails leaves the estimator
as it was, and the dtype of the fitted arrays and outputs."""

import contextlib

import numpy as np


@contextlib.contextmanager
def restored_on_failure(estimator):
    """Run a fit step; if it raises, put back every attribute ``estimator`` had.

    Parameters
    ----------
    estimator : object
        The estimator whose ``__dict__`` is saved before the step and restored
        (new attributes removed, changed ones reverted) when it raises.
    """
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


def output_dtype(compute_dtype, X=None):
    """numpy dtype of fitted arrays and outputs, as scikit-learn keeps it.

    Parameters
    ----------
    compute_dtype : {'float64', 'float32'}
        The estimator's ``dtype`` parameter.
    X : ndarray or None, default=None
        The validated training rows, if any.

    Returns
    -------
    dtype : type
        ``np.float32`` when ``compute_dtype`` is 'float32' or ``X`` is float32,
        else ``np.float64``.
    """
    if compute_dtype == "float32" or (X is not None and X.dtype == np.float32):
        return np.float32
    return np.float64
