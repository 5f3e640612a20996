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


def whitened_block(x, means, prec_chol, center):
    """``z_nk = P_k^T (x_n - mu_k)`` of every row under a (small) block of components.

    The whitened differences come from ONE matrix product
    ``[x - c, 1] @ [[P_1 ... P_K], [-o_1 ... -o_K]]`` (``o_k = P_k^T (mu_k - c)``),
    not from a batch of small products over a (K, N, D) array of differences.
    Callers keep ``K`` small (see :mod:`.blocks`): the result has N K D numbers.

    Parameters
    ----------
    x : Tensor of shape (N, D)
    means : Tensor of shape (K, D)
    prec_chol : Tensor of shape (K, D, D)
    center : Tensor of shape (D,)
        Subtracted from rows and means first (the mixture mean keeps the
        numbers small).

    Returns
    -------
    Tensor of shape (N, K, D)
    """
    tf = tensorflow()
    n_components = tf.shape(means)[0]
    n_features = tf.shape(means)[1]
    stacked = tf.reshape(tf.transpose(prec_chol, [1, 0, 2]),
                         tf.stack([n_features, n_components * n_features]))
    offsets = tf.linalg.matvec(prec_chol, means - center, adjoint_a=True)  # (K, D)
    # the offsets ride in the product (one more inner row) instead of a separate
    # pass over the (N, K, D) result
    augmented = tf.concat([x - center, tf.ones_like(x[:, :1])], axis=1)
    stacked = tf.concat([stacked, -tf.reshape(offsets, tf.stack([1, -1]))], axis=0)
    return tf.reshape(tf.linalg.matmul(augmented, stacked),
                      tf.stack([-1, n_components, n_features]))


def _log_density_block(x, means, prec_chol, center):
    """``log N(x_n; mu_k, Sigma_k)`` of a block of components, shape (K, N)."""
    tf = tensorflow()
    whitened = whitened_block(x, means, prec_chol, center)
    n_features = tf.cast(tf.shape(x)[1], x.dtype)
    return tf.transpose(-0.5 * tf.reduce_sum(tf.square(whitened), axis=2)
                        + 0.5 * log_det_precision(prec_chol)[None, :]
                        - 0.5 * n_features * math.log(2.0 * math.pi))


def _component_block_size(x, n_components, budget):
    tf = tensorflow()
    return blocks.block_size(n_components, tf.shape(x)[0] * (tf.shape(x)[1] + 1), budget)


def log_densities(x, means, prec_chol, center=None, budget=None):
    """``log N(x_n; mu_k, Sigma_k)`` for every component and row, shape (K, N).

    Computed over blocks of components (:mod:`.blocks`): the whitened
    differences of one block (N x block x D numbers, at most ``budget``) exist
    at a time, never those of all components.

    Parameters
    ----------
    x : Tensor of shape (N, D)
    means : Tensor of shape (K, D), K >= 1
    prec_chol : Tensor of shape (K, D, D)
    center : Tensor of shape (D,), default=None
        See :func:`whitened_block`; the mean of ``means`` when None.
    budget : int, default=None
        Numbers per block (:data:`.blocks.BLOCK_ELEMENTS` when None).
    """
    tf = tensorflow()
    if center is None:
        center = tf.reduce_mean(means, axis=0)
    n_components = tf.shape(means)[0]
    size = _component_block_size(x, n_components, budget)

    def block(index):
        return _log_density_block(x, tf.gather(means, index), tf.gather(prec_chol, index),
                                  center)

    return blocks.concat_blocks(n_components, size, block, x.dtype)


def log_mixture_density(x, log_weights, means, prec_chol, center=None, budget=None):
    """``log sum_k w_k N(x_n; mu_k, Sigma_k)`` of every row, shape (N,).

    A running log-sum-exp over blocks of components: neither the (K, N, D)
    whitened differences nor the (K, N) matrix of log-densities is held. No
    component (K = 0) gives ``-inf``.

    Parameters
    ----------
    x : Tensor of shape (N, D)
    log_weights : Tensor of shape (K,)
        ``-inf`` for components to leave out.
    means, prec_chol, center, budget
        As in :func:`log_densities`.
    """
    tf = tensorflow()
    if center is None:
        center = tf.reduce_mean(means, axis=0)
    n_components = tf.shape(means)[0]
    size = _component_block_size(x, n_components, budget)
    minus_inf = tf.constant(-math.inf, x.dtype)

    def step(index, in_range, running):
        joint = tf.gather(log_weights, index)[:, None] + _log_density_block(
            x, tf.gather(means, index), tf.gather(prec_chol, index), center)
        block = tf.reduce_logsumexp(tf.where(in_range[:, None], joint, minus_inf), axis=0)
        # log(exp(running) + exp(block)); exactly ``block`` while running is -inf
        largest = tf.maximum(running, block)
        shift = tf.where(tf.math.is_finite(largest), largest, 0)
        return shift + tf.math.log(tf.exp(running - shift) + tf.exp(block - shift))

    return blocks.fold_blocks(n_components, size, step,
                              tf.fill(tf.shape(x)[:1], minus_inf))


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
