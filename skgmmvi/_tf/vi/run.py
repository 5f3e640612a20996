"""The host loop of one VI fit: :class:`VariationalRun` (numpy in, numpy out).

It keeps the state as tensors between compiled calls (:mod:`.compile`), runs the
iterations in chunks, and grows the component capacity and the sample database
between chunks when an addition could find no free slot.
"""

import collections

import numpy as np

from .._runtime import device_name, tensorflow
from ..time_slices import SliceClock
from . import mixture
from .compile import compiled, target_signature
from .design import (HYPER_DEFAULTS, INT_HYPER, compiled_design, needs_gradient,
                     option_codes, state_options)
from .option import StateSetup
from .target_adapter import check_rows, check_target, numpy_values_and_grads, target_parameters


def capacity_headroom(n_active):
    """Free slots the host adds when the mixture runs out of room.

    The compiled iteration works on every slot, active or not (its cost grows
    with the capacity times the number of samples), and growing costs no retrace
    (every dimension of the compiled signature is dynamic), only one copy of the
    state. So the capacity grows in small steps, a quarter of the active
    components and at least four slots, instead of doubling.
    """
    return max(4, n_active // 4)


class VariationalRun:
    """The state of one fit and the loop over iterations (numpy in, numpy out).

    Lives only during ``fit``. Holds the state as tensors between compiled
    calls; grows the component capacity (by :func:`capacity_headroom`, up to
    ``max_components``) between calls when an addition could find no free slot,
    each option growing its own state (the sample selection its database).

    Parameters
    ----------
    target : Target
    design : Design
    diagonal : bool
    dtype_name : {"float64", "float32"}
    hyper : dict
        Hyperparameters (the estimator's ``_hyperparameters``; the options'
        ``hyper_defaults`` fill in what it leaves out).
    means : ndarray of shape (K, D)
    covariances : ndarray of shape (K, D, D)
    seed : ndarray of two int32
    weights : ndarray of shape (K,), default=None
        Initial weights; None: equal.
    """

    def __init__(self, target, design, diagonal, dtype_name, hyper, means, covariances,
                 seed, weights=None):
        self.target = target
        self._clock = SliceClock()
        self.design = design
        self.diagonal = diagonal
        self.dtype_name = dtype_name
        self.dtype = np.dtype(dtype_name)
        self.hyper = dict(HYPER_DEFAULTS)
        self.hyper.update(hyper)
        self.hyper.update(option_codes(design))
        self.hyper["seed"] = np.asarray(seed, np.int32)
        self.compiled_design = compiled_design(design)
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
        self.state = self._initial_state(means, covariances, capacity, weights)
        self.params = target_parameters(target, self.dtype)
        self.signature = target_signature(None if self.numpy_target else target, self.params)
        check_target(target, check_rows(means, covariances, seed), dtype_name,
                     needs_gradient(design), self.params)
        self.device = device_name()
        self._to_tensors()

    # ------------------------------------------------------------------ state
    def _state_setup(self, n_features):
        return StateSetup(self.hyper, self.dtype, n_features, self.ratio_reused)

    def _initial_state(self, means, covariances, capacity, weights):
        """The mixture, the state of every option that may run, and the counters."""
        state = mixture.initial_mixture(means, covariances, capacity, self.dtype, weights)
        setup = self._state_setup(means.shape[1])
        for option in state_options(self.compiled_design):
            state.update(option.initial_state(setup, capacity))
        state.update({"n_evaluations": np.int64(0), "iteration": np.int32(0)})
        return state

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
        """Enlarge the state to ``capacity`` component slots (each option grows its
        own state; keys no option returns, as the counters, are kept)."""
        self._to_numpy()
        state = self.state
        grown = mixture.pad_mixture({k: state[k] for k in mixture.MIXTURE_KEYS}, capacity)
        setup = self._state_setup(state["means"].shape[1])
        for option in state_options(self.compiled_design):
            grown.update(option.grown_state(state, setup, capacity))
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
        """``length`` iterations as compiled calls of about
        :data:`skgmmvi._tf.time_slices.SLICE_SECONDS` each, so that Python, and Ctrl-C, get
        control back that often (a late iteration of a 103-dimensional posterior
        with 50 components takes seconds); each call continues from the exact
        state the one before returned, so the numbers are those of one call.
        Returns the calls' records, concatenated."""
        tf = tensorflow()
        function = compiled("chunk", self.compiled_design, self.diagonal, self.dtype_name,
                            self.target, self.signature, self.state_t, self.hyper_t,
                            self.params_t, self.reuse)
        pieces, done = [], 0
        while done < length:
            n_steps = self._clock.size(length - done)
            self._clock.start()
            with tf.device(self.device):
                self.state_t, records = function(self.state_t, self.hyper_t, self.params_t,
                                                 tf.constant(int(n_steps), tf.int32))
            pieces.append({k: v.numpy() for k, v in records.items()})
            n_done = len(pieces[-1]["elbo"])
            self._clock.stop(n_done)
            done += n_done
            if n_done < n_steps:  # an iteration without a valid sample ended the call
                break
        return {k: np.concatenate([piece[k] for piece in pieces]) for k in pieces[0]}

    def _run_numpy(self, length):
        tf = tensorflow()
        propose = compiled("propose", self.compiled_design, self.diagonal, self.dtype_name,
                           None, self.signature, self.state_t, self.hyper_t, (), self.reuse)
        finish = compiled("finish", self.compiled_design, self.diagonal, self.dtype_name,
                          None, self.signature, self.state_t, self.hyper_t, (), self.reuse)
        collected = collections.defaultdict(list)
        for _ in range(length):
            with tf.device(self.device):
                self.state_t, x, component = propose(self.state_t, self.hyper_t)
            value, grad = numpy_values_and_grads(self.target, x.numpy(), self.dtype,
                                                 needs_gradient(self.design))
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
