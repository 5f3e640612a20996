"""One NG-VI iteration composed of seven modules, compiled once per structure.

The modules (one class per option, one interface per module):

====================  ==========================================  ====================
module                options                                     file
====================  ==========================================  ====================
NG estimation         ``stein``, ``more``                         ng_estimation.py
component adaptation  ``fixed``, ``adaptive``                     adaptation.py
sample selection      ``mixture``, ``component``                  sample_selection.py
component update      ``direct``, ``iblr``, ``trust-region``      component_update.py
component step size   ``fixed``, ``decaying``, ``improvement``    component_stepsize.py
weight update         ``direct``, ``trust-region``                weight_update.py
weight step size      ``fixed``, ``decaying``, ``improvement``    weight_stepsize.py
====================  ==========================================  ====================

A design is compiled either specialised (only its options are traced; the
default) or *switched* (:func:`all_options_compiled`): every option of every
module is traced once and the options run are chosen at run time by integer
hyperparameters ``option_<module>`` through ``tf.switch_case``, so one trace
serves all 432 designs (per covariance structure, re-use, dtype and target).

The iteration is split around the target evaluation: ``propose`` draws the new
samples, ``finish`` takes their target values and gradients and does everything
else. For TensorFlow targets both halves and the evaluation run inside one
``tf.while_loop`` over a chunk of iterations (:meth:`Iteration.run_chunk`), so a
chunk costs one host round trip; numpy targets are evaluated between the two
compiled halves.

All state lives in one dict of tensors (see :mod:`.mixture`, :mod:`.database`
and each module's docstring); hyperparameters are a second dict of scalar
tensors, so a new setting never retraces. A compiled function is cached per
(design, covariance structure, dtype, target class or target) and its input
signature leaves every dimension dynamic: new D, new capacities, new sample
counts do not retrace.
"""

import collections

import numpy as np

from .._runtime import device_name, tensorflow, tf_dtype
from ..compile_cache import COMPILED
from . import adaptation, component_stepsize, component_update, database, mixture
from . import ng_estimation, sample_selection, weight_stepsize, weight_update
from .target_adapter import (check_rows, check_target, numpy_values_and_grads,
                             parameter_signature, target_key, target_log_density,
                             target_parameters, target_values_and_grads)

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
SAMTRON = Design("stein", "adaptive", "component", "trust-region", "improvement",
                 "trust-region", "improvement")

OPTION_HYPER = tuple("option_" + module for module in MODULE_OPTIONS)
INT_HYPER = ("n_samples_per_component", "n_reused_per_component", "add_iters",
             "del_iters", "max_components") + OPTION_HYPER

_SWITCHED = [False]

#: Hyperparameters of options that the estimator may leave out.
HYPER_DEFAULTS = {
    "component_stepsize_decay": 0.55,
    "weight_stepsize_decay": 0.55,
    "more_ridge": 1e-10,
    "more_ridge_min": 1e-14,
    "more_ridge_max": 1e3,
}


class all_options_compiled:
    """Context manager: fits inside it compile *switched* iterations.

    One traced function then holds every option of every module, selected at
    run time by ``tf.switch_case`` on integer hyperparameters, so that running
    many designs (the 432 code words) costs one trace instead of one each.
    Specialised compilation (the default) traces only the design's options.
    """

    def __enter__(self):
        self._previous = _SWITCHED[0]
        _SWITCHED[0] = True
        return self

    def __exit__(self, *exc):
        _SWITCHED[0] = self._previous
        return False


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


def _make_option(module, name, diagonal, reuse):
    cls = MODULE_OPTIONS[module][name]
    if module == "sample_selection":
        return cls(reuse)
    if module == "ng_estimation":
        return cls(diagonal)
    return cls()


