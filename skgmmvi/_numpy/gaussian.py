"""Gaussian algebra of the numpy backend: feature map, coefficients, M-step.

The same layout and products as :mod:`skgmmvi._tf.gaussian` (see its module
docstring): ``log w_k + log N(x | mu_k, Sigma_k) = A[k] . phi(x - c)`` with
``phi`` the quadratic block, the centred coordinates and a constant 1. Here the
feature rows are kept transposed (shape ``(P, batch)``) in the canonical layout
(upper triangle row-major, then the coordinates, then 1); numpy builds them with
one row-gathered product, so the cyclic layout the TensorFlow kernels use is not
needed.

Also here: the whitened residuals ``y_nk = P_k^T (x_n - mu_k)`` that the far-apart
rule of the EM loop and the scoring of a fitted model use (see
:data:`~skgmmvi._cancellation.CANCELLATION_LIMIT`). All arithmetic is float64.
"""

import math

import numpy as np

from .. import _residual_moments as moments



def upper_pairs(n_features):
    """Row and column indices of the upper triangle (i <= j), row-major."""
    return np.triu_indices(n_features)


def n_features_of_phi(n_features, covariance_type):
    """Rows ``P`` of the feature map: quadratic block, coordinates and a 1."""
    quad = {"full": n_features * (n_features + 1) // 2, "diag": n_features}.get(
        covariance_type, 1)
    return quad + n_features + 1


def features(xt, covariance_type, tied_precision_chol, out=None):
    """Feature rows ``phi(x - c)`` of centred rows given as columns ``xt`` (D, batch).

    Returns a (P, batch) array, written into ``out`` when given (a C-contiguous
    buffer of that shape, reused across chunks): the quadratic block (for
    ``full``, ``x_i x_j`` for i <= j, row-major), the coordinates, then ones.
    Every write is a whole row, never a column.
    """
    n_features, n_rows = xt.shape
    if out is None:
        out = np.empty((n_features_of_phi(n_features, covariance_type), n_rows))
    n_quad = out.shape[0] - n_features - 1
    if covariance_type == "full":
        row = 0
        for i in range(n_features):  # a loop over features, not over rows
            np.multiply(xt[i], xt[i:], out=out[row:row + n_features - i])
            row += n_features - i
    elif covariance_type == "tied":
        whitened = tied_precision_chol.T @ xt
        np.einsum("ij,ij->j", whitened, whitened, out=out[0])
    elif covariance_type == "diag":
        np.multiply(xt, xt, out=out[:n_quad])
    else:
        np.einsum("ij,ij->j", xt, xt, out=out[0])
    out[n_quad:-1] = xt
    out[-1] = 1.0
    return out


def log_det_precision_chol(precision_chol, covariance_type, n_features):
    """``log det`` of each component's precision Cholesky factor, shape (K,) or ()."""
    if covariance_type in ("full", "tied"):
        return np.sum(np.log(np.diagonal(precision_chol, axis1=-2, axis2=-1)), axis=-1)
    if covariance_type == "diag":
        return np.sum(np.log(precision_chol), axis=-1)
    return n_features * np.log(precision_chol)


def _log_normaliser(weights, precision_chol, covariance_type, n_features):
    """``log w_k + log det P_k - D/2 log(2 pi)``, shape (K,)."""
    log_det = log_det_precision_chol(precision_chol, covariance_type, n_features)
    return np.log(weights) + log_det - 0.5 * n_features * math.log(2.0 * math.pi)


def coefficients(weights, means_c, precision_chol, covariance_type, pairs):
    """Matrix ``A`` (K, P) with ``A @ phi(x - c) = log w_k + log N_k(x)``.

    ``means_c`` are the means minus the centre ``c``.
    """
    n_components, n_features = means_c.shape
    if covariance_type == "full":
        white_means = np.einsum("kij,ki->kj", precision_chol, means_c)
        linear = np.einsum("kij,kj->ki", precision_chol, white_means)
        precision = precision_chol @ np.transpose(precision_chol, (0, 2, 1))
        rows, cols = pairs
        quad = precision[:, rows, cols] * np.where(rows == cols, -0.5, -1.0)
        mahal_means = np.sum(white_means**2, axis=1)
    elif covariance_type == "tied":
        white_means = means_c @ precision_chol
        linear = white_means @ precision_chol.T
        quad = np.full((n_components, 1), -0.5)
        mahal_means = np.sum(white_means**2, axis=1)
    elif covariance_type == "diag":
        precision = precision_chol**2
        quad = -0.5 * precision
        linear = precision * means_c
        mahal_means = np.sum(precision * means_c**2, axis=1)
    else:
        precision = precision_chol**2
        quad = -0.5 * precision[:, None]
        linear = precision[:, None] * means_c
        mahal_means = precision * np.sum(means_c**2, axis=1)
    const = _log_normaliser(weights, precision_chol, covariance_type, n_features) \
        - 0.5 * mahal_means
    return np.concatenate([quad, linear, const[:, None]], axis=1)


def component_log_prob(rows, weights, means, precision_chol, covariance_type):
    """``log w_k + log N(x_b | mu_k, Sigma_k)`` from residuals about each mean.

    Residuals ``x_b - mu_k`` are formed before whitening, so rows far from the
    centre or from each other keep their accuracy, and rows beyond the float
    range give ``-inf``, not NaN. Takes float64 rows of shape (B, D) and the
    mixture's numpy parameters; returns ``log_prob`` of shape (K, B) and the
    residuals ``x_b - mu_k`` of shape (K, B, D), which the M-step statistics use
    (the TensorFlow path's ``component_log_prob`` has the same contract).
    """
    residuals = rows[None, :, :] - means[:, None, :]
    if covariance_type in ("full", "tied"):
        white = residuals @ precision_chol
    elif covariance_type == "diag":
        white = residuals * precision_chol[:, None, :]
    else:
        white = residuals * precision_chol[:, None, None]
    with np.errstate(over="ignore", invalid="ignore"):
        sq_norms = np.einsum("kbd,kbd->kb", white, white)
    base = _log_normaliser(weights, precision_chol, covariance_type, rows.shape[1])
    return base[:, None] - 0.5 * sq_norms, residuals


