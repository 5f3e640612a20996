"""Compiled training loops of ``MLEGaussianMixture``: one trace per structure.

Every loop is a pure function of tensors: data, parameters ``(logits, means,
scale)``, the optimiser state of :mod:`.mle_optimizers` and a schedule state
``(learning_rate, decays_left)`` go in; the same come out. Nothing keeps
shapes: the number of components and features are dimensions of the inputs, so
one trace per (optimiser kind, covariance type, dtype) serves every mixture, and
a compiled function holds no memory between calls.

All loops run the one :func:`.mle_epoch.epoch` inside one epoch loop
(:func:`_epochs`); they differ only in the batch source they give it (rows in
memory, a dataset, a distributed dataset) and so in their inputs. The in-memory
and stream loops are traced without autograph (``tf.while_loop``,
``Dataset.reduce``); only the loop over a distributed dataset needs it.

Each call runs at most ``n_epochs`` epochs, so the caller can return to Python
(and honour Ctrl-C) between calls; carrying the state exactly makes the result
independent of how the epochs are split into calls.
"""

from ._runtime import tensorflow, tf_dtype
from .compile_cache import COMPILED
from .mle_epoch import (DatasetBatches, DistributedBatches, OneUpdatePerEpoch, RowBatches,
                        UpdatePerBatch, batch_gradient, epoch, mean_log_likelihood,
                        replica_summed)
from .mle_optimizers import HYPER_NAMES, apply_update

#: The learning rate is multiplied by this on a plateau (``learning_rate_schedule``).
DECAY_FACTOR = 0.2
_SCALE_RANK = {"full": 3, "tied": 2, "diag": 2, "spherical": 1}


# ------------------------------------------------------------ shared pieces
def _specs(covariance_type, dtype):
    """Input signature pieces: parameters, optimiser state, schedule, hyper."""
    tf = tensorflow()
    spec = tf.TensorSpec
    params = (spec([None], dtype), spec([None, None], dtype),
              spec([None] * _SCALE_RANK[covariance_type], dtype))
    state = (spec([], dtype), params, params, params)
    schedule = (spec([], dtype), spec([], tf.int32))
    return params, state, schedule, spec([len(HYPER_NAMES)], dtype)


def _end_of_epoch(log_lik, best, stalled, tol, patience, schedule):
    """Convergence and plateau bookkeeping after one epoch.

    ``stalled`` counts consecutive epochs whose mean log-likelihood did not beat
    the best so far by ``tol`` (noise in mini-batch epochs does not reset it).
    When it reaches ``patience`` and decays are left, the learning rate is
    multiplied by :data:`DECAY_FACTOR` and counting restarts.
    Returns ``(best, stalled, schedule, finite)``.
    """
    tf = tensorflow()
    stalled = tf.where(log_lik < best + tol, stalled + 1, 0)
    learning_rate, decays_left = schedule
    decay = (stalled >= patience) & (decays_left > 0)
    schedule = (tf.where(decay, learning_rate * DECAY_FACTOR, learning_rate),
                tf.where(decay, decays_left - 1, decays_left))
    return (tf.maximum(best, log_lik), tf.where(decay, 0, stalled), schedule,
            tf.math.is_finite(log_lik))


def _epochs(run_epoch, params, state, schedule, n_epochs, tol, best, stalled,
            patience, dtype):
    """Up to ``n_epochs`` epochs of ``run_epoch`` inside one ``tf.while_loop``.

    ``run_epoch(params, state, learning_rate, epoch)`` returns the updated
    ``(params, state, mean log-likelihood of the epoch)``. ``best`` is the best
    epoch so far; it is returned updated with the schedule, as ``(lr, decays,
    best)``.
    """
    tf = tensorflow()
    history = tf.TensorArray(dtype, size=0, dynamic_size=True)

    def body(epoch, params, state, schedule, best, stalled, finite, history):
        params, state, log_lik = run_epoch(params, state, schedule[0], epoch)
        best, stalled, schedule, finite = _end_of_epoch(log_lik, best, stalled, tol,
                                                        patience, schedule)
        return (epoch + 1, params, state, schedule, best, stalled, finite,
                history.write(epoch, log_lik))

    def keep_going(epoch, params, state, schedule, best, stalled, finite, history):
        return (epoch < n_epochs) & (stalled < patience) & finite

    _, params, state, schedule, best, stalled, finite, history = tf.while_loop(
        keep_going, body, (tf.constant(0), params, state, schedule, best, stalled,
                           tf.constant(True), history))
    return params, state, schedule + (best,), history.stack(), stalled, finite


def _updater(kind, hyper, learning_rate):
    """``update(params, grads, state) -> (params, state)``: one optimiser step."""
    return lambda params, grads, state: apply_update(kind, hyper, params, grads, state,
                                                     learning_rate)


def _shuffled_order(shuffle, n_rows, seed, epoch_index):
    """The rows' order in epoch ``epoch_index``: a stateless shuffle, or row order."""
    tf = tensorflow()
    epoch_seed = tf.stack([seed[0], seed[1] + tf.cast(epoch_index, tf.int64)])
    return tf.cond(
        shuffle, lambda: tf.argsort(tf.random.stateless_uniform([n_rows], epoch_seed)),
        lambda: tf.range(n_rows))