class _Switch:
    """All options of one module behind its interface; each call runs the option
    chosen by ``hyper["option_<module>"]`` (``tf.switch_case``)."""

    def __init__(self, module, diagonal, reuse):
        self.key = "option_" + module
        self.options = [_make_option(module, name, diagonal, reuse)
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


#: Rows of the reservoir of candidate locations for new components (the
#: reference draws its candidates from 100000 random database samples).
RESERVOIR_SIZE = 100000


def capacity_headroom(n_active):
    """Free slots the host adds when the mixture runs out of room.

    The compiled iteration works on every slot, active or not (its cost grows
    with the capacity times the number of samples), and growing costs no retrace
    (every dimension of the compiled signature is dynamic), only one copy of the
    state. So the capacity grows in small steps, a quarter of the active
    components and at least four slots, instead of doubling.
    """
    return max(4, n_active // 4)




class Iteration:
    """The seven modules of one design, composed into one iteration.

    Parameters
    ----------
    design : Design
        One option name per module.
    diagonal : bool
        Diagonal covariances.
    reuse : bool
        Re-use database samples (``ratio_reused > 0``).
    """

    def __init__(self, design, diagonal, reuse=False):
        self.design = design

        def module(name):
            if design == "switched":
                return _Switch(name, diagonal, reuse)
            return _make_option(name, getattr(design, name), diagonal, reuse)

        self.sampler = module("sample_selection")
        self.estimator = module("ng_estimation")
        self.component_stepsize = module("component_stepsize")
        self.component_update = module("component_update")
        self.weight_stepsize = module("weight_stepsize")
        self.weight_update = module("weight_update")
        self.adaptation = module("component_adaptation")

    @staticmethod
    def _seeds(state, hyper):
        tf = tensorflow()
        fold = tf.random.experimental.stateless_fold_in
        base = fold(hyper["seed"], state["iteration"])
        return fold(base, 0), fold(base, 1)

    def propose(self, state, hyper):
        """New points to evaluate: ``(state, x, component)``."""
        with tensorflow().name_scope("propose"):
            return self.sampler.propose(state, hyper, self._seeds(state, hyper)[0])

    def finish(self, state, hyper, x, component, log_density, grad):
        """Everything after the target evaluation; returns ``(state, record)``."""
        tf = tensorflow()
        # one name scope per module: profiles (tf.profiler) then attribute time to modules
        with tf.name_scope("sample_selection"):
            state, batch = self.sampler.finish(state, hyper, x, component, log_density, grad)
        with tf.name_scope("ng_estimation"):
            state, estimates = self.estimator.estimate_and_update(state, hyper, batch)
        with tf.name_scope("component_stepsize"):
            state, stepsizes = self.component_stepsize.step(state, hyper, estimates)
        with tf.name_scope("component_update"):
            state, _ = self.component_update.update(state, hyper, estimates, stepsizes)
        with tf.name_scope("weight_stepsize"):
            state, weight_step = self.weight_stepsize.step(state, hyper, estimates)
        with tf.name_scope("weight_update"):
            state, _ = self.weight_update.update(state, hyper, estimates, weight_step)
        state = dict(state)
        state["iteration"] = state["iteration"] + 1

        def reset(state, slot_mask):
            state = self.component_stepsize.reset(state, hyper, slot_mask)
            return self.component_update.reset(state, hyper, slot_mask)

        with tf.name_scope("component_adaptation"):
            state = self.adaptation.adapt(state, hyper, estimates,
                                          self._seeds(state, hyper)[1], reset)
        state = dict(state)
        record = {
            "elbo": estimates["elbo"],
            "n_components": tf.reduce_sum(tf.cast(state["active"], tf.int32)),
            "n_evaluations": state["n_evaluations"],
            "n_valid": tf.reduce_sum(tf.cast(batch["valid"], tf.int32)),
            "n_samples": tf.shape(x)[0],
        }
        return state, record


# ----------------------------------------------------------- compiled code
def _spec_like(value):
    tf = tensorflow()
    value = tf.convert_to_tensor(value)
    return tf.TensorSpec([None] * value.shape.rank, value.dtype)


def _compiled(kind, design, diagonal, dtype_name, target, state, hyper, params,
              reuse=False):
    key = ("vi", kind, design, diagonal, reuse, dtype_name, parameter_signature(params),
           target_key(target) if target is not None else None)
    return COMPILED.get(key, lambda: _build(kind, design, diagonal, dtype_name, target, state,
                                            hyper, params, reuse), keep=target)


def _build(kind, design, diagonal, dtype_name, target, state, hyper, params, reuse):
    """A new compiled function ``kind`` (see :func:`_compiled`)."""
    tf = tensorflow()
    iteration = Iteration(design, diagonal, reuse) if design is not None else None
    state_spec = {k: _spec_like(v) for k, v in state.items()}
    hyper_spec = {k: _spec_like(v) for k, v in hyper.items()}
    dtype = tf_dtype(dtype_name)
    # zero-order estimates need no target gradient (no autodiff through the target)
    needs_grad = design == "switched" or (design is not None and design.ng_estimation != "more")
    if kind == "chunk":
        params_spec = tuple(_spec_like(p) for p in params)

        @tf.function(autograph=False, input_signature=[state_spec, hyper_spec, params_spec,
                                      tf.TensorSpec([], tf.int32)])
        def function(state, hyper, params, n_iterations):
            records = {
                "elbo": tf.TensorArray(dtype, size=0, dynamic_size=True),
                "n_components": tf.TensorArray(tf.int32, size=0, dynamic_size=True),
                "n_evaluations": tf.TensorArray(tf.int64, size=0, dynamic_size=True),
                "n_valid": tf.TensorArray(tf.int32, size=0, dynamic_size=True),
                "n_samples": tf.TensorArray(tf.int32, size=0, dynamic_size=True),
            }

            def cond(i, state, records, ok):
                return (i < n_iterations) & ok

            def body(i, state, records, ok):
                state, x, component = iteration.propose(state, hyper)
                with tf.name_scope("target"):
                    if needs_grad:
                        value, grad = target_values_and_grads(target, x, params)
                    else:
                        value = target_log_density(target, x, params)
                        grad = tf.zeros_like(x)
                state, record = iteration.finish(state, hyper, x, component,
                                                 tf.cast(value, dtype), tf.cast(grad, dtype))
                records = {k: records[k].write(i, record[k]) for k in records}
                return i + 1, state, records, record["n_valid"] > 0

            _, state, records, _ = tf.while_loop(
                cond, body, (tf.constant(0), state, records, tf.constant(True)))
            return state, {k: v.stack() for k, v in records.items()}

    elif kind == "propose":
        @tf.function(autograph=False, input_signature=[state_spec, hyper_spec])
        def function(state, hyper):
            return iteration.propose(state, hyper)

    elif kind == "finish":
        @tf.function(autograph=False,
                     input_signature=[state_spec, hyper_spec, tf.TensorSpec([None, None], dtype),
                                      tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([None], dtype),
                                      tf.TensorSpec([None, None], dtype)])
        def function(state, hyper, x, component, log_density, grad):
            return iteration.finish(state, hyper, x, component, log_density, grad)

    elif kind == "target":
        params_spec = tuple(_spec_like(p) for p in params)

        @tf.function(autograph=False,
                     input_signature=[tf.TensorSpec([None, None], dtype), params_spec])
        def function(x, params):
            return tf.cast(target_log_density(target, x, params), dtype)

    return function


class TargetEvaluator:
    """``log p~`` of rows in numpy (compiled for TensorFlow targets)."""

    def __init__(self, target, dtype_name):
        self.target = target
        self.dtype_name = dtype_name
        self.dtype = np.dtype(dtype_name)

    def __call__(self, x):
        x = np.asarray(x, self.dtype)
        if not getattr(self.target, "uses_tensorflow", True):
            values = numpy_values_and_grads(self.target, x, self.dtype, needs_grad=False)[0]
            return values.astype(np.float64)
        tf = tensorflow()
        params = target_parameters(self.target, self.dtype)
        function = _compiled("target", None, None, self.dtype_name, self.target, {}, {},
                             params)
        with tf.device(device_name()):
            return function(tf.constant(x), tuple(tf.constant(p) for p in params)
                            ).numpy().astype(np.float64)


# --------------------------------------------------------------- the host
class VariationalRun:
    """The state of one fit and the loop over iterations (numpy in, numpy out).

    Lives only during ``fit``. Holds the state as tensors between compiled
    calls; grows the component capacity (by :func:`capacity_headroom`, up to
    ``max_components``) and
    the sample database between calls when an addition could find no free slot.

    Parameters
    ----------
    target : Target
    design : Design
    diagonal : bool
    dtype_name : {"float64", "float32"}
    hyper : dict
        Hyperparameters (see ``hyper_tensors``).
    means : ndarray of shape (K, D)
    covariances : ndarray of shape (K, D, D)
    seed : ndarray of two int32
    """

    def __init__(self, target, design, diagonal, dtype_name, hyper, means, covariances,
                 seed):
        self.target = target
        self.design = design
        self.diagonal = diagonal
        self.dtype_name = dtype_name
        self.dtype = np.dtype(dtype_name)
        self.hyper = dict(HYPER_DEFAULTS)
        self.hyper.update(hyper)
        self.hyper.update(option_codes(design))
        self.hyper["seed"] = np.asarray(seed, np.int32)
        self.compiled_design = "switched" if _SWITCHED[0] else design
        self.max_components = int(hyper["max_components"])
        self.adaptive = design.component_adaptation == "adaptive"
        self.numpy_target = not getattr(target, "uses_tensorflow", True)
        self.ratio_reused = float(hyper.get("ratio_reused", 0.0))
        self.reuse = self.ratio_reused > 0
        self.hyper["n_reused_per_component"] = int(
            np.floor(self.ratio_reused * int(hyper["n_samples_per_component"])))
        self.hyper.pop("ratio_reused", None)
        n_components = means.shape[0]
        capacity = n_components + 1 if self.adaptive else n_components
        capacity = max(n_components, min(capacity, self.max_components))
        self.state = self._initial_state(means, covariances, capacity)
        self.params = target_parameters(target, self.dtype)
        check_target(target, check_rows(means, covariances, seed), dtype_name,
                     design.ng_estimation != "more", self.params)
        self.device = device_name()
        self._to_tensors()

    # ------------------------------------------------------------------ state
    def _history_length(self):
        if self.compiled_design == "switched":  # room for every option's history
            return max(option.history_length(self.hyper["del_iters"])
                       for option in MODULE_OPTIONS["component_adaptation"].values())
        return MODULE_OPTIONS["component_adaptation"][
            self.design.component_adaptation].history_length(self.hyper["del_iters"])

    def _generator_blocks(self):
        return MODULE_OPTIONS["sample_selection"][
            self.design.sample_selection].generator_blocks(self.ratio_reused)

    def _database_capacity(self, capacity):
        per_iteration = int(self.hyper["n_samples_per_component"]) * capacity
        return (int(np.ceil(self.ratio_reused)) + 2) * per_iteration

    def _generators(self, capacity, n_features):
        rows = self._generator_blocks() * capacity
        return {"gen_means": np.zeros((rows, n_features), self.dtype),
                "gen_prec_chol": np.tile(np.eye(n_features, dtype=self.dtype), (rows, 1, 1))}

    def _initial_state(self, means, covariances, capacity):
        dtype = self.dtype
        n_features = means.shape[1]
        state = mixture.initial_mixture(means, covariances, capacity, dtype)
        state.update(database.initial_database(self._database_capacity(capacity),
                                               n_features, dtype))
        state.update(self._per_component_defaults(capacity))
        state.update(self._generators(capacity, n_features))
        state.update(database.initial_reservoir(RESERVOIR_SIZE, n_features, dtype))
        state.update({
            "weight_stepsize": dtype.type(self.hyper["weight_stepsize"]),
            "last_elbo": dtype.type(np.nan),
            "n_evaluations": np.int64(0),
            "iteration": np.int32(0),
            "n_add_calls": np.int32(0),
        })
        return state

    def _per_component_defaults(self, capacity):
        dtype = self.dtype
        length = self._history_length()
        return {
            "component_stepsize": np.full(capacity, self.hyper["component_stepsize"], dtype),
            "last_reward": np.full(capacity, np.nan, dtype),
            "log_eta": np.full(capacity, np.nan, dtype),
            "more_log_ridge": np.full(capacity, np.log(self.hyper["more_ridge"]), dtype),
            "reward_history": np.full((capacity, length), np.nan, dtype),
            "weight_history": np.full((capacity, length), np.nan, dtype),
        }

    def _to_tensors(self):
        tf = tensorflow()
        with tf.device(self.device):
            self.state_t = {k: tf.constant(v) for k, v in self.state.items()}
            hyper = {}
            for k, v in self.hyper.items():
                if k in INT_HYPER or k == "seed":
                    hyper[k] = tf.constant(np.asarray(v, np.int32))
                else:
                    hyper[k] = tf.constant(np.asarray(v, self.dtype))
            self.hyper_t = hyper
            self.params_t = tuple(tf.constant(p) for p in self.params)

    def _to_numpy(self):
        self.state = {k: v.numpy() for k, v in self.state_t.items()}

    @property
    def capacity(self):
        return int(self.state_t["active"].shape[0])

    def n_active(self):
        return int(np.sum(self.state_t["active"].numpy()))

    def _grow(self, capacity):
        self._to_numpy()
        state = self.state
        grown = mixture.pad_mixture({k: state[k] for k in mixture.MIXTURE_KEYS}, capacity)
        extra = self._per_component_defaults(capacity - self.capacity)
        for key, value in extra.items():
            grown[key] = np.concatenate([state[key], value])
        grown.update(database.resize_database(
            {k: state[k] for k in database.DATABASE_KEYS}, self._database_capacity(capacity)))
        # generator slots are numbered per capacity: start the table afresh (the
        # resized database marks its rows as not re-usable)
        grown.update(self._generators(capacity, state["means"].shape[1]))
        for key in state:
            if key not in grown:
                grown[key] = state[key]
        self.state = grown
        self._to_tensors()

    def _chunk_length(self, remaining):
        """Iterations until an addition could lack a free slot (growing if needed)."""
        if not self.adaptive:
            return remaining
        n_active = self.n_active()
        if self.capacity - n_active < 2 and self.capacity < self.max_components:
            self._grow(min(self.max_components, n_active + capacity_headroom(n_active)))
        free = self.capacity - n_active
        if self.capacity >= self.max_components or free <= 0:
            return remaining
        every = int(self.hyper["add_iters"])
        done = int(self.state_t["iteration"].numpy())
        return max(1, min(remaining, (done // every + free + 1) * every - 1 - done))

    # ------------------------------------------------------------- iterating
    def run(self, n_iterations, chunk=None):
        """Run up to ``n_iterations``; yield the records of each compiled chunk.

        ``chunk`` caps the iterations per compiled call (so the caller can look
        at the records, e.g. for a stopping rule or a progress line, without a
        retrace). The capacity grows only at the boundaries that
        :meth:`_chunk_length` plans, whatever ``chunk`` is, so the result does
        not depend on ``chunk``. Stops early (after yielding) when an iteration
        had no sample with a finite target value.
        """
        remaining = int(n_iterations)
        planned = 0  # iterations left until the next planned boundary
        while remaining > 0:
            if planned == 0:
                planned = self._chunk_length(remaining)
            length = planned if chunk is None else min(planned, chunk)
            records = self._run_numpy(length) if self.numpy_target else self._run_tf(length)
            yield records
            n_done = len(records["elbo"])
            remaining -= n_done
            planned -= n_done
            if n_done < length or (n_done and records["n_valid"][-1] == 0):
                return

    def _run_tf(self, length):
        tf = tensorflow()
        function = _compiled("chunk", self.compiled_design, self.diagonal, self.dtype_name,
                             self.target, self.state_t, self.hyper_t, self.params_t,
                             self.reuse)
        with tf.device(self.device):
            self.state_t, records = function(self.state_t, self.hyper_t, self.params_t,
                                             tf.constant(int(length), tf.int32))
        return {k: v.numpy() for k, v in records.items()}

    def _run_numpy(self, length):
        tf = tensorflow()
        propose = _compiled("propose", self.compiled_design, self.diagonal, self.dtype_name, None,
                            self.state_t, self.hyper_t, (), self.reuse)
        finish = _compiled("finish", self.compiled_design, self.diagonal, self.dtype_name, None,
                           self.state_t, self.hyper_t, (), self.reuse)
        collected = collections.defaultdict(list)
        for _ in range(length):
            with tf.device(self.device):
                self.state_t, x, component = propose(self.state_t, self.hyper_t)
            value, grad = numpy_values_and_grads(self.target, x.numpy(), self.dtype,
                                                 self.design.ng_estimation != "more")
            with tf.device(self.device):
                self.state_t, record = finish(self.state_t, self.hyper_t, x, component,
                                              tf.constant(value), tf.constant(grad))
            for key, v in record.items():
                collected[key].append(v.numpy())
            if collected["n_valid"][-1] == 0:
                break
        return {k: np.asarray(v) for k, v in collected.items()}

    # ---------------------------------------------------------------- result
    def mixture(self):
        """Active components as numpy: ``(weights, means, precisions)``."""
        active = self.state_t["active"].numpy()
        log_weights = self.state_t["log_weights"].numpy().astype(np.float64)[active]
        weights = np.exp(log_weights - np.logaddexp.reduce(log_weights))
        means = self.state_t["means"].numpy().astype(np.float64)[active]
        chol = self.state_t["prec_chol"].numpy().astype(np.float64)[active]
        precisions = chol @ np.transpose(chol, (0, 2, 1))
        return weights, means, precisions

    def precision_factors(self):
        """Lower Cholesky factors ``P_k`` (``Lambda_k = P_k P_k^T``) of the active
        components, float64 numpy."""
        active = self.state_t["active"].numpy()
        return self.state_t["prec_chol"].numpy().astype(np.float64)[active]

    def n_evaluations(self):
        return int(self.state_t["n_evaluations"].numpy())
