"""Component updates from natural-gradient estimates.

Interface of every option (``trust-region``, ``direct``, ``iblr``):

``update(state, hyper, estimates, stepsizes) -> (state, kl)``
    Moves every active component that has estimates; ``kl`` (K_max,) is
    ``KL(new || old)`` per component (0 where nothing moved). An update whose
    precision is not positive definite is rejected: the old component is kept.
    ``reset(state, hyper, slot_mask)`` forgets per-component memory of new slots.

(:class:`ComponentUpdate`.) State key of the trust-region option: ``log_eta``
(K_max,; NaN = no warm start).
"""

import math
from typing import Protocol

import numpy as np

from .._runtime import tensorflow
from . import gaussians
from .option import Option, OptionInterface

#: Upper end of the bracket of log eta (eta = e^80 is a vanishing step).
LOG_ETA_MAX = 80.0
#: Relative tolerance on the KL bound that ends a component's search.
KL_TOLERANCE = 0.1
MAX_BISECTIONS = 64


def natural_parameter_step(means, prec_chol, precision, grad, hessian, eta):
    """Component after a natural-gradient step of length ``1/eta``.

    ``Lambda' = Lambda - H / eta`` and ``mu' = mu + Lambda'^{-1} g / eta``
    (the same as ``(Lambda mu)' = Lambda mu + (g - H mu) / eta``, without the
    cancellation). Returns ``(means, prec_chol, kl, ok)``; where ``ok`` is False
    (``Lambda'`` not positive definite) the old component and ``kl = inf``.
    """
    tf = tensorflow()
    new_precision = precision - hessian / eta[:, None, None]
    new_chol = tf.linalg.cholesky(new_precision)
    ok = gaussians.is_positive_definite_factor(new_chol)
    new_chol = tf.where(ok[:, None, None], new_chol, prec_chol)
    step = tf.linalg.cholesky_solve(new_chol, (grad / eta[:, None])[:, :, None])[:, :, 0]
    new_means = means + tf.where(ok[:, None], step, 0)
    kl = gaussians.kl_divergence(new_means, new_chol, means, prec_chol)
    kl = tf.where(ok, kl, tf.constant(float("inf"), kl.dtype))
    return new_means, new_chol, kl, ok


def trust_region_search(means, prec_chol, grad, hessian, bound, beta, warm_log_eta, todo):
    """Batched bisection on ``log eta`` so that ``KL(new || old) = bound`` per component.

    All components are searched at once. The bracket is ``[log eta_min, 80]``: ``eta >=
    beta``, and ``Lambda - H / eta`` is positive definite exactly when ``eta`` exceeds
    the largest eigenvalue of the whitened Hessian ``P^{-1} H P^{-T}`` (one batched
    ``eigvalsh`` per call), so ``eta_min`` is the larger of ``beta`` and 1.001 times
    that eigenvalue; trial points thus never meet a failing Cholesky factorisation
    (which TensorFlow would log). The first trial point is the previous ``log eta`` when
    it lies inside (warm start). A trial whose KL exceeds the bound, or whose precision
    is not positive definite, is a step too large. A component's search ends when the KL
    is within 10 % of the bound or the bracket is narrower than 1e-3; it then takes the
    feasible end of the bracket. When even ``eta = beta`` stays inside the trust region,
    that full step is taken.

    Parameters
    ----------
    means, prec_chol, grad, hessian : Tensors (K, D), (K, D, D), (K, D), (K, D, D)
    bound : Tensor (K,)
        KL bounds (the step sizes).
    beta : scalar Tensor
        Temperature.
    warm_log_eta : Tensor (K,)
        Previous multipliers (NaN = none).
    todo : Tensor (K,) bool
        Components to update.

    Returns
    -------
    new_means, new_prec_chol, kl, log_eta, success
    """
    tf = tensorflow()
    precision = tf.linalg.matmul(prec_chol, prec_chol, transpose_b=True)
    lower, upper, warm_ok = _bisection_start(prec_chol, hessian, bound, beta, todo,
                                             warm_log_eta)

    def cond(i, lower, upper, best, found, done):
        return (i < MAX_BISECTIONS) & tf.logical_not(tf.reduce_all(done))

    def body(i, lower, upper, best, found, done):
        middle = tf.where((i == 0) & warm_ok, warm_log_eta, 0.5 * (lower + upper))
        _, _, kl, ok = natural_parameter_step(means, prec_chol, precision, grad, hessian,
                                              tf.exp(middle))
        within = ok & (tf.abs(kl - bound) <= KL_TOLERANCE * bound) & tf.logical_not(done)
        too_large = tf.logical_not(ok) | (kl > bound)
        moving = tf.logical_not(done | within)
        lower = tf.where(moving & too_large, middle, lower)
        upper = tf.where(moving & tf.logical_not(too_large), middle, upper)
        best = tf.where(within, middle, best)
        found = found | within
        done = done | within | (upper - lower < 1e-3)
        return i + 1, lower, upper, best, found, done

    _, lower, upper, best, found, _ = tf.while_loop(
        cond, body, (tf.constant(0), lower, upper, upper, tf.zeros_like(todo),
                     tf.logical_not(todo)))
    log_eta = tf.where(found, best, upper)
    new_means, new_chol, kl, success = _step_where_feasible(
        means, prec_chol, precision, grad, hessian, log_eta, todo)
    return new_means, new_chol, kl, log_eta, success


