"""Gaussian algebra shared by the backend's compiled functions.

Everything here is traced into ``tf.function`` graphs; nothing is compiled on its own.

The log-density of every component is written as one linear map of a per-sample
feature vector,

    log w_k + log N(x | mu_k, Sigma_k) = A[k] . phi(x - c),

where ``c`` is a fixed centre (the data mean during a fit) and ``phi`` stacks a
"quadratic" block, the centred coordinates and a constant 1:

    ==========  ====================================  =====================
    covariance  quadratic block                       its size Q
    ==========  ====================================  =====================
    full        x_i x_j for i <= j                    D (D + 1) / 2
    tied        x^T Lambda x (shared precision)       1
    diag        x_i^2                                 D
    spherical   |x|^2                                 1
    ==========  ====================================  =====================

With that layout an E-step over a chunk of rows is one matrix product
``A @ phi`` and the M-step statistics of the same chunk are another,
``phi @ resp^T``: sums of responsibilities (the constant row), first moments (the
linear rows) and second moments (the quadratic rows). Features are kept transposed,
shape ``(P, batch)``, so that building them is a row gather, not a column gather.

For ``full`` covariances, ``phi`` is every product of two entries of the centred
coordinates stacked over a 1; inside the row loop its rows are in a cyclic order
(see :func:`upper_triangle_pairs`) that one gather and one broadcast multiply
build, and coefficients and statistics are permuted to and from the order of the
table once per iteration.
"""

import functools
import math

