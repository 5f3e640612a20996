"""Weight step size (the KL bound of the weight update).

Interface of every option (``fixed``, ``decaying``, ``improvement``):

``step(state, hyper, estimates) -> (state, stepsize)``

(:class:`WeightStepsize`.) State keys of every option: ``weight_stepsize``
(scalar), ``last_elbo`` (scalar; NaN at first).
"""

from typing import Protocol

import numpy as np

from .._runtime import tensorflow
from .option import Option, OptionInterface
from .stepsize_rules import decayed, improved


class _StepsizeState(Option):
    """State every weight step-size option keeps (see the module docstring)."""

    @classmethod
    def scalar_state(cls, setup):
        return {"weight_stepsize": setup.dtype.type(setup.hyper["weight_stepsize"]),
                "last_elbo": setup.dtype.type(np.nan)}


class ImprovementWeightStepsize(_StepsizeState):
    """Grow the step size when the ELBO estimate rose since the last iteration,
    shrink it otherwise, clipped to ``[min, max]``."""

    name = "improvement"
    code = "N"

    def step(self, state, hyper, estimates):
        tf = tensorflow()
        out = dict(state)
        out["weight_stepsize"], out["last_elbo"] = improved(
            state["weight_stepsize"], estimates["elbo"], state["last_elbo"],
            tf.constant(True), hyper, "weight_stepsize")
        return out, out["weight_stepsize"]


class FixedWeightStepsize(_StepsizeState):
    """The initial weight step size, always."""

    name = "fixed"
    code = "X"

    def step(self, state, hyper, estimates):
        out = dict(state)
        out["last_elbo"] = estimates["elbo"]
        return out, state["weight_stepsize"]


class DecayingWeightStepsize(_StepsizeState):
    """``s_0 / (1 + n^a)`` with ``n`` the number of iterations done,
    ``s_0 = hyper["weight_stepsize"]`` and ``a = hyper["weight_stepsize_decay"]``
    (0.55 by default; the reference implementation's default has none)."""

    name = "decaying"
    code = "G"
    hyper_defaults = {"weight_stepsize_decay": 0.55}

    def step(self, state, hyper, estimates):
        out, stepsize = decayed(state, hyper, "weight_stepsize", state["iteration"])
        out["last_elbo"] = estimates["elbo"]
        return out, stepsize


class WeightStepsize(OptionInterface, Protocol):
    """Interface of a weight step-size option."""

    def step(self, state, hyper, estimates):
        """``(state, stepsize)``, a scalar step size."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (FixedWeightStepsize, DecayingWeightStepsize, ImprovementWeightStepsize)
