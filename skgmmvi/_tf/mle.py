"""Maximum likelihood by gradient ascent: the backend of ``MLEGaussianMixture``.

The mixture is held in unconstrained coordinates:

=========== ================================================================
logits      weights = softmax(logits), shape (K,)
means       shape (K, D)
scale       full: upper-triangular factor ``U`` of each precision (K, D, D),
            stored with ``log`` of its diagonal; tied: one such (D, D);
            diag: log standard deviations (K, D); spherical: (K,)
=========== ================================================================

The covariance the model uses is the one these coordinates describe plus
``reg_covar`` on the diagonal (the same floor as EM adds), so it stays positive
definite whatever the optimiser does.

Training runs in the compiled loops of :mod:`.mle_loops`, one trace per
(optimiser kind, covariance type, dtype) whatever the shapes, with the optimiser
of :mod:`.mle_optimizers` written on explicit state tensors. :func:`train` calls
them in pieces of a few hundred milliseconds, so that Ctrl-C stops a fit
promptly; parameters, optimiser and schedule state go in and come out as numpy
arrays, so estimators hold no TensorFlow objects.
"""

import math

import numpy as np

from ._runtime import device_name, quiet_graph_mode_notice, tensorflow, tf_dtype
from .batches import weighted_pairs
from .mle_loops import compiled
from .mle_objective import value_and_loss_gradient
from .mle_optimizers import optimizer_spec
from .time_slices import SLICE_SECONDS, SliceClock

_LOG_TINY_WEIGHT = math.log(1e-30)
#: Wall time one compiled call aims at, so that Ctrl-C is honoured promptly.
PIECE_SECONDS = SLICE_SECONDS


class TrainingDiverged(ArithmeticError):
    """The log-likelihood became NaN or infinite during training."""


# ---------------------------------------------------------------- numpy side
def to_unconstrained(params, covariance_type, reg_covar):
    """Unconstrained coordinates ``(logits, means, scale)`` of fitted parameters.

    The covariance floor ``reg_covar`` is taken off first, so that converting
    back (:func:`from_unconstrained`) returns the same covariances. Where that
    would leave a covariance that is not positive definite, the floor stays in.
    """
    weights, means, covariances, _ = (np.asarray(p, np.float64) for p in params)
    with np.errstate(divide="ignore"):
        logits = np.maximum(np.log(weights), _LOG_TINY_WEIGHT)
    logits = logits - logits.max()
    if covariance_type in ("diag", "spherical"):
        variances = covariances - reg_covar
        variances = np.where(variances > 0, variances, covariances)
        return logits, means, 0.5 * np.log(variances)
    stack = covariances[None] if covariance_type == "tied" else covariances
    eye = np.eye(stack.shape[-1])
    factors = np.empty_like(stack)
    for k, cov in enumerate(stack):  # K small D x D factorisations, numpy side
        try:
            chol = np.linalg.cholesky(cov - reg_covar * eye)
        except np.linalg.LinAlgError:
            chol = np.linalg.cholesky(cov)
        upper = np.linalg.solve(chol, eye).T  # precision = upper @ upper.T
        np.fill_diagonal(upper, np.log(np.diag(upper)))
        factors[k] = upper
    return logits, means, factors[0] if covariance_type == "tied" else factors


def from_unconstrained(logits, means, scale, covariance_type, reg_covar):
    """Fitted parameters ``(weights, means, covariances, precisions_cholesky)``."""
    logits = np.asarray(logits, np.float64)
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    scale = np.asarray(scale, np.float64)
    if covariance_type in ("diag", "spherical"):
        covariances = np.exp(2.0 * scale) + reg_covar
        return weights, np.asarray(means, np.float64), covariances, covariances**-0.5
    stack = scale[None] if covariance_type == "tied" else scale
    eye = np.eye(stack.shape[-1])
    upper = np.triu(stack, 1) + np.exp(np.diagonal(stack, axis1=-2, axis2=-1))[..., None] * eye
    inverse = np.linalg.solve(upper, eye)  # covariance = inverse.T @ inverse
    covariances = np.swapaxes(inverse, -1, -2) @ inverse + reg_covar * eye
    precision_chol = np.swapaxes(
        np.linalg.solve(np.linalg.cholesky(covariances), eye), -1, -2)
    if covariance_type == "tied":
        covariances, precision_chol = covariances[0], precision_chol[0]
    return weights, np.asarray(means, np.float64), covariances, precision_chol


