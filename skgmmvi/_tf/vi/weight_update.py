"""Weight update from the component rewards.

Interface of every option (``direct``, ``trust-region``):

``update(state, hyper, estimates, stepsize) -> (state, kl)``
    New log-weights (normalised over active components, floored at 1e-30);
    ``kl`` is ``KL(w_new || w_old)``. Nothing moves while only one component is
    active.
"""


from typing import Protocol

from .._runtime import tensorflow
from . import mixture
from .option import Option, OptionInterface

LOG_ETA_RANGE = (-45.0, 45.0)
KL_TOLERANCE = 0.1
MAX_BISECTIONS = 100


def weights_for_eta(log_weights, active, reward, beta, eta):
    """``log w' = ((eta + 1) / (beta + eta)) log w + R / (beta + eta)``, normalised."""
    unnormalized = ((eta + 1.0) * log_weights + reward) / (beta + eta)
    return mixture.normalized_log_weights(unnormalized, active)


def weight_kl(new_log_weights, old_log_weights, active):
    """``KL(w_new || w_old)`` over active components."""
    tf = tensorflow()
    terms = tf.exp(new_log_weights) * (new_log_weights - old_log_weights)
    return tf.reduce_sum(tf.where(active, terms, 0))


def weight_trust_region_search(log_weights, active, reward, bound, beta):
    """Bisection on ``log eta`` in [-45, 45] so that ``KL(w' || w) = bound``.

    Ends when the KL is within 10 % of the bound, or the bracket is narrower
    than 1e-3 (then the feasible end is taken). Returns ``(log_weights, kl)``.
    """
    tf = tensorflow()
    dtype = log_weights.dtype
    lower = tf.constant(LOG_ETA_RANGE[0], dtype)
    upper = tf.constant(LOG_ETA_RANGE[1], dtype)

    def kl_at(log_eta):
        new = weights_for_eta(log_weights, active, reward, beta, tf.exp(log_eta))
        return weight_kl(new, log_weights, active)

    def cond(i, lower, upper, best, found):
        return (i < MAX_BISECTIONS) & tf.logical_not(found) & (upper - lower >= 1e-3)

    def body(i, lower, upper, best, found):
        middle = 0.5 * (lower + upper)
        kl = kl_at(middle)
        within = tf.abs(kl - bound) <= KL_TOLERANCE * bound
        too_large = tf.logical_not(kl <= bound)
        lower = tf.where(within | tf.logical_not(too_large), lower, middle)
        upper = tf.where(within | too_large, upper, middle)
        return i + 1, lower, upper, tf.where(within, middle, best), within

    _, lower, upper, best, found = tf.while_loop(
        cond, body, (tf.constant(0), lower, upper, upper, tf.constant(False)))
    log_eta = tf.where(found, best, upper)
    new = weights_for_eta(log_weights, active, reward, beta, tf.exp(log_eta))
    return new, weight_kl(new, log_weights, active)


class _LogWeightStep(Option):
    """What both weight updates do around their step: they move the normalised
    log-weights of the active components, given the rewards."""

    def update(self, state, hyper, estimates, stepsize):
        active = state["active"]
        log_weights = mixture.normalized_log_weights(state["log_weights"], active)
        new, kl = self.step(log_weights, active, estimates["reward"], stepsize,
                            hyper["temperature"])
        out = dict(state)
        out["log_weights"] = new
        return out, kl

    def step(self, log_weights, active, reward, stepsize, beta):
        """``(new_log_weights, KL(w_new || w_old))`` from normalised ``log_weights``."""
        raise NotImplementedError


class TrustRegionWeightUpdate(_LogWeightStep):
    """The largest natural-gradient step on the weights with KL <= step size."""

    name = "trust-region"
    code = "O"

    def step(self, log_weights, active, reward, stepsize, beta):
        tf = tensorflow()
        several = tf.reduce_sum(tf.cast(active, tf.int32)) > 1

        def search():
            return weight_trust_region_search(log_weights, active, reward, stepsize, beta)

        def keep():
            return log_weights, tf.zeros([], log_weights.dtype)

        return tf.cond(several, search, keep)


class DirectWeightUpdate(_LogWeightStep):
    """Plain natural-gradient step on the log-weights:
    ``log w' = log w + (s / beta) R``, renormalised and floored at 1e-30."""

    name = "direct"
    code = "U"

    def step(self, log_weights, active, reward, stepsize, beta):
        tf = tensorflow()
        reward = tf.where(active, reward, 0)
        new = mixture.normalized_log_weights(log_weights + stepsize / beta * reward, active)
        return new, weight_kl(new, log_weights, active)


class WeightUpdate(OptionInterface, Protocol):
    """Interface of a weight update option (see the module docstring)."""

    def update(self, state, hyper, estimates, stepsize):
        """``(state, kl)``: new log-weights and ``KL(w_new || w_old)``."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (DirectWeightUpdate, TrustRegionWeightUpdate)