from .. import _residual_moments as moments
from .._cancellation import CANCELLATION_LIMIT
from ._runtime import tensorflow

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def upper_triangle_pairs(n_features):
    """Index vectors of the ``full`` feature map (see :func:`features`).

    Returns ``(rows, cols, partner, canonical, keep, first)``:

    * ``rows``/``cols`` index the upper triangle (i <= j, row-major) of a D x D
      matrix: the order of the quadratic block in the *canonical* layout
      ``[x_i x_j (i <= j); x_i; 1]`` that the coefficients and statistics use
      outside the row loop;
    * the feature rows themselves are built in a *cyclic* layout: with ``xa``
      the D + 1 centred coordinates stacked over a row of ones, row ``(d, i)`` is
      ``xa[i] * xa[(i + d) mod (D + 1)]`` for ``d = 0 .. (D + 1) // 2``, which
      covers every product of two entries of ``xa`` (all of ``phi``) with one
      gather (``partner``) and one broadcast multiply. When D + 1 is even, the
      last offset repeats half of its products;
    * ``canonical`` maps each cyclic row to its canonical column, ``keep`` is 1
      for the first occurrence of a product and 0 for a repeat, and ``first``
      maps each canonical column to its first cyclic row.
    """
    tf = tensorflow()
    r = tf.range(n_features)
    rows, cols = tf.meshgrid(r, r, indexing="ij")
    upper = rows <= cols
    rows, cols = tf.boolean_mask(rows, upper), tf.boolean_mask(cols, upper)

    n_aug = n_features + 1
    n_offsets = n_aug // 2 + 1
    offset = tf.repeat(tf.range(n_offsets), n_aug)
    index = tf.tile(tf.range(n_aug), [n_offsets])
    partner = (index + offset) % n_aug
    low, high = tf.minimum(index, partner), tf.maximum(index, partner)
    n_quad = n_features * (n_features + 1) // 2
    quad_column = low * n_features - (low * (low - 1)) // 2 + (high - low)
    canonical = tf.where(high < n_features, quad_column,
                         tf.where(low < n_features, n_quad + low, n_quad + n_features))
    repeat = (n_aug % 2 == 0) & (offset == n_aug // 2) & (index >= n_aug // 2)
    keep = tf.logical_not(repeat)
    first = tf.math.unsorted_segment_min(tf.range(tf.size(canonical)), canonical,
                                         n_quad + n_features + 1)
    return rows, cols, partner, canonical, keep, first


def full_features(xa, pairs):
    """The ``full`` feature rows of augmented columns ``xa`` (D + 1, batch), cyclic layout."""
    tf = tensorflow()
    n_aug = tf.shape(xa)[0]
    partners = tf.reshape(tf.gather(xa, pairs[2]), [-1, n_aug, tf.shape(xa)[1]])
    return tf.reshape(partners * xa, [-1, tf.shape(xa)[1]])


def canonical_statistics(stats, covariance_type, pairs):
    """Statistics (K, P) in the canonical column layout (reorders ``full`` ones)."""
    if covariance_type != "full":
        return stats
    return tensorflow().gather(stats, pairs[5], axis=1)


def features(xa, covariance_type, pairs, tied_precision_chol):
    """Feature matrix ``phi`` of centred rows, transposed.

    Parameters
    ----------
    xa : Tensor of shape (n_features + 1, batch)
        Centred rows, one per column, over a row of ones.
    covariance_type : str
    pairs : tuple of int Tensors or None
        Output of :func:`upper_triangle_pairs` (``full`` only).
    tied_precision_chol : Tensor of shape (n_features, n_features) or None
        The shared precision Cholesky factor (``tied`` only).

    Returns
    -------
    Tensor of shape (P', batch)
        ``P' = Q + n_features + 1`` rows in the canonical layout, except for
        ``full``, whose rows are in the cyclic layout of
        :func:`upper_triangle_pairs` (P' = P, or P + (D + 1) / 2 when D + 1 is even).
    """
    tf = tensorflow()
    if covariance_type == "full":
        return full_features(xa, pairs)
    xc_t = xa[:-1]
    if covariance_type == "tied":
        whitened = tf.matmul(tied_precision_chol, xc_t, transpose_a=True)
        quad = tf.reduce_sum(tf.square(whitened), axis=0, keepdims=True)
    elif covariance_type == "diag":
        quad = tf.square(xc_t)
    else:
        quad = tf.reduce_sum(tf.square(xc_t), axis=0, keepdims=True)
    return tf.concat([quad, xa], axis=0)


def log_det_precision_chol(precision_chol, covariance_type, n_features):
    """``log det`` of each component's precision Cholesky factor, shape (K,) or ()."""
    tf = tensorflow()
    if covariance_type in ("full", "tied"):
        return tf.reduce_sum(tf.math.log(tf.linalg.diag_part(precision_chol)), axis=-1)
    if covariance_type == "diag":
        return tf.reduce_sum(tf.math.log(precision_chol), axis=-1)
    return tf.cast(n_features, precision_chol.dtype) * tf.math.log(precision_chol)


def coefficients(weights, means_c, precision_chol, covariance_type, pairs):
    """Matrix ``A`` of shape (K, P') with ``A @ phi(x - c) = log w_k + log N_k(x)``.

    ``means_c`` are the means minus the centre ``c``. Columns follow the rows of
    :func:`features` (the cyclic layout for ``full``).
    """
    tf = tensorflow()
    dtype = means_c.dtype
    n_components = tf.shape(means_c)[0]
    n_features = tf.shape(means_c)[1]
    log_det = log_det_precision_chol(precision_chol, covariance_type, n_features)
    base = tf.math.log(weights) + log_det - 0.5 * tf.cast(n_features, dtype) * math.log(
        2.0 * math.pi
    )
    if covariance_type in ("full", "tied"):
        # Lambda m and m^T Lambda m, the latter as |L^T m|^2 for accuracy.
        if covariance_type == "full":
            white_means = tf.linalg.matvec(precision_chol, means_c, transpose_a=True)
            linear = tf.linalg.matvec(precision_chol, white_means)
            precision = tf.matmul(precision_chol, precision_chol, transpose_b=True)
            flat = tf.reshape(precision, [n_components, -1])
            rows, cols = pairs[:2]
            picked = tf.gather(flat, rows * n_features + cols, axis=1)
            scale = tf.where(rows == cols, tf.constant(-0.5, dtype), tf.constant(-1.0, dtype))
            quad = picked * scale
        else:
            white_means = tf.matmul(means_c, precision_chol)
            linear = tf.matmul(white_means, precision_chol, transpose_b=True)
            quad = tf.fill([n_components, 1], tf.constant(-0.5, dtype))
        mahal_means = tf.reduce_sum(tf.square(white_means), axis=1)
    elif covariance_type == "diag":
        precision = tf.square(precision_chol)
        quad = -0.5 * precision
        linear = precision * means_c
        mahal_means = tf.reduce_sum(precision * tf.square(means_c), axis=1)
    else:
        precision = tf.square(precision_chol)
        quad = -0.5 * precision[:, None]
        linear = precision[:, None] * means_c
        mahal_means = precision * tf.reduce_sum(tf.square(means_c), axis=1)
    const = base - 0.5 * mahal_means
    coef = tf.concat([quad, linear, const[:, None]], axis=1)
    if covariance_type == "full":
        # To the cyclic layout of the feature rows; repeated products get 0.
        picked = tf.gather(coef, pairs[3], axis=1)
        coef = tf.where(pairs[4][None, :], picked, tf.zeros_like(picked))
    return coef


def symmetric_from_upper(upper, n_features, pairs):
    """(K, D, D) symmetric matrices from their packed upper triangles (K, Q)."""
    tf = tensorflow()
    rows, cols = pairs[:2]
    index = tf.stack([rows, cols], axis=1)
    n_components = tf.shape(upper)[0]
    packed = tf.scatter_nd(
        index, tf.transpose(upper), tf.stack([n_features, n_features, n_components])
    )
    strict = tf.scatter_nd(
        index,
        tf.transpose(upper) * tf.cast(rows != cols, upper.dtype)[:, None],
        tf.stack([n_features, n_features, n_components]),
    )
    full = packed + tf.transpose(strict, [1, 0, 2])
    return tf.transpose(full, [2, 0, 1])


def add_to_diagonal(matrices, value):
    """``matrices + value * I`` for one matrix or a batch of them."""
    tf = tensorflow()
    diagonal = tf.linalg.diag_part(matrices) + value
    return tf.linalg.set_diag(matrices, diagonal)


@functools.lru_cache(maxsize=None)
def tensorflow_ops():
    """The operations :mod:`skgmmvi._residual_moments` needs, in TensorFlow."""
    tf = tensorflow()
    return moments.ArrayOps(
        sum=tf.reduce_sum, mean=tf.reduce_mean,
        gram=lambda a, b: tf.matmul(a, b, transpose_a=True),
        add_to_diagonal=add_to_diagonal)


def precision_cholesky(covariances, covariance_type):
    """Upper-triangular ``L`` with ``L L^T = Sigma^{-1}`` (``1/sqrt`` for diag, spherical).

    A covariance that is not positive definite gives non-finite entries (the
    Cholesky factorisation returns NaN); callers test with ``all_finite``.
    """
    tf = tensorflow()
    if covariance_type in ("full", "tied"):
        chol = tf.linalg.cholesky(covariances)
        identity = tf.eye(tf.shape(covariances)[-1], batch_shape=tf.shape(covariances)[:-2],
                          dtype=covariances.dtype)
        inverse_lower = tf.linalg.triangular_solve(chol, identity, lower=True)
        return tf.linalg.matrix_transpose(inverse_lower)
    positive = covariances > 0
    safe = tf.where(positive, covariances, tf.ones_like(covariances))
    nan = tf.constant(float("nan"), covariances.dtype)
    return tf.where(positive, tf.math.rsqrt(safe), nan)


def all_finite(tensor):
    """Scalar bool: every entry is finite."""
    tf = tensorflow()
    return tf.reduce_all(tf.math.is_finite(tensor))


def parameters_from_statistics(stats, gram, total_weight, center, reg_covar,
                               covariance_type, pairs, normalize_by):
    """M-step: mixture parameters from accumulated ``resp @ phi^T`` statistics.

    Parameters
    ----------
    stats : Tensor of shape (K, P)
        Sums over rows of ``sample_weight * resp * phi(x - c)``.
    gram : Tensor of shape (D, D)
        ``sum_n w_n (x_n - c)(x_n - c)^T`` (``tied`` only; ignored otherwise).
    total_weight : scalar Tensor
        Sum of the sample weights.
    center : Tensor of shape (D,)
    reg_covar : scalar Tensor
    covariance_type : str
    pairs : upper-triangle indices (``full`` only)
    normalize_by : str
        ``"counts"``: weights are the counts over their sum (EM's M-step);
        ``"total"``: counts over the total sample weight (initialisation).

    Returns
    -------
    weights, means, covariances, precision_chol : Tensors
    """
    tf = tensorflow()
    dtype = stats.dtype
    n_features = tf.shape(center)[0]
    n_quad = tf.shape(stats)[1] - n_features - 1
    eps = tf.constant(10.0 * finfo_eps(dtype), dtype)
    counts = stats[:, -1] + eps
    means_c = stats[:, n_quad:n_quad + n_features] / counts[:, None]
    second = stats[:, :n_quad]
    if covariance_type == "full":
        moments = symmetric_from_upper(second, n_features, pairs) / counts[:, None, None]
        covariances = moments - means_c[:, :, None] * means_c[:, None, :]
        covariances = add_to_diagonal(covariances, reg_covar)
    elif covariance_type == "tied":
        if normalize_by == "total":
            # Initial responsibilities need not sum to one per row; then the
            # result depends on the origin, and scikit-learn's is the true origin.
            gram = gram + total_weight * center[:, None] * center[None, :]
            means_c = means_c + center
            center = tf.zeros_like(center)
        between = tf.matmul(means_c * counts[:, None], means_c, transpose_a=True)
        covariances = (gram - between) / tf.reduce_sum(counts)
        covariances = add_to_diagonal(covariances, reg_covar)
    elif covariance_type == "diag":
        covariances = second / counts[:, None] - tf.square(means_c) + reg_covar
    else:
        mean_square = second[:, 0] / counts - tf.reduce_sum(tf.square(means_c), axis=1)
        covariances = mean_square / tf.cast(n_features, dtype) + reg_covar
    if normalize_by == "counts":
        weights = counts / tf.reduce_sum(counts)
    else:
        weights = counts / total_weight
    precision_chol = precision_cholesky(covariances, covariance_type)
    return weights, means_c + center, covariances, precision_chol


def finfo_eps(dtype):
    """Machine epsilon of a TensorFlow float dtype."""
    import numpy as np

    return float(np.finfo(dtype.as_numpy_dtype).eps)


# --------------------------------------------------------------------------
# Far-apart components: residuals per component instead of one global centre.
#
# The feature map about one centre c loses about eps * rho in relative accuracy,
# rho = max_k |P_k^T (mu_k - c)|^2. Above CANCELLATION_LIMIT an iteration (or a
# scoring call) works with the whitened residuals y_nk = P_k^T (x_n - mu_k)
# instead, as scikit-learn does; below it the feature map is exact enough and faster.



def whiten(residuals, precision_chol, covariance_type):
    """``P_k^T r`` for residuals of shape (K, B, D): whitened residuals, (K, B, D)."""
    tf = tensorflow()
    if covariance_type == "full":
        return tf.matmul(residuals, precision_chol)
    if covariance_type == "tied":
        return tf.tensordot(residuals, precision_chol, axes=1)
    if covariance_type == "diag":
        return residuals * precision_chol[:, None, :]
    return residuals * precision_chol[:, None, None]


def centre_cancellation(means, center, precision_chol, covariance_type):
    """``rho = max_k |P_k^T (mu_k - c)|^2``: the relative error factor of the feature map.

    Non-finite parameters give a non-finite ``rho`` (so ``rho <= limit`` is False).
    """
    tf = tensorflow()
    white = whiten((means - center)[:, None, :], precision_chol, covariance_type)
    return tf.reduce_max(tf.reduce_sum(tf.square(white), axis=[1, 2]))


def use_feature_map(means, center, precision_chol, covariance_type):
    """Scalar bool: the feature map about ``center`` is accurate for these parameters."""
    rho = centre_cancellation(means, center, precision_chol, covariance_type)
    return rho <= tensorflow().constant(CANCELLATION_LIMIT, rho.dtype)


def component_log_prob(rows, weights, means, precision_chol, covariance_type):
    """``log w_k + log N(x_b | mu_k, Sigma_k)`` from residuals per component.

    Parameters
    ----------
    rows : Tensor of shape (B, D)
    weights, means, precision_chol : Tensors
        Mixture parameters (``precision_chol`` shaped by ``covariance_type``).
    covariance_type : str

    Returns
    -------
    log_prob : Tensor of shape (K, B)
    residuals : Tensor of shape (K, B, D)
        ``x_b - mu_k``, for the M-step statistics.
    """
    tf = tensorflow()
    dtype = rows.dtype
    n_features = tf.shape(rows)[1]
    residuals = rows[None, :, :] - means[:, None, :]
    white = whiten(residuals, precision_chol, covariance_type)
    log_det = log_det_precision_chol(precision_chol, covariance_type, n_features)
    base = tf.math.log(weights) + log_det - 0.5 * tf.cast(n_features, dtype) * math.log(
        2.0 * math.pi)
    return base[:, None] - 0.5 * tf.reduce_sum(tf.square(white), axis=2), residuals


def weighted_responsibilities(log_prob, weight):
    """E-step of a chunk: softmax over components of ``log_prob`` (K, B), times ``weight``.

    Returns ``(resp_w, log_lik)``: weighted responsibilities (K, B) and the chunk's
    weighted log-likelihood sum, which ignores rows of weight 0 even where their
    density underflows.
    """
    tf = tensorflow()
    peak = tf.reduce_max(log_prob, axis=0, keepdims=True)
    unnorm = tf.exp(log_prob - peak)
    total = tf.reduce_sum(unnorm, axis=0, keepdims=True)
    log_norm = tf.math.log(total) + peak
    log_lik = tf.reduce_sum(tf.math.multiply_no_nan(log_norm, weight))
    return unnorm * (weight / total), log_lik


def residual_statistics(residuals, resp_w, covariance_type):
    """:func:`skgmmvi._residual_moments.residual_statistics` in TensorFlow."""
    return moments.residual_statistics(residuals, resp_w, covariance_type,
                                       tensorflow_ops())


def zero_residual_statistics(n_components, n_features, covariance_type, dtype):
    """Zero accumulators of the shapes :func:`residual_statistics` returns."""
    tf = tensorflow()
    s2_shape = {"full": [n_components, n_features, n_features],
                "tied": [n_features, n_features], "diag": [n_components, n_features],
                "spherical": [n_components]}[covariance_type]
    return (tf.zeros(tf.stack([n_components]), dtype),
            tf.zeros(tf.stack([n_components, n_features]), dtype),
            tf.zeros(tf.stack(s2_shape), dtype))


def covariances_from_residuals(counts, shift, s2, reg_covar, covariance_type):
    """:func:`skgmmvi._residual_moments.covariances_from_residuals` in TensorFlow."""
    return moments.covariances_from_residuals(counts, shift, s2, reg_covar,
                                              covariance_type, tensorflow_ops())


def parameters_from_residuals(statistics, means, reg_covar, covariance_type):
    """EM's M-step from residual statistics about the entering ``means``.

    Returns ``(weights, means, covariances, precision_chol)`` as
    :func:`parameters_from_statistics` does with ``normalize_by="counts"``.
    """
    tf = tensorflow()
    s0, s1, s2 = statistics
    counts = s0 + tf.constant(10.0 * finfo_eps(s0.dtype), s0.dtype)
    shift = s1 / counts[:, None]
    covariances = covariances_from_residuals(counts, shift, s2, reg_covar, covariance_type)
    weights = counts / tf.reduce_sum(counts)
    return (weights, means + shift, covariances,
            precision_cholesky(covariances, covariance_type))
