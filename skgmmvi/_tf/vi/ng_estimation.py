"""Natural-gradient estimation: expected gradient, Hessian and reward per component.

Interface of every option (``stein``, ``more``):

``estimate(state, hyper, batch) -> estimates`` with

* ``grad``  (K_max, D): ``g_k = E_{q(x|k)}[grad log(p~ / q^beta)]``
* ``hessian`` (K_max, D, D): ``H_k = E_{q(x|k)}[hess log(p~ / q^beta)]``
* ``reward`` (K_max,): ``R_k = E_{q(x|k)}[log p~(x) - beta log q(x)]``
* ``has_samples`` (K_max,) bool: the component is active and had valid samples
* ``elbo``: ``sum_k w_k R_k``, the ELBO estimate of the current mixture

``estimate_and_update(state, hyper, batch) -> (state, estimates)`` is what the
iteration calls (options that keep memory, as ``more``'s ridge strength, update
it there).

Expectations use self-normalised importance weights ``q(x|k) / q_bg(x)`` over
the batch; samples with a non-finite target value or gradient get weight zero.
They are accumulated over blocks of rows (:mod:`.weighted_sums`): memory is
linear in the number of components, no (K, N) or (N, K, D) array is held.
"""

from typing import ClassVar, Protocol

import numpy as np

from .._runtime import tensorflow
from . import gaussians, mixture, weighted_sums
from .option import Option, OptionInterface


def masked_rewards_and_elbo(state, reward, has_samples):
    """Component rewards (masked) and the mixture ELBO estimate ``sum_k w_k R_k``."""
    tf = tensorflow()
    log_w = mixture.masked_log_weights(state)
    covered = tf.where(has_samples, tf.exp(log_w), 0)
    elbo = tf.reduce_sum(covered * reward) / tf.reduce_sum(covered)
    # A component none of whose samples had a finite target value gets a reward
    # far below the others, so that the weight update shrinks it.
    lowest = tf.reduce_min(tf.where(has_samples, reward, reward.dtype.max))
    reward = tf.where(has_samples, reward, lowest - 100.0)
    return reward, elbo


def target_minus_log_q(rows, log_q, beta):
    """``log p~(x) - beta log q(x)`` of a block's rows (zero for invalid ones), (n, 1)."""
    tf = tensorflow()
    return tf.where(rows["valid"], rows["log_density"] - beta * log_q, 0)[:, None]


class SteinEstimator(Option):
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
    code = "S"
    needs_gradient = True

    @classmethod
    def from_structure(cls, diagonal, reuse):
        return cls(diagonal)

    def __init__(self, diagonal=False):
        self.diagonal = diagonal

    def estimate_and_update(self, state, hyper, batch):
        return state, self.estimate(state, hyper, batch)

    def estimate(self, state, hyper, batch):
        tf = tensorflow()
        beta = hyper["temperature"]
        n_features = tf.shape(batch["x"])[1]
        center = mixture.mixture_center(state)
        # once, outside the loop over blocks of rows; a block of importance_sums
        # already fits the (n, D, D) array of grad_log_q_rows (n_terms has D^2)
        factors = mixture.grad_log_q_factors(state)

        def row_terms(rows, log_q, responsibilities):
            # r_i, the outer products (x_i - c) r_i^T (as a pair), and log p~ - beta log q
            x = rows["x"]
            residual = rows["grad"] - beta * mixture.grad_log_q_rows(factors,
                                                                     responsibilities, x)
            return residual, (x - center, residual), target_minus_log_q(rows, log_q, beta)

        sums = weighted_sums.importance_sums(state, batch, row_terms,
                                             [n_features, n_features * n_features, 1])
        has_samples = sums["has_samples"]
        grad, moment, reward = sums["sums"]
        # Stein: H_k = Lambda_k sum_i w_ki (x_i - mu_k) r_i^T
        #            = Lambda_k (S_k - (mu_k - c) g_k^T),  S_k = sum_i w_ki (x_i - c) r_i^T
        moment = tf.reshape(moment, tf.stack([-1, n_features, n_features]))
        moment = moment - (state["means"] - center)[:, :, None] * grad[:, None, :]
        prec_chol = state["prec_chol"]
        hessian = tf.linalg.matmul(prec_chol, tf.linalg.matmul(prec_chol, moment,
                                                               transpose_a=True))
        hessian = 0.5 * (hessian + tf.linalg.matrix_transpose(hessian))
        if self.diagonal:
            hessian = tf.linalg.diag(tf.linalg.diag_part(hessian))
        reward, elbo = masked_rewards_and_elbo(state, reward[:, 0], has_samples)
        return {"grad": grad, "hessian": hessian, "reward": reward,
                "has_samples": has_samples, "elbo": elbo}


