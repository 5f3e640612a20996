"""Component step sizes (the KL bound of each component's trust region).

Interface of every option (``fixed``, ``decaying``, ``improvement``):

``step(state, hyper, estimates) -> (state, stepsizes)``
    Called before the component update with this iteration's estimates;
    ``stepsizes`` has shape (K_max,). ``reset(state, hyper, slot_mask)`` gives new
    components the initial step size.

(:class:`ComponentStepsize`.) State keys of every option: ``component_stepsize``
(K_max,), ``last_reward`` (K_max,; NaN until a component has a reward).
"""

from typing import Protocol

import numpy as np

from .._runtime import tensorflow
from .option import Option, OptionInterface
from .stepsize_rules import decayed, improved


def _reset(state, hyper, slot_mask):
    tf = tensorflow()
    out = dict(state)
    dtype = state["component_stepsize"].dtype
    out["component_stepsize"] = tf.where(slot_mask, hyper["component_stepsize"],
                                         state["component_stepsize"])
    out["last_reward"] = tf.where(slot_mask, tf.constant(float("nan"), dtype),
                                  state["last_reward"])
    return out


class _StepsizeState(Option):
    """State every component step-size option keeps (see the module docstring)."""

    reset = staticmethod(_reset)

    @classmethod
    def slot_state(cls, setup, n_slots):
        return {"component_stepsize": np.full(n_slots, setup.hyper["component_stepsize"],
                                              setup.dtype),
                "last_reward": np.full(n_slots, np.nan, setup.dtype)}


class FixedComponentStepsize(_StepsizeState):
    """The initial step size, always."""

    name = "fixed"
    code = "F"

    def step(self, state, hyper, estimates):
        return state, state["component_stepsize"]


class ImprovementComponentStepsize(_StepsizeState):
    """Per component: grow the step size when its reward improved since the last
    iteration, shrink it otherwise, clipped to ``[min, max]``.

    Factors ``hyper["component_stepsize_increase"]`` / ``..._decrease``.
    """

    name = "improvement"
    code = "R"

    def step(self, state, hyper, estimates):
        out = dict(state)
        out["component_stepsize"], out["last_reward"] = improved(
            state["component_stepsize"], estimates["reward"], state["last_reward"],
            estimates["has_samples"], hyper, "component_stepsize")
        return out, out["component_stepsize"]


class DecayingComponentStepsize(_StepsizeState):
    """``s_0 / (1 + n^a)`` with ``n`` the number of updates the component received,
    ``s_0 = hyper["component_stepsize"]`` and ``a =
    hyper["component_stepsize_decay"]`` (0.55 by default)."""

    name = "decaying"
    code = "D"
    hyper_defaults = {"component_stepsize_decay": 0.55}

    def step(self, state, hyper, estimates):
        return decayed(state, hyper, "component_stepsize", state["n_updates"])


class ComponentStepsize(OptionInterface, Protocol):
    """Interface of a component step-size option."""

    def step(self, state, hyper, estimates):
        """``(state, stepsizes)``, ``stepsizes`` of shape (K_max,)."""

    def reset(self, state, hyper, slot_mask):
        """State in which the slots of ``slot_mask`` start afresh."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (FixedComponentStepsize, DecayingComponentStepsize, ImprovementComponentStepsize)
