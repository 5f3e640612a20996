"""The prior of a variational Bayesian Gaussian mixture: defaults and validation.

scikit-learn's defaults and messages; the data-dependent defaults (the prior
mean and covariance) are the weighted mean and the frequency-weighted sample
covariance of the rows, so that an integer sample weight equals repeating
the row.
"""

import numpy as np
from sklearn.utils import check_array

from . import _checks
from ._numpy._threads import one_thread
from ._numpy.bayesian import Priors, covariance_prior_from_scatter


def _weighted_moments(X, weight):
    """Weighted mean (D,) and the centred rows in float64."""
    rows = np.asarray(X, np.float64)
    with one_thread("blas"):
        mean = weight @ rows / np.sum(weight)
    return mean, rows - mean


def default_covariance_prior(X, weight, covariance_type):
    """The sample covariance with ``sum(weight) - 1`` degrees of freedom, shaped
    for ``covariance_type`` (scikit-learn's ``np.cov`` / ``np.var(ddof=1)``)."""
    _, centred = _weighted_moments(X, weight)
    with one_thread("blas"):  # a team of BLAS threads thrashes on this small product
        if covariance_type in ("full", "tied"):
            scatter = (centred.T * weight) @ centred
        else:  # only the diagonal is needed
            scatter = np.diag(weight @ centred**2)
    return covariance_prior_from_scatter(scatter, float(np.sum(weight)), covariance_type)


def _checked_covariance_prior(covariance_prior, covariance_type, n_features):
    if covariance_type == "spherical":
        return np.asarray(covariance_prior, np.float64)
    prior = check_array(covariance_prior, dtype=[np.float64, np.float32],
                        ensure_2d=False)
    if covariance_type == "diag":
        _checks.check_shape(prior, (n_features,), "diag covariance_prior")
        if np.any(prior <= 0.0):
            raise ValueError("'diag precision' should be positive")
    else:
        _checks.check_shape(prior, (n_features, n_features),
                            "%s covariance_prior" % covariance_type)
        _checks.check_symmetric_positive_definite(prior[None], covariance_type)
    return prior


def checked_priors(estimator, X, weight):
    """The validated prior of ``estimator`` for rows ``X`` with ``weight``.

    Returns ``(priors, fitted)``: a :class:`~skgmmvi._numpy.bayesian.Priors` in
    float64 and the ``*_prior_`` attributes to store, as scikit-learn stores them.
    """
    n_features = X.shape[1]
    concentration = (1.0 / estimator.n_components
                     if estimator.weight_concentration_prior is None
                     else estimator.weight_concentration_prior)
    mean_precision = (1.0 if estimator.mean_precision_prior is None
                      else estimator.mean_precision_prior)
    if estimator.mean_prior is None:
        mean = _weighted_moments(X, weight)[0].astype(X.dtype)
    else:
        mean = check_array(estimator.mean_prior, dtype=[np.float64, np.float32],
                           ensure_2d=False)
        _checks.check_shape(mean, (n_features,), "means")
    dof = estimator.degrees_of_freedom_prior
    if dof is None:
        dof = n_features
    elif not dof > n_features - 1.0:
        raise ValueError(
            "The parameter 'degrees_of_freedom_prior' should be greater than %d, but "
            "got %.3f." % (n_features - 1, dof))
    if estimator.covariance_prior is None:
        covariance = default_covariance_prior(X, weight, estimator.covariance_type)
    else:
        covariance = _checked_covariance_prior(estimator.covariance_prior,
                                               estimator.covariance_type, n_features)
    fitted = {"weight_concentration_prior_": concentration,
              "mean_precision_prior_": mean_precision, "mean_prior_": mean,
              "degrees_of_freedom_prior_": dof, "covariance_prior_": covariance}
    priors = Priors(estimator.weight_concentration_prior_type, float(concentration),
                    float(mean_precision), np.asarray(mean, np.float64), float(dof),
                    np.asarray(covariance, np.float64),
                    default_mean=estimator.mean_prior is None,
                    default_covariance=estimator.covariance_prior is None)
    return priors, fitted
