"""Bookkeeping every estimator shares: ``__init__`` stores its parameters, a fit
that fails leaves the estimator as it was, and the dtype of the fitted arrays
and outputs."""

import contextlib

import numpy as np


def store_parameters(estimator, arguments, names=None):
    """Store ``__init__`` arguments, unchanged, as attributes of the same names.

    An ``__init__`` only stores its parameters, as scikit-learn requires
    (``clone`` and ``set_params`` rely on it); validation waits for ``fit``.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator being constructed.
    arguments : dict
        The ``locals()`` of its ``__init__``, taken first thing (then they are
        its parameters and ``self``).
    names : iterable of str, default=None
        The parameters to store; None stores every one in ``arguments`` (a
        subclass that adds parameters stores its own).
    """
    if names is None:
        names = [name for name in arguments if name not in ("self", "__class__")]
    for name in names:
        setattr(estimator, name, arguments[name])


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
