"""Batched Gaussian algebra on precision Cholesky factors (traced, never compiled alone).

Every component is held as its mean ``mu`` (shape ``(K, D)``) and the lower
Cholesky factor ``P`` of its precision, ``Lambda = P P^T`` (shape ``(K, D, D)``).
All functions work on the whole stack of components at once (batched matrix
products, batched triangular solves, batched Cholesky), never in a loop.
"""

import math

from .._runtime import tensorflow


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


def log_densities(x, means, prec_chol):
    """``log N(x_n; mu_k, Sigma_k)`` for every component and row.

    Parameters
    ----------
    x : Tensor of shape (N, D)
    means : Tensor of shape (K, D)
    prec_chol : Tensor of shape (K, D, D)

    Returns
    -------
    log_density : Tensor of shape (K, N)
    whitened : Tensor of shape (K, N, D)
        ``P_k^T (x_n - mu_k)`` as rows; ``Lambda_k (x_n - mu_k)`` is
        ``whitened @ P_k^T``.
    """
    tf = tensorflow()
    diff = x[None, :, :] - means[:, None, :]
    whitened = tf.linalg.matmul(diff, prec_chol)
    n_features = tf.cast(tf.shape(x)[1], x.dtype)
    log_density = (-0.5 * tf.reduce_sum(tf.square(whitened), axis=-1)
                   + 0.5 * log_det_precision(prec_chol)[:, None]
                   - 0.5 * n_features * math.log(2.0 * math.pi))
    return log_density, whitened


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
