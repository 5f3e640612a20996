"""The design space: the options of every module, their code letters, and
switched compilation.

A *design* picks one option per module (:class:`Design`); its seven-letter
*code word* (e.g. ``"SAMTRON"``) spells the options by their letters, in the
module order of :data:`MODULE_OPTIONS`.

A design is compiled either specialised (only its options are traced; the
default) or *switched* (:class:`all_options_compiled`): every option of every
module is traced once and the options run are chosen at run time by integer
hyperparameters ``option_<module>`` through ``tf.switch_case`` (:class:`Switch`),
so one trace serves all designs (per covariance structure, re-use, dtype and
target). Which of the two applies is a :class:`contextvars.ContextVar`, so it is
local to a thread or task.
"""

import collections
import contextvars

from .._runtime import tensorflow
from . import adaptation, component_stepsize, component_update
from . import ng_estimation, sample_selection, weight_stepsize, weight_update

#: Module -> option name -> class, in the order of the letters of the code word
#: (see :data:`CODE_LETTERS`); the position of an option is its integer code in
#: switched compilation.
MODULE_OPTIONS = {
    "ng_estimation": {"more": ng_estimation.MoreEstimator,
                      "stein": ng_estimation.SteinEstimator},
    "component_adaptation": {"fixed": adaptation.FixedComponents,
                             "adaptive": adaptation.AdaptiveComponents},
    "sample_selection": {"mixture": sample_selection.MixtureSampleSelection,
                         "component": sample_selection.ComponentSampleSelection},
    "component_update": {"direct": component_update.DirectComponentUpdate,
                         "iblr": component_update.IblrComponentUpdate,
                         "trust-region": component_update.TrustRegionComponentUpdate},
    "component_stepsize": {"fixed": component_stepsize.FixedComponentStepsize,
                           "decaying": component_stepsize.DecayingComponentStepsize,
                           "improvement": component_stepsize.ImprovementComponentStepsize},
    "weight_update": {"direct": weight_update.DirectWeightUpdate,
                      "trust-region": weight_update.TrustRegionWeightUpdate},
    "weight_stepsize": {"fixed": weight_stepsize.FixedWeightStepsize,
                        "decaying": weight_stepsize.DecayingWeightStepsize,
                        "improvement": weight_stepsize.ImprovementWeightStepsize},
}

#: The letters of the code word, per module (position = module order above).
CODE_LETTERS = {
    "ng_estimation": {"Z": "more", "S": "stein"},
    "component_adaptation": {"E": "fixed", "A": "adaptive"},
    "sample_selection": {"P": "mixture", "M": "component"},
    "component_update": {"I": "direct", "Y": "iblr", "T": "trust-region"},
    "component_stepsize": {"F": "fixed", "D": "decaying", "R": "improvement"},
    "weight_update": {"U": "direct", "O": "trust-region"},
    "weight_stepsize": {"X": "fixed", "G": "decaying", "N": "improvement"},
}

Design = collections.namedtuple("Design", list(MODULE_OPTIONS))

OPTION_HYPER = tuple("option_" + module for module in MODULE_OPTIONS)
INT_HYPER = ("n_samples_per_component", "n_reused_per_component", "add_iters",
             "del_iters", "max_components") + OPTION_HYPER

#: Hyperparameters of options that the estimator may leave out.
HYPER_DEFAULTS = {
    "component_stepsize_decay": 0.55,
    "weight_stepsize_decay": 0.55,
    "more_ridge": 1e-10,
    "more_ridge_min": 1e-14,
    "more_ridge_max": 1e3,
}

#: True inside :class:`all_options_compiled`.
_SWITCHED = contextvars.ContextVar("skgmmvi_vi_switched", default=False)


class all_options_compiled:
    """Context manager: fits inside it compile *switched* iterations.

    One traced function then holds every option of every module, selected at
    run time by ``tf.switch_case`` on integer hyperparameters, so that running
    many designs (the 432 code words) costs one trace instead of one each.
    Specialised compilation (the default) traces only the design's options.
    """

    def __enter__(self):
        self._token = _SWITCHED.set(True)
        return self

    def __exit__(self, *exc):
        _SWITCHED.reset(self._token)
        return False


def compiled_design(design):
    """What to compile for ``design``: ``"switched"`` inside
    :class:`all_options_compiled`, else the design itself."""
    return "switched" if _SWITCHED.get() else design


def design_from_code(code):
    """The :class:`Design` of a seven-letter code word (e.g. ``"SAMTRON"``).

    Raises
    ------
    ValueError
        Naming the first wrong letter and the letters allowed there.
    """
    if not isinstance(code, str) or len(code) != len(CODE_LETTERS):
        raise ValueError(f"A code word has {len(CODE_LETTERS)} letters, one per module "
                         f"({', '.join(CODE_LETTERS)}); got {code!r}.")
    options = []
    for position, (letter, (module, letters)) in enumerate(
            zip(code.upper(), CODE_LETTERS.items())):
        if letter not in letters:
            allowed = ", ".join(f"{k} ({v})" for k, v in letters.items())
            raise ValueError(f"Letter {position + 1} of the code word {code!r} is "
                             f"{letter!r}; letter {position + 1} selects the {module} "
                             f"option and must be one of: {allowed}.")
        options.append(letters[letter])
    return Design(*options)


def code_of(design):
    """The seven-letter code word of a design."""
    return "".join({v: k for k, v in CODE_LETTERS[module].items()}[getattr(design, module)]
                   for module in CODE_LETTERS)


def option_codes(design):
    """Integer code of each module's option (its position in :data:`MODULE_OPTIONS`)."""
    return {"option_" + module: list(MODULE_OPTIONS[module]).index(getattr(design, module))
            for module in MODULE_OPTIONS}


def make_option(module, name, diagonal, reuse):
    """An instance of option ``name`` of ``module``."""
    cls = MODULE_OPTIONS[module][name]
    if module == "sample_selection":
        return cls(reuse)
    if module == "ng_estimation":
        return cls(diagonal)
    return cls()


class Switch:
    """All options of one module behind its interface; each call runs the option
    chosen by ``hyper["option_<module>"]`` (``tf.switch_case``)."""

    def __init__(self, module, diagonal, reuse):
        self.key = "option_" + module
        self.options = [make_option(module, name, diagonal, reuse)
                        for name in MODULE_OPTIONS[module]]

    def _call(self, method, hyper, *args):
        tf = tensorflow()
        branches = [(lambda option=option: getattr(option, method)(*args))
                    for option in self.options]
        return tf.switch_case(hyper[self.key], branches)

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(state, hyper, *args):
            return self._call(method, hyper, state, hyper, *args)
        return call
