"""Compiled NG-VI functions: one builder per kind, glued to the target, cached.

Kinds:

``"chunk"``
    A ``tf.while_loop`` over up to ``n_iterations`` iterations, the TensorFlow
    target evaluated inside (one host round trip per chunk).
``"propose"``, ``"finish"``
    The two halves of an iteration around the evaluation of a numpy target.
``"target"``
    ``log p~`` of rows (a TensorFlow target's density, compiled alone).

A compiled function is cached in :data:`~skgmmvi._tf.compile_cache.COMPILED`
under ``("vi", kind, design, diagonal, reuse, dtype, parameter signature,
target key)`` and its input signature leaves every dimension dynamic: new D, new
capacities, new sample counts do not retrace. The target's part of the key
(:func:`target_signature`) is computed once per fit by the caller.
"""

import numpy as np

from .._runtime import device_name, tensorflow, tf_dtype
from ..compile_cache import COMPILED
from .design import needs_gradient
from .iteration import Iteration
from .target_adapter import (numpy_values_and_grads, parameter_signature, target_key,
                             target_log_density, target_parameters,
                             target_values_and_grads)

#: Per-iteration records a chunk returns, with their dtype (None: the state's).
RECORD_DTYPES = {"elbo": None, "n_components": "int32", "n_evaluations": "int64",
                 "n_valid": "int32", "n_samples": "int32"}


def spec_like(value):
    """A ``tf.TensorSpec`` of ``value``'s rank and dtype, every dimension dynamic."""
    tf = tensorflow()
    value = tf.convert_to_tensor(value)
    return tf.TensorSpec([None] * value.shape.rank, value.dtype)


def target_signature(target, params):
    """The target's part of a compiled function's key: the signature of its
    parameter arrays and what identifies its graph (None without a target)."""
    return (parameter_signature(params),
            target_key(target) if target is not None else None)


def compiled(kind, design, diagonal, dtype_name, target, signature, state, hyper, params,
             reuse=False):
    """The cached compiled function ``kind`` (built on first use).

    Parameters
    ----------
    kind : {"chunk", "propose", "finish", "target"}
    design : Design, "switched" or None
        None for ``"target"``.
    diagonal : bool or None
    dtype_name : {"float64", "float32"}
    target : Target or None
        None for ``"propose"`` and ``"finish"`` (numpy targets).
    signature : tuple
        :func:`target_signature` of ``target`` and ``params``.
    state, hyper : dict
        Examples of the state and hyperparameters (their ranks and dtypes).
    params : tuple
        The target's parameter arrays (:func:`target_parameters`).
    reuse : bool
        Re-use database samples.
    """
    key = ("vi", kind, design, diagonal, reuse, dtype_name) + tuple(signature)
    builder = BUILDERS[kind]
    return COMPILED.get(key, lambda: builder(design, diagonal, reuse, dtype_name, target,
                                             state, hyper, params), keep=target)


def _specs(state, hyper):
    return ({k: spec_like(v) for k, v in state.items()},
            {k: spec_like(v) for k, v in hyper.items()})


def _evaluate(target, x, params, needs_grad):
    tf = tensorflow()
    with tf.name_scope("target"):
        if needs_grad:
            return target_values_and_grads(target, x, params)
        return target_log_density(target, x, params), tf.zeros_like(x)


def _build_chunk(design, diagonal, reuse, dtype_name, target, state, hyper, params):
    """Up to ``n_iterations`` iterations with the target evaluated in the loop;
    stops after an iteration without any valid sample."""
    tf = tensorflow()
    iteration = Iteration(design, diagonal, reuse)
    state_spec, hyper_spec = _specs(state, hyper)
    params_spec = tuple(spec_like(p) for p in params)
    dtype = tf_dtype(dtype_name)
    needs_grad = needs_gradient(design)  # zero-order estimates: no autodiff

    @tf.function(autograph=False, input_signature=[state_spec, hyper_spec, params_spec,
                                                   tf.TensorSpec([], tf.int32)])
    def function(state, hyper, params, n_iterations):
        records = {key: tf.TensorArray(tf.as_dtype(kind) if kind else dtype, size=0,
                                       dynamic_size=True)
                   for key, kind in RECORD_DTYPES.items()}

        def cond(i, state, records, ok):
            return (i < n_iterations) & ok

        def body(i, state, records, ok):
            state, x, component = iteration.propose(state, hyper)
            value, grad = _evaluate(target, x, params, needs_grad)
            state, record = iteration.finish(state, hyper, x, component,
                                             tf.cast(value, dtype), tf.cast(grad, dtype))
            records = {k: records[k].write(i, record[k]) for k in records}
            return i + 1, state, records, record["n_valid"] > 0

        _, state, records, _ = tf.while_loop(
            cond, body, (tf.constant(0), state, records, tf.constant(True)))
        return state, {k: v.stack() for k, v in records.items()}

    return function


