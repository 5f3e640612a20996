"""EM over a ``tf.data.Dataset`` and under ``tf.distribute`` strategies.

One EM iteration is one pass over the dataset: every batch adds its sufficient
statistics (weighted responsibilities times the feature map of
:mod:`skgmmvi._tf.gaussian`, and the log-likelihood) to running sums, and the
M-step follows the pass. Under a strategy every replica computes the
statistics of its share of each batch and the strategy's all-reduce sums them,
so every replica holds the same sums and computes the same M-step.

All iterations run inside one compiled function per (covariance type, element
structure, strategy); the dataset is an argument, so a new dataset of the same
structure reuses it.
"""

import numpy as np

from .._stream import REREAD_HINT
from ._runtime import device_name, quiet_graph_mode_notice, tensorflow
from .batches import unpack_batch, weighted_pairs
from .compile_cache import COMPILED
from .em import FitData
from .em_loop import (Chunk, ChunkSource, IterationContext, MaximumLikelihood,
                      TimeSlicedLoop, em_loop, loop_results)


def _columns(x, center):
    """Rows ``x`` (B, D) centred and transposed over a row of ones: (D + 1, B)."""
    tf = tensorflow()
    xt = tf.transpose(x) - center[:, None]
    return tf.concat([xt, tf.ones([1, tf.shape(x)[0]], x.dtype)], axis=0)


class _Kernels:
    """Compiled passes over a dataset for one covariance type and strategy.

    ``objective`` holds the loop's hooks (see :func:`skgmmvi._tf.em_loop.em_iteration`).
    """

    def __init__(self, covariance_type, strategy, objective=MaximumLikelihood):
        tf = tensorflow()
        self.strategy = strategy
        over_replicas = _over_replicas(strategy)

        def batch_moments(x, w):
            x, w = unpack_batch((x, w), tf.float64)
            return tf.reduce_sum(w), tf.linalg.matvec(x, w, transpose_a=True)

        def batch_gram(x, w, center):
            x, w = unpack_batch((x, w), tf.float64)
            xc = x - center
            return tf.matmul(xc * w[:, None], xc, transpose_a=True)

        @tf.function(reduce_retracing=True)
        def moments(dataset, n_features):
            return _sum_over_dataset(
                dataset, over_replicas, batch_moments,
                (tf.constant(0.0, tf.float64), tf.zeros(tf.reshape(n_features, [1]),
                                                        tf.float64)))

        @tf.function(reduce_retracing=True)
        def gram(dataset, center):
            n_features = tf.shape(center)[0]
            zero = tf.zeros(tf.stack([n_features, n_features]), tf.float64)
            return _sum_over_dataset(dataset, over_replicas,
                                     lambda x, w: batch_gram(x, w, center), zero)

        @tf.function(reduce_retracing=True)
        def em_steps(dataset, center, gram_matrix, total_weight, params, priors,
                     n_steps, tol, reg_covar, previous_lower_bound):
            context = IterationContext(covariance_type, tf.shape(center)[0], center,
                                       gram_matrix, total_weight, reg_covar, objective,
                                       priors)
            source = _dataset_chunks(dataset, over_replicas, strategy is not None)
            return em_loop(source, context, params,
                           n_steps, tol, previous_lower_bound)

        self.moments, self.gram, self.em_steps = moments, gram, em_steps


def _over_replicas(strategy):
    """``over_replicas(fn, *args)``: ``fn`` on every replica, summed (or just ``fn``)."""
    tf = tensorflow()

    def over_replicas(fn, *args):
        if strategy is None:
            return fn(*args)
        per_replica = strategy.run(fn, args=args)
        # One reduction per tensor: collective ops cannot pack mixed shapes.
        return tf.nest.map_structure(
            lambda value: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None),
            per_replica)

    return over_replicas


def _sum_over_dataset(dataset, over_replicas, batch_sums, zeros):
    """The sum of ``batch_sums(x, w)`` over the dataset's batches, from ``zeros``.

    Runs under AutoGraph (a ``for`` over a dataset, distributed or not).
    """
    tf = tensorflow()
    sums = zeros
    for x, w in dataset:
        sums = tf.nest.map_structure(
            lambda a, b: a + b, sums, over_replicas(batch_sums, x, w))
    return sums


def _dataset_chunks(dataset, over_replicas, collective):
    """A :class:`~skgmmvi._tf.em_loop.ChunkSource` over a dataset's batches."""
    tf = tensorflow()

    def sum_over_chunks(statistics, zeros):
        def batch_statistics(x, w):
            x, w = unpack_batch((x, w), tf.float64)
            return statistics(Chunk(lambda center: _columns(x, center), lambda: x, w))

        return _sum_over_dataset(dataset, over_replicas, batch_statistics, zeros)

    return ChunkSource(sum_over_chunks, collective=collective)


