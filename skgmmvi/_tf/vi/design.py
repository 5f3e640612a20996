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

#: Module -> (estimator parameter that overrides it, Python module of its
#: options), in the order of the letters of the code word.
MODULES = {
    "ng_estimation": ("ng_estimation", ng_estimation),
    "component_adaptation": ("component_adaptation", adaptation),
    "sample_selection": ("sample_selection", sample_selection),
    "component_update": ("component_update", component_update),
    "component_stepsize": ("component_stepsize_schedule", component_stepsize),
    "weight_update": ("weight_update", weight_update),
    "weight_stepsize": ("weight_stepsize_schedule", weight_stepsize),
}

#: Module -> option name -> class, from each module's ``OPTIONS``; the position
#: of an option is its integer code in switched compilation.
MODULE_OPTIONS = {module: {option.name: option for option in python_module.OPTIONS}
                  for module, (_, python_module) in MODULES.items()}

#: The letters of the code word, per module: letter -> option name.
CODE_LETTERS = {module: {option.code: name for name, option in options.items()}
                for module, options in MODULE_OPTIONS.items()}

#: Estimator parameter -> the module it overrides.
MODULE_PARAMETERS = {parameter: module for module, (parameter, _) in MODULES.items()}

Design = collections.namedtuple("Design", list(MODULE_OPTIONS))

OPTION_HYPER = tuple("option_" + module for module in MODULE_OPTIONS)
INT_HYPER = ("n_samples_per_component", "n_reused_per_component", "add_iters",
             "del_iters", "max_components") + OPTION_HYPER

#: Hyperparameters of options that the estimator may leave out (every option's,
#: since a switched iteration runs them all).
HYPER_DEFAULTS = {key: value for options in MODULE_OPTIONS.values()
                  for option in options.values()
                  for key, value in option.hyper_defaults.items()}

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


def needs_gradient(design):
    """Whether a compiled ``design`` (or ``"switched"``) uses target gradients."""
    estimators = MODULE_OPTIONS["ng_estimation"]
    if design == "switched":
        return any(option.needs_gradient for option in estimators.values())
    return estimators[design.ng_estimation].needs_gradient


def make_option(module, name, diagonal, reuse):
    """An instance of option ``name`` of ``module``."""
    return MODULE_OPTIONS[module][name].from_structure(diagonal, reuse)


def state_options(design):
    """The option classes whose state a compiled ``design`` carries: the
    design's own, or every option of every module when it is ``"switched"``."""
    if design == "switched":
        return [option for options in MODULE_OPTIONS.values()
                for option in options.values()]
    return [MODULE_OPTIONS[module][getattr(design, module)] for module in MODULE_OPTIONS]


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
