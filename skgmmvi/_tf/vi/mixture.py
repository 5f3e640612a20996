"""The mixture q as a fixed-capacity stack of components with an active mask.

State keys (all tensors; ``K_max`` is the capacity):

========================  ===================  =====================================
key                       shape                meaning
========================  ===================  =====================================
``active``                (K_max,) bool        which slots hold a component
``log_weights``           (K_max,)             log w_k (normalised over active slots)
``means``                 (K_max, D)           mu_k
``prec_chol``             (K_max, D, D)        lower P_k with Lambda_k = P_k P_k^T
``n_updates``             (K_max,) int32       updates a component has received
========================  ===================  =====================================

Inactive slots hold a standard normal (finite, positive definite), so batched
linear algebra over all slots never produces NaN; their results are masked.
Adding or deleting a component flips the mask: shapes stay the same, nothing
retraces. The capacity grows (by the host, between compiled calls) by padding.
"""

import math

import numpy as np

from .._runtime import tensorflow
from . import gaussians

MIXTURE_KEYS = ("active", "log_weights", "means", "prec_chol", "n_updates")

#: Log of the smallest weight a component can have (1e-30).
LOG_WEIGHT_FLOOR = float(np.log(1e-30))


def initial_mixture(means, covariances, capacity, dtype):
    """Numpy state of a mixture with equal weights and the given components.

    Parameters
    ----------
    means : ndarray of shape (K, D)
    covariances : ndarray of shape (K, D, D)
    capacity : int
        K_max >= K.
    dtype : numpy dtype
    """
    n_components, n_features = means.shape
    prec_chol = np.linalg.cholesky(np.linalg.inv(covariances))
    state = {
        "active": np.zeros(capacity, bool),
        "log_weights": np.full(capacity, LOG_WEIGHT_FLOOR),
        "means": np.zeros((capacity, n_features)),
        "prec_chol": np.tile(np.eye(n_features), (capacity, 1, 1)),
        "n_updates": np.zeros(capacity, np.int32),
    }
    state["active"][:n_components] = True
    state["log_weights"][:n_components] = -np.log(n_components)
    state["means"][:n_components] = means
    state["prec_chol"][:n_components] = prec_chol
    return {k: (v.astype(dtype) if v.dtype == np.float64 else v) for k, v in state.items()}


def pad_mixture(state, capacity):
    """Numpy mixture state with more (inactive) slots."""
    old = state["active"].shape[0]
    extra = capacity - old
    n_features = state["means"].shape[1]
    dtype = state["means"].dtype
    eye = np.tile(np.eye(n_features, dtype=dtype), (extra, 1, 1))
    return {
        "active": np.concatenate([state["active"], np.zeros(extra, bool)]),
        "log_weights": np.concatenate([state["log_weights"],
                                       np.full(extra, LOG_WEIGHT_FLOOR, dtype)]),
        "means": np.concatenate([state["means"], np.zeros((extra, n_features), dtype)]),
        "prec_chol": np.concatenate([state["prec_chol"], eye]),
        "n_updates": np.concatenate([state["n_updates"], np.zeros(extra, np.int32)]),
    }


def masked_log_weights(state):
    """log w_k with -inf in inactive slots."""
    tf = tensorflow()
    lw = state["log_weights"]
    return tf.where(state["active"], lw, tf.constant(-np.inf, lw.dtype))


def normalized_log_weights(log_weights, active):
    """Renormalise over active slots, floor at 1e-30, renormalise again."""
    tf = tensorflow()
    minus_inf = tf.constant(-np.inf, log_weights.dtype)
    lw = tf.where(active, log_weights, minus_inf)
    lw = lw - tf.reduce_logsumexp(lw)
    lw = tf.where(active, tf.maximum(lw, LOG_WEIGHT_FLOOR), minus_inf)
    lw = lw - tf.reduce_logsumexp(lw)
    return tf.where(active, lw, tf.constant(LOG_WEIGHT_FLOOR, lw.dtype))


def evaluate(state, x):
    """Log-densities of rows under every component and under the mixture.

    The whitened differences ``z_nk = P_k^T (x_n - mu_k)`` of all components come
    from ONE matrix product ``[x - c, 1] @ [[P_1 ... P_K], [-o_1 ... -o_K]]``
    (``o_k = P_k^T (mu_k - c)``, ``c`` the mixture mean), not from a batch of
    small products over a (K, N, D) array of differences.

    Returns
    -------
    component_log_density : Tensor (K_max, N)
        ``log q(x|k)`` (finite also for inactive slots).
    log_q : Tensor (N,)
        ``log q(x)``.
    responsibilities : Tensor (K_max, N)
        ``q(k|x)`` (zero for inactive slots).
    whitened : Tensor (N, K_max, D)
        ``z_nk = P_k^T (x_n - mu_k)``.
    """
    tf = tensorflow()
    means, prec_chol = state["means"], state["prec_chol"]
    capacity = tf.shape(means)[0]
    n_features = tf.shape(means)[1]
    weights = tf.exp(masked_log_weights(state))
    center = tf.reduce_sum(weights[:, None] * means, axis=0) / tf.reduce_sum(weights)
    stacked = tf.reshape(tf.transpose(prec_chol, [1, 0, 2]),
                         tf.stack([n_features, capacity * n_features]))
    offsets = tf.linalg.matvec(prec_chol, means - center, adjoint_a=True)  # (K, D)
    # [x - c, 1] @ [[P_1 ... P_K], [-o_1 ... -o_K]]: the offsets ride in the product
    # (one more inner row) instead of a separate pass over the (N, K, D) result
    augmented = tf.concat([x - center, tf.ones_like(x[:, :1])], axis=1)
    stacked = tf.concat([stacked, -tf.reshape(offsets, tf.stack([1, -1]))], axis=0)
    whitened = tf.reshape(tf.linalg.matmul(augmented, stacked),
                          tf.stack([-1, capacity, n_features]))
    d = tf.cast(n_features, x.dtype)
    component_log_density = tf.transpose(
        -0.5 * tf.reduce_sum(tf.square(whitened), axis=2)
        + 0.5 * gaussians.log_det_precision(prec_chol)[None, :]
        - 0.5 * d * math.log(2.0 * math.pi))
    joint = masked_log_weights(state)[:, None] + component_log_density
    log_q = tf.reduce_logsumexp(joint, axis=0)
    responsibilities = tf.exp(joint - log_q[None, :])
    return component_log_density, log_q, responsibilities, whitened


def grad_log_q(state, responsibilities, whitened):
    """``grad_x log q(x) = -sum_k q(k|x) P_k z_k`` of each row, shape (N, D),
    as one matrix product over the stacked components."""
    tf = tensorflow()
    prec_chol = state["prec_chol"]
    capacity = tf.shape(prec_chol)[0]
    n_features = tf.shape(prec_chol)[1]
    weighted = whitened * tf.transpose(responsibilities)[:, :, None]
    flat = tf.reshape(weighted, tf.stack([-1, capacity * n_features]))
    stacked_t = tf.reshape(tf.linalg.matrix_transpose(prec_chol),
                           tf.stack([capacity * n_features, n_features]))
    return -tf.linalg.matmul(flat, stacked_t)
