"""Weight step size (the KL bound of the weight update).

Interface of every option (issue 5 adds ``fixed`` and ``decaying``):

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
