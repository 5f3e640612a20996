"""Batched Gaussian algebra on precision Cholesky factors (traced, never compiled alone).

Every component is held as its mean ``mu`` (shape ``(K, D)``) and the lower
Cholesky factor ``P`` of its precision, ``Lambda = P P^T`` (shape ``(K, D, D)``).
All functions work on the whole stack of components at once (batched matrix
products, batched triangular solves, batched Cholesky), never in a loop.
"""

import math

from .._runtime import tensorflow
from . import blocks


def log_det_precision(prec_chol):
    """``log det Lambda`` of each component, shape (K,)."""
    tf = tensorflow()
    return 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(prec_chol)), axis=-1)


def entropy(prec_chol):
    """Differential entropy of each component, shape (K,)."""
    tf = tensorflow()
    n_features = tf.cast(tf.shape(prec_chol)[-1], prec_chol.dtype)
    return 0.5 * n_features * (1.0 + math.log(2.0 * math.pi)) - 0.5 * log_det_precision(
        prec_chol)


def quadratic_feature_pairs(n_features):
    """Index pairs ``(i, j)``, ``i <= j``, of the quadratic features (traced)."""
    tf = tensorflow()
    rows, cols = tf.meshgrid(tf.range(n_features), tf.range(n_features), indexing="ij")
    upper = rows <= cols
    return tf.boolean_mask(rows, upper), tf.boolean_mask(cols, upper)


def quadratic_features(x, center):
    """``[y_i y_j (i <= j), y, 1]`` of ``y = x - center``, as columns: shape (P, N),
    ``P = D (D + 1) / 2 + D + 1`` (rows of ``y^T`` are gathered, which is fast)."""
    tf = tensorflow()
    shifted = tf.transpose(x - center)  # (D, N)
    rows, cols = quadratic_feature_pairs(tf.shape(x)[1])
    quadratic = tf.gather(shifted, rows) * tf.gather(shifted, cols)
    return tf.concat([quadratic, shifted, tf.ones_like(shifted[:1])], axis=0)


def n_quadratic_features(n_features):
    """``P`` of :func:`quadratic_features`."""
    return n_features * (n_features + 1) // 2 + n_features + 1


def log_density_coefficients(means, prec_chol, center):
    """Coefficients (K, P) of ``log N(x; mu_k, Sigma_k)`` on :func:`quadratic_features`
    (their matrix product with the features is the (K, N) log-densities).

    With ``y = x - c`` and ``m = mu - c``: ``-y^T Lambda y / 2 + y^T Lambda m
    - m^T Lambda m / 2 + log det Lambda / 2 - D log(2 pi) / 2``.
    """
    tf = tensorflow()
    n_features = tf.shape(means)[1]
    precision = tf.linalg.matmul(prec_chol, prec_chol, transpose_b=True)
    rows, cols = quadratic_feature_pairs(n_features)
    pairs = tf.gather_nd(tf.transpose(precision, [1, 2, 0]), tf.stack([rows, cols], axis=1))
    scale = tf.where(rows == cols, tf.constant(-0.5, means.dtype),
                     tf.constant(-1.0, means.dtype))
    shifted = means - center
    linear = tf.linalg.matvec(precision, shifted)
    constant = (-0.5 * tf.reduce_sum(shifted * linear, axis=1)
                + 0.5 * log_det_precision(prec_chol)
                - 0.5 * tf.cast(n_features, means.dtype) * math.log(2.0 * math.pi))
    return tf.concat([tf.transpose(pairs * scale[:, None]), linear, constant[:, None]], axis=1)


def log_densities_from_coefficients(coefficients, features):
    """``log N(x_n; mu_k, Sigma_k)``, shape (K, N): ONE matrix product of the
    components' :func:`log_density_coefficients` with the rows'
    :func:`quadratic_features` (no (N, K, D) array of whitened differences)."""
    return tensorflow().linalg.matmul(coefficients, features)


