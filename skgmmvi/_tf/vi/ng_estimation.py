"""Natural-gradient estimation: expected gradient, Hessian and reward per component.

Interface of every option (issue 5 adds ``MoreEstimator`` as a sibling):

``estimate(state, hyper, batch) -> estimates`` with

* ``grad``  (K_max, D): ``g_k = E_{q(x|k)}[grad log(p~ / q^beta)]``
* ``hessian`` (K_max, D, D): ``H_k = E_{q(x|k)}[hess log(p~ / q^beta)]``
* ``reward`` (K_max,): ``R_k = E_{q(x|k)}[log p~(x) - beta log q(x)]``
* ``has_samples`` (K_max,) bool: the component is active and had valid samples
* ``elbo``: ``sum_k w_k R_k``, the ELBO estimate of the current mixture

Expectations use self-normalised importance weights ``q(x|k) / q_bg(x)`` over
the batch; samples with a non-finite target value or gradient get weight zero.
"""

from .._runtime import tensorflow
from . import mixture


def importance_weights(state, batch, component_log_density):
    """Self-normalised weights ``q(x|k)/q_bg(x)`` per component, (K_max, N).

    Returns the weights and a (K_max,) mask of components that have any.
    """
    tf = tensorflow()
    minus_inf = tf.constant(-float("inf"), component_log_density.dtype)
    if "log_background" in batch:
        log_background = batch["log_background"]
    else:
        log_background = tf.reduce_logsumexp(
            batch["background_log_weights"][:, None] + component_log_density, axis=0)
    log_ratio = component_log_density - log_background[None, :]
    log_ratio = tf.where(batch["valid"][None, :], log_ratio, minus_inf)
    has_samples = tf.reduce_any(tf.math.is_finite(log_ratio), axis=1) & state["active"]
    normalizer = tf.reduce_logsumexp(log_ratio, axis=1, keepdims=True)
    weights = tf.exp(log_ratio - tf.where(has_samples[:, None], normalizer, 0))
    return tf.where(has_samples[:, None], weights, 0), has_samples


def rewards_and_elbo(state, weights, has_samples, log_ratio_values):
    """Component rewards (masked) and the mixture ELBO estimate."""
    tf = tensorflow()
    reward = tf.linalg.matvec(weights, log_ratio_values)
    log_w = mixture.masked_log_weights(state)
    covered = tf.where(has_samples, tf.exp(log_w), 0)
    elbo = tf.reduce_sum(covered * reward) / tf.reduce_sum(covered)
    # A component none of whose samples had a finite target value gets a reward
    # far below the others, so that the weight update shrinks it.
    lowest = tf.reduce_min(tf.where(has_samples, reward, reward.dtype.max))
    reward = tf.where(has_samples, reward, lowest - 100.0)
    return reward, elbo


class SteinEstimator:
    """First-order estimates by Stein's lemma (needs target gradients).

    ``g_k = sum_i w_ki r_i`` and ``H_k = sym(Lambda_k sum_i w_ki (x_i - mu_k) r_i^T)``
    with ``r_i = grad log p~(x_i) - beta grad log q(x_i)``. With diagonal
    covariances only the diagonal of ``H_k`` is kept (the natural gradient of a
    diagonal Gaussian).

    Parameters
    ----------
    diagonal : bool
    """

    name = "stein"

    def __init__(self, diagonal=False):
        self.diagonal = diagonal

    def estimate(self, state, hyper, batch):
        tf = tensorflow()
        beta = hyper["temperature"]
        component_log_density, log_q, responsibilities, whitened = mixture.evaluate(
            state, batch["x"])
        weights, has_samples = importance_weights(state, batch, component_log_density)
        residual_grad = batch["grad"] - beta * mixture.grad_log_q(
            state, responsibilities, whitened)
        residual_grad = tf.where(batch["valid"][:, None], residual_grad, 0)
        grad = tf.linalg.matmul(weights, residual_grad)
        # Stein: H_k = Lambda_k sum_i w_ki (x_i - mu_k) r_i^T = P_k sum_i w_ki z_ik r_i^T,
        # the sums for all components as one matrix product
        capacity = tf.shape(whitened)[1]
        n_features = tf.shape(whitened)[2]
        weighted = tf.reshape(whitened * tf.transpose(weights)[:, :, None],
                              tf.stack([-1, capacity * n_features]))
        moment = tf.reshape(tf.linalg.matmul(weighted, residual_grad, transpose_a=True),
                            tf.stack([capacity, n_features, n_features]))
        hessian = tf.linalg.matmul(state["prec_chol"], moment)
        hessian = 0.5 * (hessian + tf.linalg.matrix_transpose(hessian))
        if self.diagonal:
            hessian = tf.linalg.diag(tf.linalg.diag_part(hessian))
        values = tf.where(batch["valid"], batch["log_density"] - beta * log_q, 0)
        reward, elbo = rewards_and_elbo(state, weights, has_samples, values)
        return {"grad": grad, "hessian": hessian, "reward": reward,
                "has_samples": has_samples, "elbo": elbo}
