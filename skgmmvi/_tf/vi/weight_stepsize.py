"""Weight step size (the KL bound of the weight update).

Interface of every option (``fixed``, ``decaying``, ``improvement``):

``step(state, hyper, estimates) -> (state, stepsize)``

State keys: ``weight_stepsize`` (scalar), ``last_elbo`` (scalar; NaN at first).
"""

from .._runtime import tensorflow


class ImprovementWeightStepsize:
    """Grow the step size when the ELBO estimate rose since the last iteration,
    shrink it otherwise, clipped to ``[min, max]``."""

    name = "improvement"

    def step(self, state, hyper, estimates):
        tf = tensorflow()
        elbo = estimates["elbo"]
        previous = state["last_elbo"]
        factor = tf.where(elbo > previous, hyper["weight_stepsize_increase"],
                          hyper["weight_stepsize_decrease"])
        stepsize = tf.clip_by_value(state["weight_stepsize"] * factor,
                                    hyper["weight_stepsize_min"],
                                    hyper["weight_stepsize_max"])
        out = dict(state)
        out["weight_stepsize"] = tf.where(tf.math.is_finite(previous), stepsize,
                                          state["weight_stepsize"])
        out["last_elbo"] = elbo
        return out, out["weight_stepsize"]


class FixedWeightStepsize:
    """The initial weight step size, always."""

    name = "fixed"

    def step(self, state, hyper, estimates):
        out = dict(state)
        out["last_elbo"] = estimates["elbo"]
        return out, state["weight_stepsize"]


class DecayingWeightStepsize:
    """``s_0 / (1 + n^a)`` with ``n`` the number of iterations done,
    ``s_0 = hyper["weight_stepsize"]`` and ``a = hyper["weight_stepsize_decay"]``
    (0.55 by default; the reference implementation's default has none)."""

    name = "decaying"

    def step(self, state, hyper, estimates):
        tf = tensorflow()
        dtype = state["weight_stepsize"].dtype
        n = tf.cast(state["iteration"], dtype)
        stepsize = hyper["weight_stepsize"] / (1.0 + tf.pow(n, hyper["weight_stepsize_decay"]))
        out = dict(state)
        out["weight_stepsize"] = stepsize
        out["last_elbo"] = estimates["elbo"]
        return out, stepsize
