"""Re-seeding starved components of a mixture trained by ``partial_fit`` (numpy).

A stream read in its natural order (rows grouped by cluster, as files and time
series often are) initialises every component from the first chunk's clusters.
Gradient steps move a component across the space only slowly, so clusters met
later stay unexplained. As scikit-learn's ``MiniBatchKMeans`` does, components
are moved to the current chunk instead: when a chunk holds rows that no
component explains (squared Mahalanobis distance beyond the chi-square tail
:data:`TAIL_PROBABILITY` for every component) and their share of the chunk's
weight reaches ``reassignment_ratio``, the component with the smallest running
weight (the responsibility mass it has collected over the stream so far) is
re-seeded on those rows: their mean, their covariance and their share of the
chunk as its weight.
"""

import numpy as np
from scipy.stats import chi2

from ._numpy.gaussian import component_log_prob

#: Rows further than this chi-square tail from every component are unexplained.
TAIL_PROBABILITY = 1e-6


def mahalanobis_squared(X, means, precisions_cholesky, covariance_type):
    """Squared Mahalanobis distance of each row to each component, (N, K).

    Computed on the residuals ``x - mu_k``, so offset data keep their accuracy.
    """
    residual = X[:, None, :] - means[None]
    if covariance_type == "full":
        whitened = np.einsum("nkd,kde->nke", residual, precisions_cholesky)
    elif covariance_type == "tied":
        whitened = residual @ precisions_cholesky
    elif covariance_type == "diag":
        whitened = residual * precisions_cholesky[None]
    else:
        whitened = residual * precisions_cholesky[None, :, None]
    return np.sum(whitened**2, axis=2)


def responsibility_mass(X, weight, params, covariance_type):
    """Weighted responsibility mass of each component on the rows, shape (K,)
    (log-densities from residuals about each mean: the numpy EM path's)."""
    weights, means, _, precisions_cholesky = params
    with np.errstate(divide="ignore"):
        log_prob, _ = component_log_prob(np.asarray(X, np.float64), weights, means,
                                         precisions_cholesky, covariance_type)
    log_prob = log_prob.T - log_prob.max(axis=0)[:, None]
    resp = np.exp(log_prob)
    resp /= resp.sum(axis=1, keepdims=True)
    return weight @ resp


def unexplained_rows(X, params, covariance_type):
    """Boolean mask of the rows that no component explains."""
    _, means, _, precisions_cholesky = params
    distance = mahalanobis_squared(X, means, precisions_cholesky, covariance_type)
    return np.all(distance > chi2.isf(TAIL_PROBABILITY, X.shape[1]), axis=1)


def reseed(X, weight, params, running_weight, covariance_type, reg_covar, ratio):
    """Re-seed the most starved component on the chunk's unexplained rows
    (not when their covariance is singular, as two such rows in 2-D with
    ``reg_covar=0`` give: they span no component, and the chunk is fitted as
    without re-seeding).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    weight : ndarray of shape (n_rows,)
    params : tuple (weights, means, covariances, precisions_cholesky)
    running_weight : ndarray of shape (n_components,)
        Responsibility mass each component collected over the stream so far.
    covariance_type : str
    reg_covar : float
    ratio : float
        ``reassignment_ratio``: the unexplained share of the chunk's weight from
        which a component is re-seeded (0 switches re-seeding off).

    Returns
    -------
    params : tuple
        The parameters, with at most one component replaced.
    component : int or None
        The re-seeded component, or None.
    mass : float
        The weight of the rows it was re-seeded on (its new running weight).
    """
    if ratio <= 0:
        return params, None, 0.0
    mask = unexplained_rows(X, params, covariance_type)
    share = weight[mask].sum() / weight.sum()
    if not share >= ratio or weight[mask].sum() <= 0 or mask.sum() < 2:
        return params, None, 0.0
    component = int(np.argmin(running_weight))
    weights, means, covariances, precisions_cholesky = (np.array(p) for p in params)
    rows, row_weight = X[mask], weight[mask] / weight[mask].sum()
    means[component] = row_weight @ rows
    residual = rows - means[component]
    if covariance_type == "full":
        covariances[component] = ((residual * row_weight[:, None]).T @ residual
                                  + reg_covar * np.eye(X.shape[1]))
        try:
            precisions_cholesky[component] = np.linalg.inv(
                np.linalg.cholesky(covariances[component])).T
        except np.linalg.LinAlgError:
            return params, None, 0.0  # (reg_covar=0) too few rows to span a component
    elif covariance_type in ("diag", "spherical"):
        variance = row_weight @ residual**2
        covariances[component] = (variance if covariance_type == "diag"
                                  else variance.mean()) + reg_covar
        if not np.all(covariances[component] > 0):
            return params, None, 0.0  # (reg_covar=0) identical rows span no component
        precisions_cholesky[component] = covariances[component] ** -0.5
    weights[component] = max(share, 1.0 / len(weights)) * weights.sum()
    weights /= weights.sum()
    return ((weights, means, covariances, precisions_cholesky), component,
            float(weight[mask].sum()))


def reset_slots(slots, component, covariance_type):
    """Optimiser slots with the re-seeded component's entries set to zero."""
    step, *moments = slots
    cleared = []
    for moment in moments:
        moment = [np.array(m) for m in moment]
        for index, array in enumerate(moment):
            if not (index == 2 and covariance_type == "tied"):
                array[component] = 0.0
        cleared.append(tuple(moment))
    return (step, *cleared)