class TrainingData:
    """Training rows as a backend tensor (one per fit or ``partial_fit`` call)."""

    def __init__(self, X, sample_weight, dtype):
        tf = tensorflow()
        self.dtype = dtype
        with tf.device(device_name()):
            self.X = tf.convert_to_tensor(X, tf_dtype(dtype))
            self.weight = tf.convert_to_tensor(sample_weight, tf_dtype(dtype))


class StreamData:
    """Training rows as a ``tf.data.Dataset``: one element, one mini-batch.

    Elements are row batches or ``(rows, weights)`` pairs; the batches of the
    dataset are the optimiser's mini-batches (``batch_size`` does not apply),
    taken in the dataset's order (shuffle the dataset itself if wanted).
    """

    def __init__(self, dataset, dtype):
        self.dataset = dataset
        self.dtype = dtype




class TrainingState:
    """Optimiser and learning-rate schedule state carried between calls (numpy).

    Parameters
    ----------
    optimizer_key : tuple
        :attr:`OptimizerSpec.key` of the optimiser the slots belong to.
    slots : tuple or None
        ``(step, first, second, third)`` as numpy arrays; None for a fresh optimiser.
    learning_rate : float
        The current learning rate (after any plateau decays).
    decays_left : int
        Plateau decays still allowed.
    best : float
        Best epoch mean log-likelihood so far (the plateau reference).
    """

    def __init__(self, optimizer_key, slots, learning_rate, decays_left, best=-np.inf):
        self.optimizer_key = optimizer_key
        self.slots = slots
        self.learning_rate = learning_rate
        self.decays_left = decays_left
        self.best = best


def _as_tensors(tree, dtype):
    tf = tensorflow()
    return tf.nest.map_structure(lambda a: tf.constant(np.asarray(a), dtype), tree)


def _as_numpy(tree):
    tf = tensorflow()
    return tf.nest.map_structure(lambda t: np.array(t.numpy()), tree)


def _fresh_slots(unconstrained):
    zeros = tuple(np.zeros_like(p) for p in unconstrained)
    return (np.zeros(()), zeros, zeros, zeros)


def train(data, params, covariance_type, *, optimizer, training_state, n_epochs, tol,
          n_iter_no_change, reg_covar, previous_log_lik, batch_size, chunk_size, shuffle,
          seed, stalled_epochs=0, strategy=None, piece_seconds=PIECE_SECONDS):
    """Run up to ``n_epochs`` epochs of gradient ascent from ``params``.

    Parameters
    ----------
    data : TrainingData or StreamData
    params : tuple (weights, means, covariances, precisions_cholesky) of ndarray
    covariance_type : str
    optimizer : str or keras optimizer instance
    training_state : TrainingState
        Learning-rate schedule and optimiser slots (None or another's: fresh).
    n_epochs, n_iter_no_change : int
        Most epochs; plateau patience: this many consecutive epochs each improving
        the mean log-likelihood by less than ``tol`` decay the learning rate (while
        ``training_state.decays_left``), else training has converged.
    tol, reg_covar, previous_log_lik : float
    batch_size, chunk_size : int or None, int
        Rows per optimiser step; None takes one step per epoch on the gradient
        of all rows, accumulated over chunks of ``chunk_size`` rows.
    shuffle, seed : bool, (int, int)
        Visit the mini-batches in a new random order each epoch, epoch ``e``
        shuffled by the stateless seed ``(seed[0], seed[1] + e)``.
    stalled_epochs : int
        Consecutive epochs without ``tol`` improvement before this call.
    strategy : tf.distribute.Strategy or None
        Train under this strategy (same result as on one device).
    piece_seconds : float
        Wall time each compiled call aims at (the result does not depend on it).

    Returns
    -------
    params : tuple of ndarray
    history : ndarray of shape (n_done,)
        Mean log-likelihood of each epoch (during the epoch's updates).
    stalled_epochs : int
        Consecutive epochs without ``tol`` improvement at the end.
    training_state : TrainingState
    final_log_lik : float
        Mean log-likelihood of the data under the returned parameters.

    Raises
    ------
    TrainingDiverged
        When the log-likelihood becomes NaN or infinite.
    """
    spec = optimizer_spec(optimizer)
    run = _piece_runner(data, spec.kind, covariance_type, strategy,
                        (batch_size, chunk_size, shuffle), reg_covar, seed)
    with tensorflow().device(device_name()):
        start = _start(params, covariance_type, reg_covar, spec, training_state,
                       (tol, n_iter_no_change), data.dtype)
        variables, schedule, best, history, stalled = _run_in_pieces(
            run, *start, max(float(training_state.best), float(previous_log_lik)),
            int(stalled_epochs), (int(n_epochs), int(n_iter_no_change)), seed,
            piece_seconds if strategy is None else None)
        final = run.evaluate(variables[0])
    params, state = _finish(variables, schedule, best, spec, covariance_type, reg_covar)
    return params, history, stalled, state, final