# ---------------------------------------------------------- in-memory rows
def _build_in_memory(kind, covariance_type, dtype):
    """The loop over rows in memory; one trace serves full batch and mini-batches.

    Inputs: ``(X, weight, batch, full_batch, shuffle, seed)`` (rows, weights,
    rows per step or per gradient chunk, full batch or not, shuffle or not, and
    the seed of epoch 0's shuffle), then those of :func:`_epochs`, then ``reg``.
    """
    tf = tensorflow()
    spec = tf.TensorSpec
    params_spec, state_spec, schedule_spec, hyper_spec = _specs(covariance_type, dtype)
    rows_spec = [spec([None, None], dtype), spec([None], dtype), spec([], tf.int32),
                 spec([], tf.bool), spec([], tf.bool), spec([2], tf.int64)]
    control_spec = [spec([], tf.int32), spec([], dtype), spec([], dtype),
                    spec([], tf.int32), spec([], tf.int32)]

    @tf.function(autograph=False, input_signature=[
        *rows_spec, params_spec, state_spec, schedule_spec, hyper_spec, *control_spec,
        spec([], dtype)])
    def train(X, weight, batch, full_batch, shuffle, seed, params, state, schedule, hyper,
              n_epochs, tol, best, stalled, patience, reg):
        in_row_order = RowBatches(X, weight, tf.reduce_sum(weight), batch)
        gradient = batch_gradient(covariance_type, reg, dtype)

        def run_epoch(params, state, learning_rate, epoch_index):
            update = _updater(kind, hyper, learning_rate)

            def mini_batches():
                order = _shuffled_order(shuffle, tf.shape(X)[0], seed, epoch_index)
                return epoch(in_row_order.in_order(order), UpdatePerBatch(gradient, update),
                             params, state)

            return tf.cond(full_batch, lambda: epoch(
                in_row_order, OneUpdatePerEpoch(gradient, update), params, state),
                mini_batches)

        return _epochs(run_epoch, params, state, schedule, n_epochs, tol, best,
                       stalled, patience, dtype)

    return train


def _build_evaluate(covariance_type, dtype):
    """Weighted mean log-likelihood of rows in memory, in chunks of ``chunk`` rows."""
    tf = tensorflow()
    spec = tf.TensorSpec
    params_spec = _specs(covariance_type, dtype)[0]

    @tf.function(autograph=False, input_signature=[
        spec([None, None], dtype), spec([None], dtype), params_spec, spec([], tf.int32),
        spec([], dtype)])
    def evaluate(X, weight, params, chunk, reg):
        batches = RowBatches(X, weight, tf.reduce_sum(weight), chunk)
        return mean_log_likelihood(batches, params, covariance_type, reg)

    return evaluate


# ------------------------------------------------- datasets, distributed or not
def _build_dataset_loop(kind, covariance_type, dtype, strategy=None):
    """The loop over a ``tf.data.Dataset`` (one element, one mini-batch).

    Inputs: ``(dataset, full_batch)``, then those of :func:`_epochs`, then
    ``reg``. Traced once per (dataset element structure, full batch or not): the
    dataset is an argument, so a new dataset of the same structure reuses the
    trace. Under a ``strategy`` the dataset is a distributed one of ``(rows,
    weights)``: each replica computes the gradient of its share of a batch, the
    shares are summed and the update is applied once, which gives the
    single-device result. Iterating a distributed dataset needs autograph.
    """
    tf = tensorflow()

    def train(dataset, full_batch, params, state, schedule, hyper, n_epochs, tol, best,
              stalled, patience, reg):
        gradient = batch_gradient(covariance_type, reg, dtype)
        if strategy is None:
            batches = DatasetBatches(dataset, dtype)
        else:
            batches = DistributedBatches(dataset)
            gradient = replica_summed(gradient, strategy)
        policy = OneUpdatePerEpoch if full_batch else UpdatePerBatch

        def run_epoch(params, state, learning_rate, _):
            return epoch(batches, policy(gradient, _updater(kind, hyper, learning_rate)),
                         params, state)

        return _epochs(run_epoch, params, state, schedule, n_epochs, tol, best,
                       stalled, patience, dtype)

    return tf.function(train, autograph=strategy is not None)


def _build_dataset_evaluate(covariance_type, dtype):
    """Weighted mean log-likelihood of a dataset's batches."""
    tf = tensorflow()

    @tf.function(autograph=False)
    def evaluate_stream(dataset, params, reg):
        return mean_log_likelihood(DatasetBatches(dataset, dtype), params,
                                   covariance_type, reg)

    return evaluate_stream


# -------------------------------------------------------------------- cache
def compiled(role, kind, covariance_type, dtype, strategy=None):
    """The compiled function ``role`` for a structure, traced at most once.

    Roles: ``"train"`` and ``"evaluate"`` (rows in memory), ``"stream"`` and
    ``"stream_evaluate"`` (a ``tf.data.Dataset``), ``"distributed"`` (a dataset
    distributed by ``strategy``). The key holds no shape; a strategy keys its
    own loop; the evaluations are shared by every optimiser.
    """
    if role.endswith("evaluate"):
        kind = None
    key = ("mle", role, kind, covariance_type, dtype,
           None if strategy is None else id(strategy))
    return COMPILED.get(key, lambda: _build(role, kind, covariance_type, tf_dtype(dtype),
                                            strategy), owner=strategy)


def _build(role, kind, covariance_type, tdtype, strategy):
    """A new compiled function ``role`` (see :func:`compiled`)."""
    if role == "train":
        return _build_in_memory(kind, covariance_type, tdtype)
    if role == "evaluate":
        return _build_evaluate(covariance_type, tdtype)
    if role == "stream_evaluate":
        return _build_dataset_evaluate(covariance_type, tdtype)
    return _build_dataset_loop(kind, covariance_type, tdtype, strategy)


def cache_size():
    """Number of compiled structures held (for tests of the no-retrace promise)."""
    return sum(1 for key in COMPILED.keys() if key[0] == "mle")