def log_mixture_density(x, log_weights, means, prec_chol, center=None, budget=None):
    """``log sum_k w_k N(x_n; mu_k, Sigma_k)`` of every row, shape (N,).

    Over blocks of rows (their quadratic features at most ``budget`` numbers)
    and, inside, a running log-sum-exp over blocks of components: neither the
    (K, N) matrix of log-densities nor the features of all rows are held. No
    component (K = 0) gives ``-inf``.

    Parameters
    ----------
    x : Tensor of shape (N, D)
    log_weights : Tensor of shape (K,)
        ``-inf`` for components to leave out.
    means : Tensor of shape (K, D)
    prec_chol : Tensor of shape (K, D, D)
    center : Tensor of shape (D,), default=None
        Subtracted from rows and means first (keeps the numbers small); the
        mean of ``means`` when None.
    budget : int, default=None
        Numbers per block (:data:`.blocks.BLOCK_ELEMENTS` when None).
    """
    tf = tensorflow()
    if center is None:
        center = tf.reduce_mean(means, axis=0)
    n_components = tf.shape(means)[0]
    n_rows = tf.shape(x)[0]
    # a row block's quadratic features, and a (rows, components) block, fit in budget
    row_size = blocks.block_size(n_rows, n_quadratic_features(tf.shape(x)[1]), budget)
    size = blocks.block_size(n_components, row_size, budget)
    minus_inf = tf.constant(-math.inf, x.dtype)

    def rows_block(rows):
        features = quadratic_features(tf.gather(x, rows), center)

        def step(index, in_range, running):
            coefficients = log_density_coefficients(tf.gather(means, index),
                                                    tf.gather(prec_chol, index), center)
            joint = (tf.gather(log_weights, index)[:, None]
                     + log_densities_from_coefficients(coefficients, features))
            block = tf.reduce_logsumexp(tf.where(in_range[:, None], joint, minus_inf), axis=0)
            # log(exp(running) + exp(block)); exactly ``block`` while running is -inf
            largest = tf.maximum(running, block)
            shift = tf.where(tf.math.is_finite(largest), largest, 0)
            return shift + tf.math.log(tf.exp(running - shift) + tf.exp(block - shift))

        return blocks.fold_blocks(n_components, size, step,
                                  tf.fill(tf.shape(rows), minus_inf))

    return tf.cond(n_rows > 0,
                   lambda: blocks.concat_blocks(n_rows, row_size, rows_block, x.dtype),
                   lambda: tf.zeros([0], x.dtype))


def sample(means, prec_chol, standard_normal):
    """Draws ``mu_k + P_k^{-T} eps`` for a stack of standard normals.

    Parameters
    ----------
    means : Tensor of shape (K, D)
    prec_chol : Tensor of shape (K, D, D)
    standard_normal : Tensor of shape (K, n, D)

    Returns
    -------
    Tensor of shape (K, n, D)
    """
    tf = tensorflow()
    solved = tf.linalg.triangular_solve(
        prec_chol, tf.linalg.matrix_transpose(standard_normal), lower=True, adjoint=True)
    return means[:, None, :] + tf.linalg.matrix_transpose(solved)


def is_positive_definite_factor(chol):
    """True where a batched Cholesky factorisation succeeded, shape (K,)."""
    tf = tensorflow()
    diag = tf.linalg.diag_part(chol)
    return tf.reduce_all(tf.math.is_finite(diag) & (diag > 0), axis=-1)


def kl_divergence(new_means, new_prec_chol, old_means, old_prec_chol):
    """``KL(N_new || N_old)`` per component, shape (K,)."""
    tf = tensorflow()
    n_features = tf.cast(tf.shape(new_means)[-1], new_means.dtype)
    # tr(Lambda_old Sigma_new) = || P_new^{-1} P_old ||_F^2
    trace = tf.reduce_sum(tf.square(tf.linalg.triangular_solve(
        new_prec_chol, old_prec_chol, lower=True)), axis=[-2, -1])
    shift = tf.linalg.matvec(old_prec_chol, new_means - old_means, adjoint_a=True)
    mahalanobis = tf.reduce_sum(tf.square(shift), axis=-1)
    log_det_ratio = log_det_precision(new_prec_chol) - log_det_precision(old_prec_chol)
    return 0.5 * (trace + mahalanobis - n_features + log_det_ratio)


def covariance(prec_chol):
    """``Sigma = Lambda^{-1}`` of each component."""
    tf = tensorflow()
    eye = tf.eye(tf.shape(prec_chol)[-1], batch_shape=tf.shape(prec_chol)[:1],
                 dtype=prec_chol.dtype)
    return tf.linalg.cholesky_solve(prec_chol, eye)
