"""The objective of ``MLEGaussianMixture``: the weighted log-likelihood of a batch.

The mixture is held in the unconstrained coordinates ``(logits, means, scale)``
described in :mod:`.mle`; everything here is traceable and keeps no state.
"""

import math

from ._runtime import tensorflow


def _precision_factor(scale, covariance_type, reg_covar):
    """Precision Cholesky factor (scikit-learn's convention) of the floored model.

    full/tied: upper-triangular ``P`` with ``precision = P P^T`` of the covariance
    ``inv(U U^T) + reg_covar I``; diag/spherical: ``1 / std`` of ``std^2 + reg``.
    """
    tf = tensorflow()
    if covariance_type in ("diag", "spherical"):
        return tf.math.rsqrt(tf.exp(2.0 * scale) + reg_covar)
    eye = tf.eye(tf.shape(scale)[-1], dtype=scale.dtype)
    upper = (tf.linalg.band_part(scale, 0, -1) - tf.linalg.band_part(scale, 0, 0)
             + tf.linalg.diag(tf.exp(tf.linalg.diag_part(scale))))
    inverse = tf.linalg.triangular_solve(upper, tf.broadcast_to(eye, tf.shape(upper)),
                                         lower=False)
    covariance = tf.matmul(inverse, inverse, transpose_a=True) + reg_covar * eye
    chol = tf.linalg.cholesky(covariance)
    lower_inverse = tf.linalg.triangular_solve(chol, tf.broadcast_to(eye, tf.shape(chol)),
                                               lower=True)
    return tf.linalg.matrix_transpose(lower_inverse)


def component_log_prob(x, logits, means, scale, covariance_type, reg_covar):
    """``log w_k + log N(x_n | mu_k, Sigma_k)`` for a batch, shape (B, K).

    The residuals ``x_n - mu_k`` are formed first, so data far from the origin
    (offset 1e8, spread 1e-3) lose no accuracy to cancellation.
    """
    tf = tensorflow()
    n_features = tf.cast(tf.shape(x)[1], x.dtype)
    factor = _precision_factor(scale, covariance_type, reg_covar)
    residual = x[:, None, :] - means[None]  # (B, K, D)
    if covariance_type == "full":
        whitened = tf.einsum("bkd,kde->bke", residual, factor)
        log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(factor)), axis=1)
    elif covariance_type == "tied":
        whitened = tf.tensordot(residual, factor, axes=1)
        log_det = tf.fill([tf.shape(means)[0]],
                          tf.reduce_sum(tf.math.log(tf.linalg.diag_part(factor))))
    elif covariance_type == "diag":
        whitened = residual * factor[None]
        log_det = tf.reduce_sum(tf.math.log(factor), axis=1)
    else:
        whitened = residual * factor[None, :, None]
        log_det = n_features * tf.math.log(factor)
    mahalanobis = tf.reduce_sum(tf.square(whitened), axis=2)
    log_gauss = (-0.5 * (n_features * math.log(2.0 * math.pi) + mahalanobis)
                 + log_det[None])
    return log_gauss + tf.nn.log_softmax(logits)[None]


def weighted_log_likelihood(x, weight, params, covariance_type, reg_covar):
    """Sum over the batch of ``weight * log p(x)``."""
    tf = tensorflow()
    log_prob = tf.reduce_logsumexp(
        component_log_prob(x, *params, covariance_type, reg_covar), axis=1)
    return tf.reduce_sum(weight * log_prob)


def value_and_loss_gradient(x, weight, params, covariance_type, reg_covar):
    """``(sum w log p, gradient of -sum w log p)`` with respect to ``params``."""
    tf = tensorflow()
    with tf.GradientTape() as tape:
        tape.watch(params)
        value = weighted_log_likelihood(x, weight, params, covariance_type, reg_covar)
        loss = -value
    return value, tuple(tape.gradient(loss, params))
