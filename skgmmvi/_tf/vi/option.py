"""What every option of every module is: a name, a code letter, and the state
it keeps.

Each module (``ng_estimation``, ``component_adaptation``, ...) declares its
interface as a :class:`typing.Protocol` at the end of its file, extending
:class:`OptionInterface`, and lists its options in ``OPTIONS``. Every option
class derives from :class:`Option` and carries

* ``name``: its value of the estimator parameter (e.g. ``"trust-region"``);
* ``code``: its letter in the seven-letter code word (e.g. ``"T"``);
* ``hyper_defaults``: values of its own hyperparameters that the estimator
  may leave out;
* its state: the host asks each option that may run for its
  :meth:`~Option.initial_state` and, when the component capacity grows, for its
  :meth:`~Option.grown_state`, so the host never lists a module's state keys.

The tables of the design space (:mod:`.design`) and the estimator's choices are
derived from these classes: a new option is one class in one file.
"""

import collections
from typing import ClassVar, Protocol

import numpy as np

#: What an option needs to lay out its state: ``hyper`` the numpy
#: hyperparameters (defaults included), ``dtype`` the floating dtype,
#: ``n_features`` the dimension and ``ratio_reused`` the re-use ratio.
StateSetup = collections.namedtuple("StateSetup", "hyper dtype n_features ratio_reused")


class OptionInterface(Protocol):
    """The part of every module's interface that is about identity and state."""

    name: ClassVar[str]
    code: ClassVar[str]
    hyper_defaults: ClassVar[dict]

    @classmethod
    def from_structure(cls, diagonal, reuse):
        """An instance for diagonal or full covariances, with or without re-use."""

    @classmethod
    def initial_state(cls, setup, capacity):
        """Numpy state the option keeps, for ``capacity`` component slots."""

    @classmethod
    def grown_state(cls, state, setup, capacity):
        """The option's numpy state after the capacity grew to ``capacity``."""


class Option:
    """Base of every option: identity and per-slot / scalar state.

    The defaults suit options whose state is per-slot arrays (``slot_state``:
    new slots start from its values, existing ones keep theirs) and scalars
    (``scalar_state``: kept as they are when the capacity grows). An option with
    other state overrides :meth:`initial_state` and :meth:`grown_state`.
    """

    name = None
    code = None
    hyper_defaults = {}  # never mutated: options that have defaults set their own

    @classmethod
    def from_structure(cls, diagonal, reuse):
        """An instance (options that depend on neither take no argument)."""
        return cls()

    @classmethod
    def slot_state(cls, setup, n_slots):
        """Per-slot arrays (first axis ``n_slots``) for new component slots."""
        return {}

    @classmethod
    def scalar_state(cls, setup):
        """Scalars, set once at the start of a fit."""
        return {}

    @classmethod
    def initial_state(cls, setup, capacity):
        return {**cls.slot_state(setup, capacity), **cls.scalar_state(setup)}

    @classmethod
    def grown_state(cls, state, setup, capacity):
        n_new = capacity - state["active"].shape[0]
        grown = {key: np.concatenate([state[key], value])
                 for key, value in cls.slot_state(setup, n_new).items()}
        grown.update({key: state[key] for key in cls.scalar_state(setup)})
        return grown