def _start(params, covariance_type, reg_covar, spec, training_state, stopping, dtype):
    """Tensors a training call starts from: ``(variables, schedule, constants)``.

    ``variables`` are the unconstrained parameters and the optimiser slots
    (fresh when ``training_state`` holds none for this optimiser), ``schedule``
    the learning rate and decays left, ``constants`` the optimiser's
    hyperparameters with ``stopping = (tol, n_iter_no_change)``.
    """
    tf = tensorflow()
    tdtype = tf_dtype(dtype)
    unconstrained = to_unconstrained(params, covariance_type, reg_covar)
    slots = training_state.slots
    if slots is None or training_state.optimizer_key != spec.key:
        slots = _fresh_slots(unconstrained)
    tol, patience = stopping
    return (_as_tensors((unconstrained, slots), tdtype),
            (tf.constant(training_state.learning_rate, tdtype),
             tf.constant(int(training_state.decays_left))),
            (_as_tensors(spec.hyper, tdtype), tf.constant(tol, tdtype),
             tf.constant(int(patience))))


def _finish(variables, schedule, best, spec, covariance_type, reg_covar):
    """Fitted parameters and :class:`TrainingState` (numpy) from the loop's tensors."""
    unconstrained, slots = _as_numpy(tuple(variables))
    state = TrainingState(spec.key, slots, float(schedule[0]), int(schedule[1]), best)
    return from_unconstrained(*unconstrained, covariance_type, reg_covar), state


def _run_in_pieces(run, variables, schedule, constants, best, stalled, limits, seed,
                   piece_seconds):
    """Call ``run`` until ``limits = (n_epochs, patience)`` stop it or it diverges.

    Each call runs as many epochs as take about ``piece_seconds`` (None: all in
    one call; :class:`.time_slices.SliceClock`, at most twice the epochs of the
    call before), so Python, and a pending Ctrl-C, gets control between calls.
    Under a strategy every worker must run the same calls (their collective
    operations pair up), so there ``piece_seconds`` is None.
    Returns ``(variables, schedule, best, history, stalled)``; raises
    :class:`TrainingDiverged` when an epoch's log-likelihood is not finite.
    """
    n_epochs, patience = limits
    pieces, finite, done = [], True, 0
    clock = SliceClock(piece_seconds, max_growth=2)
    while done < n_epochs and stalled < patience and finite:
        n_steps = clock.size(n_epochs - done)
        clock.start()
        *variables, schedule, history, stalled, finite = run(
            variables, schedule, constants, n_steps, best,
            stalled, (int(seed[0]), int(seed[1]) + done))
        schedule, best = schedule[:2], float(schedule[2])
        history, stalled, finite = history.numpy(), int(stalled), bool(finite)
        clock.stop(len(history))
        pieces.append(history)
        done += len(history)
    if not finite:
        raise TrainingDiverged()
    history = np.concatenate(pieces).astype(np.float64) if pieces else np.zeros(0)
    return variables, schedule, best, history, stalled