def residual_statistics(residuals, resp_w, covariance_type):
    """:func:`skgmmvi._residual_moments.residual_statistics` in numpy."""
    return moments.residual_statistics(residuals, resp_w, covariance_type, NUMPY_OPS)


def covariances_from_residuals(counts, shift, s2, reg_covar, covariance_type):
    """:func:`skgmmvi._residual_moments.covariances_from_residuals` in numpy."""
    return moments.covariances_from_residuals(counts, shift, s2, reg_covar,
                                              covariance_type, NUMPY_OPS)


def parameters_from_residuals(statistics, means, reg_covar, covariance_type):
    """EM's M-step from residual statistics about the entering ``means``.

    Returns ``(weights, means, covariances, precision_chol)`` as
    :func:`parameters_from_statistics` does with ``normalize_by="counts"``.
    """
    s0, s1, s2 = statistics
    counts = s0 + guard()
    shift = s1 / counts[:, None]
    covariances = covariances_from_residuals(counts, shift, s2, reg_covar,
                                             covariance_type)
    return (counts / np.sum(counts), means + shift, covariances,
            precision_cholesky(covariances, covariance_type))


def centre_distance(means_c, precision_chol, covariance_type):
    """``rho = max_k |P_k^T (mu_k - c)|^2``: how much the feature map cancels.

    ``means_c`` are the means minus the centre; non-finite parameters give a
    non-finite ``rho`` (so ``rho <= limit`` is False).
    """
    if covariance_type == "full":
        white = np.einsum("kij,ki->kj", precision_chol, means_c)
    elif covariance_type == "tied":
        white = means_c @ precision_chol
    elif covariance_type == "diag":
        white = precision_chol * means_c
    else:
        white = precision_chol[:, None] * means_c
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.max(np.sum(white**2, axis=1)))


def symmetric_from_upper(upper, n_features, pairs):
    """(K, D, D) symmetric matrices from their packed upper triangles (K, Q)."""
    rows, cols = pairs
    out = np.zeros((upper.shape[0], n_features, n_features))
    out[:, rows, cols] = upper
    out[:, cols, rows] = upper
    return out


def add_to_diagonal(matrices, value):
    """``matrices + value * I`` (a new array) for one matrix or a batch of them."""
    out = np.array(matrices, dtype=np.float64, copy=True)
    diagonal = np.einsum("...ii->...i", out)
    diagonal += value
    return out


#: The operations :mod:`skgmmvi._residual_moments` needs, in numpy.
NUMPY_OPS = moments.ArrayOps(sum=np.sum, mean=np.mean,
                             gram=lambda a, b: np.swapaxes(a, -1, -2) @ b,
                             add_to_diagonal=add_to_diagonal)


def precision_cholesky(covariances, covariance_type):
    """Upper-triangular ``L`` with ``L L^T = Sigma^{-1}`` (``1/sqrt`` for diag types).

    A covariance that is not positive definite gives NaN entries, as in the
    TensorFlow backend; callers test with ``np.isfinite``.
    """
    if covariance_type in ("full", "tied"):
        try:
            chol = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            return np.full_like(covariances, np.nan)
        identity = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
        inverse_lower = np.linalg.solve(chol, identity)
        return np.swapaxes(np.tril(inverse_lower), -1, -2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(covariances > 0, 1.0 / np.sqrt(np.abs(covariances)), np.nan)


def guard():
    """The ``10 * eps`` added to every count before it divides (float64)."""
    return 10.0 * np.finfo(np.float64).eps


def parameters_from_statistics(stats, gram, total_weight, center, reg_covar,
                               covariance_type, pairs, normalize_by):
    """M-step: mixture parameters from ``sum_n w_n resp_nk phi(x_n - c)`` (K, P).

    Mirrors :func:`skgmmvi._tf.gaussian.parameters_from_statistics` (see there
    for the parameters); returns ``weights, means, covariances, precision_chol``.
    """
    n_features = center.shape[0]
    n_quad = stats.shape[1] - n_features - 1
    counts = stats[:, -1] + guard()
    means_c = stats[:, n_quad:n_quad + n_features] / counts[:, None]
    second = stats[:, :n_quad]
    if covariance_type == "full":
        moments = symmetric_from_upper(second, n_features, pairs) / counts[:, None, None]
        covariances = add_to_diagonal(
            moments - means_c[:, :, None] * means_c[:, None, :], reg_covar)
    elif covariance_type == "tied":
        if normalize_by == "total":
            # As in the TensorFlow backend: about the true origin, as scikit-learn.
            gram = gram + total_weight * center[:, None] * center[None, :]
            means_c = means_c + center
            center = np.zeros_like(center)
        between = (means_c * counts[:, None]).T @ means_c
        covariances = add_to_diagonal((gram - between) / np.sum(counts), reg_covar)
    elif covariance_type == "diag":
        covariances = second / counts[:, None] - means_c**2 + reg_covar
    else:
        mean_square = second[:, 0] / counts - np.sum(means_c**2, axis=1)
        covariances = mean_square / n_features + reg_covar
    weights = counts / (np.sum(counts) if normalize_by == "counts" else total_weight)
    precision_chol = precision_cholesky(covariances, covariance_type)
    return weights, means_c + center, covariances, precision_chol
