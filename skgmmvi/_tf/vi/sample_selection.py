"""Sample selection: which samples an iteration uses, and who generated them.

Interface of every option (``component``, ``mixture``):

``propose(state, hyper, seed) -> (state, x_new, component_of_x_new)``
    New points to evaluate on the target (before the evaluation).
``finish(state, hyper, x_new, component, log_density, grad) -> (state, batch)``
    Stores the evaluated points in the database, counts target evaluations and
    returns the batch the estimators use: ``x``, ``log_density``, ``grad``,
    ``valid`` (finite target value and gradient) and the background density of
    the importance weights, either as ``log_background`` (N,) or as
    ``background_log_weights`` (K_max,), log-weights over the current
    components of the mixture that generated ``x``.
``generator_blocks(ratio_reused)`` tells the host how many iterations of
generating Gaussians the option keeps (state keys ``gen_means`` and
``gen_prec_chol``, ``blocks * K_max`` rows).
"""

import math
from typing import Protocol

import numpy as np

from .._runtime import tensorflow
from . import database, gaussians, mixture, weighted_sums
from .option import Option, OptionInterface

#: Iterations of generating Gaussians kept per unit of ``ratio_reused``: samples
#: older than that are not re-used (bounds the generator table and the cost of
#: the background density).
GENERATOR_BLOCKS_PER_RATIO = 10



def draw_per_component(state, counts, seed):
    """``counts[k]`` fresh samples of every component k, as one batched draw.

    Returns ``(x, component)``: the samples as rows, component by component, and
    the slot that drew each row.
    """
    tf = tensorflow()
    capacity = tf.shape(state["means"])[0]
    n_features = tf.shape(state["means"])[1]
    n_most = tf.reduce_max(counts)
    noise = tf.random.stateless_normal(
        tf.stack([capacity, n_most, n_features]), seed, dtype=state["means"].dtype)
    draws = gaussians.sample(state["means"], state["prec_chol"], noise)
    keep = tf.range(n_most)[None, :] < counts[:, None]
    component = tf.boolean_mask(
        tf.broadcast_to(tf.range(capacity)[:, None], tf.shape(keep)), keep)
    return tf.boolean_mask(draws, keep), component