def _bisection_start(prec_chol, hessian, bound, beta, todo, warm_log_eta):
    """Initial bracket ``(lower, upper)`` of the bisection on ``log eta`` (see
    :func:`trust_region_search`: ``eta`` at least ``beta`` and above the largest
    eigenvalue of the whitened Hessian, at most ``e^LOG_ETA_MAX``) and where the
    warm start lies inside it."""
    tf = tensorflow()
    half = tf.linalg.triangular_solve(prec_chol, hessian, lower=True)  # P^-1 H
    whitened = tf.linalg.triangular_solve(prec_chol, tf.linalg.matrix_transpose(half),
                                          lower=True)  # P^-1 H P^-T
    whitened = 0.5 * (whitened + tf.linalg.matrix_transpose(whitened))
    largest = tf.linalg.eigvalsh(tf.where(todo[:, None, None], whitened,
                                          tf.zeros_like(whitened)))[:, -1]
    eta_min = tf.maximum(beta, 1.001 * largest)
    eta_min = tf.where(tf.math.is_finite(eta_min), eta_min, beta)
    lower = tf.math.log(eta_min)
    upper = tf.fill(tf.shape(bound), tf.constant(LOG_ETA_MAX, prec_chol.dtype))
    warm_ok = tf.math.is_finite(warm_log_eta) & (warm_log_eta > lower) & (
        warm_log_eta < upper)
    return lower, upper, warm_ok


def _step_where_feasible(means, prec_chol, precision, grad, hessian, log_eta, todo):
    """The step of length ``exp(-log_eta)`` for the components of ``todo`` whose
    new precision is positive definite (the others keep theirs, KL 0):
    ``(new_means, new_prec_chol, kl, success)``."""
    tf = tensorflow()
    new_means, new_chol, kl, ok = natural_parameter_step(
        means, prec_chol, precision, grad, hessian, tf.exp(log_eta))
    success = todo & ok
    new_means = tf.where(success[:, None], new_means, means)
    new_chol = tf.where(success[:, None, None], new_chol, prec_chol)
    kl = tf.where(success, kl, 0)
    return new_means, new_chol, kl, success


class TrustRegionComponentUpdate(Option):
    """MORE / VIPS update: the largest natural-gradient step with KL <= step size."""

    name = "trust-region"
    code = "T"

    @classmethod
    def slot_state(cls, setup, n_slots):
        return {"log_eta": np.full(n_slots, np.nan, setup.dtype)}

    def update(self, state, hyper, estimates, stepsizes):
        tf = tensorflow()
        todo = estimates["has_samples"]
        new_means, new_chol, kl, log_eta, success = trust_region_search(
            state["means"], state["prec_chol"], estimates["grad"], estimates["hessian"],
            stepsizes, hyper["temperature"], state["log_eta"], todo)
        out = dict(state)
        out["means"] = new_means
        out["prec_chol"] = new_chol
        out["log_eta"] = tf.where(success, log_eta, state["log_eta"])
        out["n_updates"] = state["n_updates"] + tf.cast(state["active"], tf.int32)
        return out, kl

    @staticmethod
    def reset(state, hyper, slot_mask):
        tf = tensorflow()
        out = dict(state)
        out["log_eta"] = tf.where(slot_mask, tf.constant(math.nan, state["log_eta"].dtype),
                                  state["log_eta"])
        return out


