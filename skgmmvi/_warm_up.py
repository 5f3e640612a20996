"""``skgmmvi.warm_up()``: pay TensorFlow's start-up and tracing before timing starts."""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def warm_up(covariance_types=("full",), dtypes=("float64",), estimators=("em",)):
    """Import TensorFlow and trace the compiled kernels a later fit will use.

    The first fit on the TensorFlow backend pays TensorFlow's import (seconds)
    and the tracing of its compiled functions (about a second or more per new
    covariance type and dtype); later fits in the same process do not. Call this
    once, for instance before timing fits or at the start of a service, so that
    the cost is paid up front. Small in-memory EM fits and the scoring of fitted
    models run in numpy (``backend="auto"``) and need no warm-up.

    Parameters
    ----------
    covariance_types : str or sequence of {'full', 'tied', 'diag', 'spherical'}, \
            default=('full',)
        The covariance types to trace for.
    dtypes : str or sequence of {'float64', 'float32'}, default=('float64',)
        The compute dtypes to trace for.
    estimators : str or sequence of {'em', 'bayesian', 'mle'}, default=('em',)
        'em' traces :class:`~skgmmvi.EMGaussianMixture` on the TensorFlow
        backend (EM steps, initialisation and scoring); 'bayesian' traces
        :class:`~skgmmvi.BayesianGaussianMixture`'s own compiled loops on that
        backend, one per ``weight_concentration_prior_type`` (its
        initialisation and scoring kernels are EM's); 'mle' traces
        :class:`~skgmmvi.MLEGaussianMixture`.

    Returns
    -------
    seconds : float
        Wall time spent, import included.
    """
    factories = _factories()
    estimators, covariance_types, dtypes = (
        (names,) if isinstance(names, str) else names
        for names in (estimators, covariance_types, dtypes))
    _check_choices(estimators, covariance_types, dtypes, factories)
    start = time.perf_counter()
    from ._tf._runtime import quiet_tensorflow
    from ._tf.em import log_prob_resp

    X = np.random.RandomState(0).standard_normal((64, 2))
    with warnings.catch_warnings(), quiet_tensorflow():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for factory in (f for name in estimators for f in factories[name]):
            for covariance_type in covariance_types:
                for dtype in dtypes:
                    model = factory(n_components=2, dtype=dtype, max_iter=2,
                                    covariance_type=covariance_type,
                                    random_state=0).fit(X)
                    # The scoring kernel that large inputs use.
                    log_prob_resp(X, model._scoring_parameters(), covariance_type, 64,
                                  dtype)
    return time.perf_counter() - start


def _factories():
    """Estimator name -> the constructors of the estimators that ``warm_up`` fits."""
    from . import BayesianGaussianMixture, EMGaussianMixture, MLEGaussianMixture

    return {"em": [lambda **kw: EMGaussianMixture(backend="tensorflow", **kw)],
            "bayesian": [
                lambda prior=prior, **kw: BayesianGaussianMixture(
                    backend="tensorflow", weight_concentration_prior_type=prior, **kw)
                for prior in ("dirichlet_process", "dirichlet_distribution")],
            "mle": [lambda **kw: MLEGaussianMixture(**kw)]}


def _check_choices(estimators, covariance_types, dtypes, factories):
    """Raise ValueError naming what ``warm_up`` does not know, and the choices."""
    for names in (estimators, covariance_types, dtypes):
        if not isinstance(names, (list, tuple, set, frozenset)):
            raise ValueError(f"warm_up takes names or sequences of names, such as "
                             f"('full', 'diag') or 'float64'; got {names!r}.")
    unknown = set(estimators) - set(factories) | set(covariance_types) - set(
        COVARIANCE_TYPES) | set(dtypes) - {"float64", "float32"}
    if unknown:
        raise ValueError(
            f"warm_up got unknown values {sorted(unknown)}; estimators are 'em', "
            "'bayesian' or 'mle', covariance types one of " + ", ".join(COVARIANCE_TYPES)
            + ", dtypes 'float64' or 'float32'.")