class ComponentSampleSelection(Option):
    """VIPS-style selection: samples per component, re-using the newest ones.

    Without re-use (``hyper["n_reused_per_component"] == 0``, the SAMTRON
    setting) every active component draws ``n_samples_per_component`` new
    samples and the background is the current mixture with weights
    proportional to those counts.

    With re-use (``reuse=True``) the newest ``n_reused_per_component * K``
    database samples that were drawn in the last ``blocks`` iterations
    (``10 * ceil(ratio_reused) + 1``) are
    re-used: component k draws ``max(1, n - floor(ESS_k))`` new ones, ``ESS_k``
    being the effective sample size of the re-used samples under component k
    (self-normalised weights ``q(x|k) / q_bg(x)``). The background of re-used
    and new samples is the mixture of the Gaussians that drew them (kept in a
    generator table, one block of ``K_max`` per iteration), weighted by how many
    of the samples each drew.

    Parameters
    ----------
    reuse : bool
    """

    name = "component"
    code = "M"
    #: Most rows of the reservoir of candidate locations for new components (the
    #: reference draws its candidates from 100000 random database samples).
    reservoir_size = 100000
    #: ... and most bytes of its sample rows: the compiled iteration copies the
    #: whole reservoir when it writes the rows it accepts, which at D = 100 with
    #: 100000 rows (80 MB) was a fifth of an iteration. 32 MiB keeps 100000 rows
    #: up to D = 41 (every problem of the paper) and bounds the copy above that.
    reservoir_bytes = 32 * 2**20

    def __init__(self, reuse=False):
        self.reuse = reuse

    @classmethod
    def from_structure(cls, diagonal, reuse):
        return cls(reuse)

    @staticmethod
    def generator_blocks(ratio_reused):
        return GENERATOR_BLOCKS_PER_RATIO * int(math.ceil(ratio_reused)) + 1 \
            if ratio_reused > 0 else 0

    # ------------------------------------------------------------- state
    @staticmethod
    def database_capacity(setup, capacity):
        """Rows of the sample database for ``capacity`` component slots."""
        per_iteration = int(setup.hyper["n_samples_per_component"]) * capacity
        return (int(np.ceil(setup.ratio_reused)) + 2) * per_iteration

    @classmethod
    def generators(cls, setup, capacity):
        """An empty generator table for ``capacity`` slots (identity factors)."""
        rows = cls.generator_blocks(setup.ratio_reused) * capacity
        return {"gen_means": np.zeros((rows, setup.n_features), setup.dtype),
                "gen_prec_chol": np.tile(np.eye(setup.n_features, dtype=setup.dtype),
                                         (rows, 1, 1))}

    @classmethod
    def initial_state(cls, setup, capacity):
        state = database.initial_database(cls.database_capacity(setup, capacity),
                                          setup.n_features, setup.dtype)
        state.update(cls.generators(setup, capacity))
        state.update(database.initial_reservoir(cls.reservoir_rows(setup), setup.n_features,
                                                setup.dtype))
        return state

    @classmethod
    def reservoir_rows(cls, setup):
        """Rows of the reservoir: ``reservoir_size``, or fewer where that many rows
        of ``n_features`` values would exceed ``reservoir_bytes``."""
        row_bytes = setup.n_features * np.dtype(setup.dtype).itemsize
        return int(max(1, min(cls.reservoir_size, cls.reservoir_bytes // row_bytes)))

    @classmethod
    def grown_state(cls, state, setup, capacity):
        """The database resized (its rows kept but marked not re-usable), the
        generator table afresh (generator slots are numbered per capacity) and the
        reservoir as it is."""
        grown = database.resize_database({k: state[k] for k in database.DATABASE_KEYS},
                                         cls.database_capacity(setup, capacity))
        grown.update(cls.generators(setup, capacity))
        grown.update({k: state[k] for k in database.RESERVOIR_KEYS})  # kept as it is
        return grown

    # ------------------------------------------------------------ re-use
    def _window(self, state, n_rows):
        """Database positions of the newest ``n_rows`` re-usable rows."""
        tf = tensorflow()
        blocks = tf.shape(state["gen_means"])[0] // tf.shape(state["means"])[0]
        return database.newest_rows(state, n_rows, state["iteration"] - blocks + 1)

    @staticmethod
    def _log_background(state, x, generator, valid):
        """Log-density of the mixture of the generators of ``x`` (weighted by counts)."""
        tf = tensorflow()
        n_generators = tf.shape(state["gen_means"])[0]
        counts = tf.math.unsorted_segment_sum(tf.cast(valid, x.dtype), generator,
                                              n_generators)
        total = tf.reduce_sum(counts)
        used = counts > 0
        log_weights = tf.where(used, tf.math.log(counts) - tf.math.log(total),
                               tf.constant(-math.inf, x.dtype))
        # only the generators that drew some of the rows are evaluated
        # (a running log-sum-exp over blocks of them: no (generators, N) matrix)
        index = tf.where(used)[:, 0]
        return gaussians.log_mixture_density(
            x, tf.gather(log_weights, index), tf.gather(state["gen_means"], index),
            tf.gather(state["gen_prec_chol"], index), mixture.mixture_center(state))

    def _reusable_rows(self, state, hyper):
        """The database rows an iteration would re-use (valid ones only) and the
        log-density of the mixture of their generators: ``(x, log_background)``."""
        tf = tensorflow()
        n_active = tf.reduce_sum(tf.cast(state["active"], tf.int32))
        rows = self._window(state, hyper["n_reused_per_component"] * n_active)
        valid = tf.math.is_finite(tf.gather(state["db_log_density"], rows))
        rows = tf.boolean_mask(rows, valid)
        x = tf.gather(state["db_x"], rows)
        generator = tf.gather(state["db_generator"], rows)
        return x, self._log_background(state, x, generator,
                                       tf.ones_like(generator, tf.bool))

    def _effective_sample_sizes(self, state, hyper):
        """``ESS_k`` of the re-usable rows under every component (over blocks of rows:
        no (K, N) matrix)."""
        tf = tensorflow()
        x, log_background = self._reusable_rows(state, hyper)
        batch = {"x": x, "log_background": log_background,
                 "valid": tf.ones(tf.shape(x)[:1], tf.bool)}
        ess = weighted_sums.importance_sums(state, batch, None, [])["ess"]
        return tf.where(tf.math.is_finite(ess), ess, tf.zeros_like(ess))

    def _write_generators(self, state):
        tf = tensorflow()
        capacity = tf.shape(state["means"])[0]
        blocks = tf.shape(state["gen_means"])[0] // capacity
        start = (state["iteration"] % blocks) * capacity
        index = (start + tf.range(capacity))[:, None]
        out = dict(state)
        out["gen_means"] = tf.tensor_scatter_nd_update(state["gen_means"], index,
                                                       state["means"])
        out["gen_prec_chol"] = tf.tensor_scatter_nd_update(state["gen_prec_chol"], index,
                                                           state["prec_chol"])
        return out, start

    # --------------------------------------------------------- interface
    def propose(self, state, hyper, seed):
        tf = tensorflow()
        n_desired = hyper["n_samples_per_component"]
        counts = tf.where(state["active"], n_desired, 0)
        if self.reuse:
            ess = tf.cast(tf.floor(self._effective_sample_sizes(state, hyper)), tf.int32)
            counts = tf.where(state["active"], tf.maximum(1, n_desired - ess), 0)
            state, _ = self._write_generators(state)
        return (state,) + draw_per_component(state, counts, seed)

    def finish(self, state, hyper, x_new, component, log_density, grad):
        tf = tensorflow()
        dtype = state["means"].dtype
        capacity = tf.shape(state["means"])[0]
        valid = tf.math.is_finite(log_density) & tf.reduce_all(tf.math.is_finite(grad),
                                                              axis=1)
        log_density = tf.where(valid, log_density, tf.constant(-math.inf, dtype))
        grad = tf.where(valid[:, None], grad, 0)
        n_new = tf.shape(x_new)[0]
        if self.reuse:
            blocks = tf.shape(state["gen_means"])[0] // capacity
            generator = (state["iteration"] % blocks) * capacity + component
        else:
            generator = component
        state = database.add_samples(state, x_new, log_density, grad, generator,
                                     state["iteration"], reusable=self.reuse)
        reservoir_seed = tf.random.experimental.stateless_fold_in(
            tf.random.experimental.stateless_fold_in(hyper["seed"], state["iteration"]), 2)
        state = database.offer_to_reservoir(state, x_new, log_density, reservoir_seed)
        state = dict(state)
        state["n_evaluations"] = state["n_evaluations"] + tf.cast(n_new, tf.int64)
        if self.reuse:
            n_active = tf.reduce_sum(tf.cast(state["active"], tf.int32))
            rows = self._window(state, hyper["n_reused_per_component"] * n_active + n_new)
            x = tf.gather(state["db_x"], rows)
            log_density = tf.gather(state["db_log_density"], rows)
            grad = tf.gather(state["db_grad"], rows)
            valid = tf.math.is_finite(log_density)
            # every drawn row counts for the background, valid or not
            batch = {"log_background": self._log_background(
                state, x, tf.gather(state["db_generator"], rows), tf.ones_like(valid))}
        else:
            x = x_new
            counts = tf.math.unsorted_segment_sum(tf.ones_like(component), component,
                                                  capacity)
            batch = {"background_log_weights": (tf.math.log(tf.cast(counts, dtype))
                                                 - tf.math.log(tf.cast(n_new, dtype)))}
        batch.update({
            "x": x,
            "log_density": tf.where(valid, log_density, 0),
            "grad": tf.where(valid[:, None], grad, 0),
            "valid": valid,
        })
        return state, batch


class MixtureSampleSelection(ComponentSampleSelection):
    """iBayes-GMM-style selection: samples from the whole mixture.

    Every iteration draws ``n_samples_per_component * K`` samples (the same
    budget as ``component``) from q itself: the component of each sample is
    drawn from the weights, so components of low weight get few or no samples
    of their own. Without re-use the background of the importance weights is q
    (``background_log_weights`` = the current log-weights). With re-use the
    newest ``n_reused_per_component * K`` database samples are re-used, only
    ``max(1, n - floor(ESS))`` new ones are drawn, ``ESS`` being the effective
    sample size of the re-used samples under q, and the background is the
    mixture of the generating Gaussians weighted by their sample counts (as for
    ``component``).

    Parameters
    ----------
    reuse : bool
    """

    name = "mixture"
    code = "P"

    def _mixture_ess(self, state, hyper):
        tf = tensorflow()
        x, log_background = self._reusable_rows(state, hyper)
        log_q = mixture.log_density(state, x)
        log_w = log_q - log_background
        log_w = log_w - tf.reduce_logsumexp(log_w)
        ess = 1.0 / tf.reduce_sum(tf.exp(2.0 * log_w))
        return tf.where((tf.shape(x)[0] > 0) & tf.math.is_finite(ess), ess,
                        tf.zeros_like(ess))

    def propose(self, state, hyper, seed):
        tf = tensorflow()
        n_active = tf.reduce_sum(tf.cast(state["active"], tf.int32))
        n_new = hyper["n_samples_per_component"] * n_active
        if self.reuse:
            ess = tf.cast(tf.floor(self._mixture_ess(state, hyper)), tf.int32)
            n_new = tf.maximum(1, n_new - ess)
            state, _ = self._write_generators(state)
        capacity = tf.shape(state["means"])[0]
        seed_choice = tf.random.experimental.stateless_fold_in(seed, 1)
        chosen = tf.random.stateless_categorical(
            mixture.masked_log_weights(state)[None, :], n_new, seed_choice,
            dtype=tf.int32)[0]
        counts = tf.math.bincount(chosen, minlength=capacity, maxlength=capacity)
        return (state,) + draw_per_component(state, counts, seed)

    def finish(self, state, hyper, x_new, component, log_density, grad):
        state, batch = super().finish(state, hyper, x_new, component, log_density, grad)
        if not self.reuse:
            batch = dict(batch)
            batch["background_log_weights"] = mixture.masked_log_weights(state)
        return state, batch


class SampleSelection(OptionInterface, Protocol):
    """Interface of a sample selection option (see the module docstring)."""

    def propose(self, state, hyper, seed):
        """``(state, x_new, component_of_x_new)``: points to evaluate."""

    def finish(self, state, hyper, x_new, component, log_density, grad):
        """``(state, batch)``: the evaluated points stored, the estimators' batch."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (MixtureSampleSelection, ComponentSampleSelection)