def _piece_runner(data, kind, covariance_type, strategy, batching, reg_covar, seed):
    """A callable running some epochs of the compiled loop that suits ``data``.

    ``run(variables, schedule, constants, n_epochs, best, stalled, seed)``
    returns ``(params, slots, schedule, history, stalled, finite)`` as tensors;
    ``run.evaluate(params)`` gives the mean log-likelihood under ``params``.
    ``batching`` is ``(batch_size, chunk_size, shuffle)``.
    """
    tf = tensorflow()
    dtype = tf_dtype(data.dtype)
    reg = tf.constant(reg_covar, dtype)
    loop, data_inputs = _loop_and_inputs(data, kind, covariance_type, strategy, batching,
                                         seed)

    def run(variables, schedule, constants, n_epochs, best, stalled, epoch_seed):
        hyper, tol, patience = constants
        return loop(*data_inputs(epoch_seed), variables[0], variables[1], schedule, hyper,
                    tf.constant(int(n_epochs)), tol, tf.constant(best, dtype),
                    tf.constant(int(stalled)), patience, reg)

    run.evaluate = _evaluator(data, covariance_type, batching[1], reg)
    return run


def _loop_and_inputs(data, kind, covariance_type, strategy, batching, seed):
    """The compiled loop for ``data`` and ``data_inputs(epoch_seed)``: its data inputs."""
    tf = tensorflow()
    batch_size, chunk_size, shuffle = batching
    full_batch = batch_size is None
    if strategy is not None:
        loop = compiled("distributed", kind, covariance_type, data.dtype, strategy)
        dataset = _distributed_dataset(data, strategy, batch_size or chunk_size,
                                       shuffle and not full_batch, seed)

        def quiet_loop(*inputs):
            with quiet_graph_mode_notice():
                return loop(*inputs)

        return quiet_loop, lambda _: (dataset, full_batch)
    if isinstance(data, StreamData):
        loop = compiled("stream", kind, covariance_type, data.dtype)
        return loop, lambda _: (data.dataset, full_batch)
    rows = tf.constant(int(chunk_size if full_batch else batch_size))
    flags = (tf.constant(full_batch), tf.constant(bool(shuffle)))
    return compiled("train", kind, covariance_type, data.dtype), lambda epoch_seed: (
        data.X, data.weight, rows, *flags, tf.constant(np.asarray(epoch_seed, np.int64)))


def _evaluator(data, covariance_type, chunk_size, reg):
    """``evaluate(params)``: the mean log-likelihood of ``data`` under ``params``."""
    tf = tensorflow()
    if isinstance(data, StreamData):
        evaluate = compiled("stream_evaluate", None, covariance_type, data.dtype)
        return lambda params: float(evaluate(data.dataset, params, reg))
    evaluate = compiled("evaluate", None, covariance_type, data.dtype)
    chunk = tf.constant(int(chunk_size))
    return lambda params: float(evaluate(data.X, data.weight, params, chunk, reg))


def _distributed_dataset(data, strategy, batch_rows, shuffle, seed):
    """``(rows, weights)`` batches of ``data`` distributed over ``strategy``."""
    tf = tensorflow()
    if isinstance(data, StreamData):
        dataset = weighted_pairs(data.dataset)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((data.X, data.weight))
        if shuffle:
            dataset = dataset.shuffle(int(data.X.shape[0]), seed=int(seed[0]) + int(seed[1]),
                                      reshuffle_each_iteration=True)
        dataset = dataset.batch(int(batch_rows))
    return strategy.experimental_distribute_dataset(dataset)


def log_likelihood_and_gradient(X, sample_weight, unconstrained, covariance_type,
                                reg_covar, dtype="float64"):
    """Weighted mean log-likelihood and its gradient in unconstrained coordinates.

    Eager (not compiled): meant for tests and diagnostics, e.g. a finite-difference
    check of the gradient the training loop follows.
    """
    tf = tensorflow()
    tdtype = tf_dtype(dtype)
    params = tuple(tf.constant(np.asarray(v), tdtype) for v in unconstrained)
    w = tf.constant(sample_weight, tdtype)
    value, loss_grads = value_and_loss_gradient(
        tf.constant(X, tdtype), w, params, covariance_type, tf.constant(reg_covar, tdtype))
    total = tf.reduce_sum(w)
    return (float((value / total).numpy()),
            tuple((-g / total).numpy() for g in loss_grads))