def _kernels(covariance_type, strategy, prior_type=None):
    """The compiled passes (EM's, or a variational mixture's with ``prior_type``)."""
    key = ("em_stream", covariance_type, None if strategy is None else id(strategy))
    if prior_type is None:
        return COMPILED.get(key, lambda: _Kernels(covariance_type, strategy),
                            owner=strategy)

    def build():
        from .bayesian import VariationalObjective

        return _Kernels(covariance_type, strategy,
                        VariationalObjective(covariance_type, prior_type))

    return COMPILED.get(key + (prior_type,), build, owner=strategy)


class StreamFitData(TimeSlicedLoop):
    """EM over a dataset (or in-memory rows under a strategy), one fit's state.

    Parameters
    ----------
    dataset : tf.data.Dataset
        Elements: row batches or ``(rows, weights)`` pairs.
    init_rows, init_weight : ndarray
        Rows (and their weights) the initialisation is computed from.
    covariance_type : str
    batch_size : int
        Rows per chunk for the initialisation kernels.
    dtype : {"float64", "float32"}
    strategy : tf.distribute.Strategy or None
    objective : None or skgmmvi._numpy.bayesian.VariationalObjective
        None for EM; a variational mixture's hooks, whose data-dependent prior
        defaults are replaced by the moments of the whole dataset
        (``self.objective``).
    """

    def __init__(self, dataset, init_rows, init_weight, covariance_type, batch_size,
                 dtype, strategy=None, objective=None):
        tf = tensorflow()
        self.covariance_type = covariance_type
        self.strategy = strategy
        # Under a strategy every worker must run the same number of iterations per
        # call (their collective operations pair up): one call, no time slices.
        self.time_sliced = strategy is None
        self.kernels = _kernels(covariance_type, strategy,
                                None if objective is None else objective.priors.prior_type)
        dataset = weighted_pairs(dataset)
        if strategy is not None:
            dataset = strategy.experimental_distribute_dataset(dataset)
        self.dataset = dataset
        with self._scope(), quiet_graph_mode_notice():
            total, first = self.kernels.moments(self.dataset,
                                                tf.constant(init_rows.shape[1]))
        self.total_weight = total
        if not float(total) > 0 and np.sum(init_weight) > 0:
            raise ValueError(
                "The dataset yielded rows of positive weight when the fit read its first "
                f"rows, but none on the next pass: {REREAD_HINT}.")
        if not float(total) > 0:
            raise ValueError("The dataset's rows have no positive weight in total; "
                             "give at least one row a positive weight.")
        self.center = first / total
        needs_scatter = objective is not None and objective.priors.needs_data_moments()
        if covariance_type == "tied" or needs_scatter:
            with self._scope(), quiet_graph_mode_notice():
                self.gram = self.kernels.gram(self.dataset, self.center)
        else:
            self.gram = tf.zeros([0, 0], tf.float64)
        if needs_scatter:
            objective = objective.with_data_moments(
                self.center.numpy(), self.gram.numpy(), float(total))
        self.objective = objective
        self.prior_tensors = () if objective is None else tuple(
            tf.constant(value, tf.float64) for value in objective.priors.loop_tensors())
        self.init_data = FitData(init_rows, init_weight, covariance_type, batch_size,
                                 dtype, objective=objective)
        if covariance_type != "tied":
            self.gram = tf.zeros([0, 0], tf.float64)

    def _scope(self):
        tf = tensorflow()
        return self.strategy.scope() if self.strategy is not None else tf.device(
            device_name())

    def initial_parameters(self, *args, **kwargs):
        """As :meth:`skgmmvi._tf.em.FitData.initial_parameters`, on the init rows."""
        return self.init_data.initial_parameters(*args, **kwargs)

    def _em_steps_call(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        """One call of the compiled passes: up to ``n_steps`` EM iterations."""
        tf = tensorflow()
        const = lambda v: tf.constant(np.asarray(v), tf.float64)  # noqa: E731
        with self._scope(), quiet_graph_mode_notice():
            out = self.kernels.em_steps(
                self.dataset, self.center, self.gram, self.total_weight,
                tuple(const(p) for p in params), self.prior_tensors,
                tf.constant(int(n_steps)), const(tol), const(reg_covar),
                const(previous_lower_bound))
        return loop_results(out, len(params))


def rows_dataset(X, sample_weight, batch_size):
    """In-memory rows as a dataset of ``(rows, weights)`` batches."""
    tf = tensorflow()
    return tf.data.Dataset.from_tensor_slices(
        (X, np.asarray(sample_weight, np.float64))).batch(int(batch_size))