def _build_propose(design, diagonal, reuse, dtype_name, target, state, hyper, params):
    """The first half of an iteration: ``(state, x, component)``."""
    tf = tensorflow()
    iteration = Iteration(design, diagonal, reuse)
    state_spec, hyper_spec = _specs(state, hyper)

    @tf.function(autograph=False, input_signature=[state_spec, hyper_spec])
    def function(state, hyper):
        return iteration.propose(state, hyper)

    return function


def _build_finish(design, diagonal, reuse, dtype_name, target, state, hyper, params):
    """The second half of an iteration, from the target's values and gradients."""
    tf = tensorflow()
    iteration = Iteration(design, diagonal, reuse)
    state_spec, hyper_spec = _specs(state, hyper)
    dtype = tf_dtype(dtype_name)

    @tf.function(autograph=False,
                 input_signature=[state_spec, hyper_spec, tf.TensorSpec([None, None], dtype),
                                  tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], dtype),
                                  tf.TensorSpec([None, None], dtype)])
    def function(state, hyper, x, component, log_density, grad):
        return iteration.finish(state, hyper, x, component, log_density, grad)

    return function


def _build_target(design, diagonal, reuse, dtype_name, target, state, hyper, params):
    """``log p~`` of rows of a TensorFlow target, cast to ``dtype_name``."""
    tf = tensorflow()
    dtype = tf_dtype(dtype_name)
    params_spec = tuple(spec_like(p) for p in params)

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None, None], dtype), params_spec])
    def function(x, params):
        return tf.cast(target_log_density(target, x, params), dtype)

    return function


#: Kind -> builder of a new compiled function (see :func:`compiled`).
BUILDERS = {"chunk": _build_chunk, "propose": _build_propose, "finish": _build_finish,
            "target": _build_target}


#: Most rows :class:`TargetEvaluator` passes to the target at once. The checks
#: after ``fit`` and ``diagnose()`` draw 10000 samples of q and more; a target
#: whose memory grows with its rows (a likelihood over many data rows, say) then
#: needs no more than for a fit's iteration of 8 components.
EVALUATION_CHUNK_ROWS = 2000


class TargetEvaluator:
    """``log p~`` of rows in numpy (compiled for TensorFlow targets), evaluated
    ``EVALUATION_CHUNK_ROWS`` rows at a time."""

    def __init__(self, target, dtype_name):
        self.target = target
        self.dtype_name = dtype_name
        self.dtype = np.dtype(dtype_name)
        self.uses_tensorflow = getattr(target, "uses_tensorflow", True)
        if self.uses_tensorflow:
            self.params = target_parameters(target, self.dtype)
            self.signature = target_signature(target, self.params)

    def __call__(self, x):
        x = np.asarray(x, self.dtype)
        if x.shape[0] <= EVALUATION_CHUNK_ROWS:
            return self._evaluate(x)
        return np.concatenate([self._evaluate(x[start:start + EVALUATION_CHUNK_ROWS])
                               for start in range(0, x.shape[0], EVALUATION_CHUNK_ROWS)])

    def _evaluate(self, x):
        if not self.uses_tensorflow:
            values = numpy_values_and_grads(self.target, x, self.dtype, needs_grad=False)[0]
            return values.astype(np.float64)
        tf = tensorflow()
        function = compiled("target", None, None, self.dtype_name, self.target,
                            self.signature, {}, {}, self.params)
        with tf.device(device_name()):
            return function(tf.constant(x), tuple(tf.constant(p) for p in self.params)
                            ).numpy().astype(np.float64)