#: Samples per regression parameter a component's MORE fit uses at least.
MORE_SAMPLES_PER_PARAMETER = 3


class MoreEstimator(Option):
    """Zero-order estimates by weighted ridge regression (MORE; no target gradients).

    For each component k the values ``y = log p~(x) - beta log q(x)`` are
    regressed, with the importance weights ``w_kn``, on the
    ``1 + D + D (D + 1) / 2`` features ``1, z, z_i z_j (i <= j)`` of the
    coordinates ``z = P_k^T (x - mu_k)`` whitened by component k. The fitted
    quadratic ``c + a^T z - z^T A z / 2`` gives ``g_k = P_k a`` (its expected
    gradient under the component) and ``H_k = -P_k A P_k^T``. All components are
    solved at once: one batched Cholesky solve of the (K, P, P) normal equations
    ``(F^T W F + lambda_k I') theta = F^T W y`` (the constant is not penalised).

    The ridge strength ``lambda_k`` (state key ``more_log_ridge``, log scale)
    adapts per component: halved after a successful fit (down to
    ``hyper["more_ridge_min"]``), multiplied by 10 after a failed one (the
    normal matrix not positive definite or the solution not finite); a failed
    fit yields zero estimates (the component does not move).

    Each component uses its ``M = max(3 P, 2 n_samples_per_component)`` samples
    of largest importance weight (all samples when there are fewer; the weights
    renormalised over them), so memory is O(K M P) with ``P ~ D^2 / 2``.

    Parameters
    ----------
    diagonal : bool
        Keep only the diagonal of ``H_k``.
    """

    name = "more"
    code = "Z"
    needs_gradient = False
    hyper_defaults = {"more_ridge": 1e-10, "more_ridge_min": 1e-14, "more_ridge_max": 1e3}

    @classmethod
    def from_structure(cls, diagonal, reuse):
        return cls(diagonal)

    @classmethod
    def slot_state(cls, setup, n_slots):
        return {"more_log_ridge": np.full(n_slots, np.log(setup.hyper["more_ridge"]),
                                          setup.dtype)}

    def __init__(self, diagonal=False):
        self.diagonal = diagonal

    def estimate(self, state, hyper, batch):
        return self.estimate_and_update(state, hyper, batch)[1]

    @staticmethod
    def _rows_of_largest_weight(state, hyper, batch, n_params):
        """Rewards, ELBO and each component's ``M`` rows of largest weight.

        Returns ``(reward, elbo, has_samples, fit)``, ``fit`` holding the (K, M)
        ``rows``, ``weights`` (renormalised over them), ``values`` and ``valid``.
        """
        tf = tensorflow()
        beta = hyper["temperature"]
        dtype = state["means"].dtype
        # each component regresses on its ``M`` samples of largest weight (all
        # of them in small problems), which bounds memory at O(K M P)
        n_rows = tf.minimum(tf.shape(batch["x"])[0], tf.maximum(
            MORE_SAMPLES_PER_PARAMETER * n_params, 2 * hyper["n_samples_per_component"]))

        def values(rows, log_q, *_):
            return target_minus_log_q(rows, log_q, beta)

        sums = weighted_sums.importance_sums(state, batch, lambda *a: [values(*a)], [1],
                                             track=weighted_sums.largest_log_ratios(
                                                 n_rows, tf.shape(state["means"])[0], dtype,
                                                 values))
        has_samples = sums["has_samples"]
        reward, elbo = masked_rewards_and_elbo(state, sums["sums"][0][:, 0], has_samples)
        log_ratios, rows_used, fit_values = sums["track"]  # (K, M) each
        fit_valid = tf.math.is_finite(log_ratios) & has_samples[:, None]
        largest = tf.where(has_samples, log_ratios[:, 0], 0)
        fit_weights = tf.where(fit_valid, tf.exp(log_ratios - largest[:, None]), 0)
        fit_weights = fit_weights / tf.maximum(
            tf.reduce_sum(fit_weights, axis=1, keepdims=True), tf.constant(1e-300, dtype))
        return reward, elbo, has_samples, {"rows": rows_used, "weights": fit_weights,
                                           "values": fit_values, "valid": fit_valid}

    def estimate_and_update(self, state, hyper, batch):
        tf = tensorflow()
        dtype = state["means"].dtype
        capacity = tf.shape(state["means"])[0]
        n_features = tf.shape(batch["x"])[1]
        n_params = 1 + n_features + n_features * (n_features + 1) // 2
        reward, elbo, has_samples, fit = self._rows_of_largest_weight(state, hyper, batch,
                                                                      n_params)
        rows_used, fit_weights = fit["rows"], fit["weights"]
        fit_values, fit_valid = fit["values"], fit["valid"]
        # only the (K, M) pairs a fit uses are whitened (never all (K, N))
        z = tf.linalg.matmul(tf.gather(batch["x"], rows_used) - state["means"][:, None, :],
                             state["prec_chol"])  # (K, M, D)
        rows, cols = gaussians.quadratic_feature_pairs(n_features)
        quadratic = tf.gather(z, rows, axis=2) * tf.gather(z, cols, axis=2)
        features = tf.concat([tf.ones_like(z[:, :, :1]), z, quadratic], axis=2)  # (K, M, P)
        # centre the values per component (the constant absorbs it)
        centre = tf.reduce_sum(fit_weights * fit_values, axis=1, keepdims=True)
        y = (fit_values - centre) * tf.cast(fit_valid, dtype)
        weighted = features * fit_weights[:, :, None]
        normal = tf.linalg.matmul(weighted, features, transpose_a=True)  # (K, P, P)
        rhs = tf.linalg.matmul(weighted, y[:, :, None], transpose_a=True)  # (K, P, 1)
        ridge = tf.exp(state["more_log_ridge"])
        penalty = tf.concat([tf.zeros([1], dtype), tf.ones(tf.stack([n_params - 1]), dtype)],
                            axis=0)
        normal = normal + tf.linalg.diag(ridge[:, None] * penalty[None, :])
        eye = tf.eye(n_params, batch_shape=tf.stack([capacity]), dtype=dtype)
        normal = tf.where(has_samples[:, None, None], normal, eye)
        chol = tf.linalg.cholesky(normal)
        ok = gaussians.is_positive_definite_factor(chol)
        chol = tf.where(ok[:, None, None], chol, eye)
        theta = tf.linalg.cholesky_solve(chol, rhs)[:, :, 0]
        ok = ok & tf.reduce_all(tf.math.is_finite(theta), axis=1) & has_samples
        theta = tf.where(ok[:, None], theta, 0)
        linear = theta[:, 1:1 + n_features]  # a (K, D)
        quad = theta[:, 1 + n_features:]     # b_ij (K, Q)
        index = tf.stack([rows, cols], axis=1)
        upper = tf.transpose(tf.scatter_nd(
            index, tf.transpose(quad), tf.stack([n_features, n_features, capacity])),
            [2, 0, 1])
        a_matrix = -(upper + tf.linalg.matrix_transpose(upper))  # A (K, D, D)
        prec_chol = state["prec_chol"]
        grad = tf.linalg.matvec(prec_chol, linear)
        hessian = -tf.linalg.matmul(tf.linalg.matmul(prec_chol, a_matrix), prec_chol,
                                    transpose_b=True)
        hessian = 0.5 * (hessian + tf.linalg.matrix_transpose(hessian))
        if self.diagonal:
            hessian = tf.linalg.diag(tf.linalg.diag_part(hessian))
        log_ridge = state["more_log_ridge"]
        tried = has_samples
        log_ridge = tf.where(tried & ok, tf.maximum(log_ridge - tf.math.log(
            tf.constant(2.0, dtype)), tf.math.log(hyper["more_ridge_min"])), log_ridge)
        log_ridge = tf.where(tried & tf.logical_not(ok), tf.minimum(
            log_ridge + tf.math.log(tf.constant(10.0, dtype)),
            tf.math.log(hyper["more_ridge_max"])), log_ridge)
        out = dict(state)
        out["more_log_ridge"] = log_ridge
        return out, {"grad": grad, "hessian": hessian, "reward": reward,
                     "has_samples": has_samples, "elbo": elbo}


class NgEstimation(OptionInterface, Protocol):
    """Interface of a natural-gradient estimator (see the module docstring)."""

    #: Whether the estimates use the target's gradient (else the target is
    #: evaluated without automatic differentiation).
    needs_gradient: ClassVar[bool]

    def estimate(self, state, hyper, batch):
        """The estimates (``grad``, ``hessian``, ``reward``, ``has_samples``, ``elbo``)."""

    def estimate_and_update(self, state, hyper, batch):
        """``(state, estimates)``; the state keeps the option's memory."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (MoreEstimator, SteinEstimator)