def _finish(state, new_means, new_chol, success, kl):
    """State after a step-size-driven update (``success`` rows move)."""
    tf = tensorflow()
    out = dict(state)
    out["means"] = tf.where(success[:, None], new_means, state["means"])
    out["prec_chol"] = tf.where(success[:, None, None], new_chol, state["prec_chol"])
    out["n_updates"] = state["n_updates"] + tf.cast(state["active"], tf.int32)
    return out, tf.where(success, kl, tf.zeros_like(kl))


class DirectComponentUpdate(Option):
    """Plain natural-gradient step of length ``s`` (Lin et al. 2019).

    ``Lambda' = Lambda - s H`` and ``(Lambda mu)' = Lambda mu + s (g - H mu)``,
    i.e. ``mu' = mu + s Lambda'^{-1} g``; ``s`` is the component's step size.
    An update whose ``Lambda'`` is not positive definite is rejected: the
    component keeps its old mean and precision.
    """

    name = "direct"
    code = "I"

    def update(self, state, hyper, estimates, stepsizes):
        tf = tensorflow()
        todo = estimates["has_samples"]
        precision = tf.linalg.matmul(state["prec_chol"], state["prec_chol"],
                                     transpose_b=True)
        new_means, new_chol, kl, ok = natural_parameter_step(
            state["means"], state["prec_chol"], precision, estimates["grad"],
            estimates["hessian"], 1.0 / stepsizes)
        return _finish(state, new_means, new_chol, todo & ok, kl)

    @staticmethod
    def reset(state, hyper, slot_mask):
        return dict(state)


class IblrComponentUpdate(Option):
    """Improved Bayesian learning rule (Lin, Schmidt, Khan 2020): positive definite
    by construction.

    ``Lambda' = Lambda - s H + (s^2 / 2) H Sigma H`` (which equals
    ``(Lambda + (Lambda - s H) Sigma (Lambda - s H)) / 2``, so it is positive
    definite for every ``s``) and ``mu' = mu + s Sigma g`` with the old
    covariance (as in the reference implementation). As there, a component's mean is left
    unchanged on its very first update (``n_updates == 0``). A factorisation
    that still fails (rounding) rejects the update.
    """

    name = "iblr"
    code = "Y"

    def update(self, state, hyper, estimates, stepsizes):
        tf = tensorflow()
        todo = estimates["has_samples"]
        prec_chol, means = state["prec_chol"], state["means"]
        hessian, grad = estimates["hessian"], estimates["grad"]
        s = stepsizes[:, None, None]
        precision = tf.linalg.matmul(prec_chol, prec_chol, transpose_b=True)
        # H Sigma H = (P^{-1} H)^T (P^{-1} H) with Sigma = P^{-T} P^{-1}
        half = tf.linalg.triangular_solve(prec_chol, hessian, lower=True)
        correction = tf.linalg.matmul(half, half, transpose_a=True)
        new_precision = precision - s * hessian + 0.5 * tf.square(s) * correction
        new_precision = 0.5 * (new_precision + tf.linalg.matrix_transpose(new_precision))
        new_chol = tf.linalg.cholesky(new_precision)
        ok = gaussians.is_positive_definite_factor(new_chol)
        new_chol = tf.where(ok[:, None, None], new_chol, prec_chol)
        step = tf.linalg.cholesky_solve(prec_chol, (stepsizes[:, None] * grad)[:, :, None])
        first = state["n_updates"] == 0
        new_means = means + tf.where((ok & tf.logical_not(first))[:, None], step[:, :, 0], 0)
        kl = gaussians.kl_divergence(new_means, new_chol, means, prec_chol)
        return _finish(state, new_means, new_chol, todo & ok, kl)

    @staticmethod
    def reset(state, hyper, slot_mask):
        return dict(state)


class ComponentUpdate(OptionInterface, Protocol):
    """Interface of a component update option."""

    def update(self, state, hyper, estimates, stepsizes):
        """``(state, kl)``: the moved components and ``KL(new || old)`` (K_max,)."""

    def reset(self, state, hyper, slot_mask):
        """State in which the slots of ``slot_mask`` keep no memory."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (DirectComponentUpdate, IblrComponentUpdate, TrustRegionComponentUpdate)
