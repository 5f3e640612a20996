"""Compiled training loops of ``MLEGaussianMixture``: one trace per structure.

Every loop is a pure function of tensors: data, parameters ``(logits, means,
scale)``, the optimiser state of :mod:`.mle_optimizers` and a schedule state
``(learning_rate, decays_left)`` go in; the same come out. Nothing keeps
shapes: the number of components and features are dimensions of the inputs, so
one trace per (optimiser kind, covariance type, dtype) serves every mixture, and
a compiled function holds no memory between calls. The in-memory and stream
loops are traced without autograph (``tf.while_loop``, ``Dataset.reduce``);
only the loop over a distributed dataset needs it.

Each call runs at most ``n_epochs`` epochs, so the caller can return to Python
(and honour Ctrl-C) between calls; carrying the state exactly makes the result
independent of how the epochs are split into calls.
"""

import math

from ._runtime import tensorflow, tf_dtype
from .compile_cache import COMPILED
from .batches import unpack_batch
from .mle_optimizers import HYPER_NAMES, apply_update

#: The learning rate is multiplied by this on a plateau (``learning_rate_schedule``).
DECAY_FACTOR = 0.2
_SCALE_RANK = {"full": 3, "tied": 2, "diag": 2, "spherical": 1}


# ----------------------------------------------------------- the objective
def _precision_factor(scale, covariance_type, reg_covar):
    """Precision Cholesky factor (scikit-learn's convention) of the floored model.

    full/tied: upper-triangular ``P`` with ``precision = P P^T`` of the covariance
    ``inv(U U^T) + reg_covar I``; diag/spherical: ``1 / std`` of ``std^2 + reg``.
    """
    tf = tensorflow()
    if covariance_type in ("diag", "spherical"):
        return tf.math.rsqrt(tf.exp(2.0 * scale) + reg_covar)
    eye = tf.eye(tf.shape(scale)[-1], dtype=scale.dtype)
    upper = (tf.linalg.band_part(scale, 0, -1) - tf.linalg.band_part(scale, 0, 0)
             + tf.linalg.diag(tf.exp(tf.linalg.diag_part(scale))))
    inverse = tf.linalg.triangular_solve(upper, tf.broadcast_to(eye, tf.shape(upper)),
                                         lower=False)
    covariance = tf.matmul(inverse, inverse, transpose_a=True) + reg_covar * eye
    chol = tf.linalg.cholesky(covariance)
    lower_inverse = tf.linalg.triangular_solve(chol, tf.broadcast_to(eye, tf.shape(chol)),
                                               lower=True)
    return tf.linalg.matrix_transpose(lower_inverse)


def component_log_prob(x, logits, means, scale, covariance_type, reg_covar):
    """``log w_k + log N(x_n | mu_k, Sigma_k)`` for a batch, shape (B, K).

    The residuals ``x_n - mu_k`` are formed first, so data far from the origin
    (offset 1e8, spread 1e-3) lose no accuracy to cancellation.
    """
    tf = tensorflow()
    n_features = tf.cast(tf.shape(x)[1], x.dtype)
    factor = _precision_factor(scale, covariance_type, reg_covar)
    residual = x[:, None, :] - means[None]  # (B, K, D)
    if covariance_type == "full":
        whitened = tf.einsum("bkd,kde->bke", residual, factor)
        log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(factor)), axis=1)
    elif covariance_type == "tied":
        whitened = tf.tensordot(residual, factor, axes=1)
        log_det = tf.fill([tf.shape(means)[0]],
                          tf.reduce_sum(tf.math.log(tf.linalg.diag_part(factor))))
    elif covariance_type == "diag":
        whitened = residual * factor[None]
        log_det = tf.reduce_sum(tf.math.log(factor), axis=1)
    else:
        whitened = residual * factor[None, :, None]
        log_det = n_features * tf.math.log(factor)
    mahalanobis = tf.reduce_sum(tf.square(whitened), axis=2)
    log_gauss = (-0.5 * (n_features * math.log(2.0 * math.pi) + mahalanobis)
                 + log_det[None])
    return log_gauss + tf.nn.log_softmax(logits)[None]


def weighted_log_likelihood(x, weight, params, covariance_type, reg_covar):
    """Sum over the batch of ``weight * log p(x)``."""
    tf = tensorflow()
    log_prob = tf.reduce_logsumexp(
        component_log_prob(x, *params, covariance_type, reg_covar), axis=1)
    return tf.reduce_sum(weight * log_prob)


def value_and_loss_gradient(x, weight, params, covariance_type, reg_covar):
    """``(sum w log p, gradient of -sum w log p)`` with respect to ``params``."""
    tf = tensorflow()
    with tf.GradientTape() as tape:
        tape.watch(params)
        value = weighted_log_likelihood(x, weight, params, covariance_type, reg_covar)
        loss = -value
    return value, tuple(tape.gradient(loss, params))


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


def _scaled(grads, total):
    return tuple(g / total for g in grads)


def _added(first, second):
    return tuple(a + b for a, b in zip(first, second))


# ---------------------------------------------------------- in-memory rows
def _build_in_memory(kind, covariance_type, dtype):
    tf = tensorflow()
    spec = tf.TensorSpec
    params_spec, state_spec, schedule_spec, hyper_spec = _specs(covariance_type, dtype)
    cov = covariance_type

    def full_batch_epoch(X, weight, total, chunk, reg, hyper, params, state, lr):
        n_rows = tf.shape(X)[0]

        def body(start, log_lik, grads):
            stop = tf.minimum(start + chunk, n_rows)
            value, new = value_and_loss_gradient(X[start:stop], weight[start:stop],
                                                 params, cov, reg)
            return stop, log_lik + value / total, _added(grads, _scaled(new, total))

        _, log_lik, grads = tf.while_loop(
            lambda start, *_: start < n_rows, body,
            (tf.constant(0), tf.constant(0.0, dtype),
             tuple(tf.zeros_like(p) for p in params)))
        params, state = apply_update(kind, hyper, params, grads, state, lr)
        return params, state, log_lik

    def mini_batch_epoch(X, weight, total, batch, reg, hyper, params, state, lr, order):
        n_rows = tf.shape(X)[0]

        def body(start, log_lik, params, state):
            rows = order[start:tf.minimum(start + batch, n_rows)]
            x, w = tf.gather(X, rows), tf.gather(weight, rows)
            value, grads = value_and_loss_gradient(x, w, params, cov, reg)
            grads = tuple(tf.math.divide_no_nan(g, tf.reduce_sum(w)) for g in grads)
            params, state = apply_update(kind, hyper, params, grads, state, lr)
            return start + batch, log_lik + value / total, params, state

        _, log_lik, params, state = tf.while_loop(
            lambda start, *_: start < n_rows, body,
            (tf.constant(0), tf.constant(0.0, dtype), params, state))
        return params, state, log_lik

    @tf.function(autograph=False, input_signature=[
        spec([None, None], dtype), spec([None], dtype), params_spec, state_spec,
        schedule_spec, hyper_spec, spec([], tf.int32), spec([], dtype), spec([], dtype),
        spec([], tf.int32), spec([], tf.int32), spec([], tf.int32), spec([], tf.bool),
        spec([], tf.bool), spec([2], tf.int64), spec([], dtype)])
    def train(X, weight, params, state, schedule, hyper, n_epochs, tol, best,
              stalled, patience, batch, full_batch, shuffle, seed, reg):
        total = tf.reduce_sum(weight)
        n_rows = tf.shape(X)[0]

        def run_epoch(params, state, lr, epoch):
            epoch_seed = tf.stack([seed[0], seed[1] + tf.cast(epoch, tf.int64)])
            order = tf.cond(
                shuffle, lambda: tf.argsort(tf.random.stateless_uniform([n_rows],
                                                                       epoch_seed)),
                lambda: tf.range(n_rows))
            return tf.cond(
                full_batch,
                lambda: full_batch_epoch(X, weight, total, batch, reg, hyper, params,
                                         state, lr),
                lambda: mini_batch_epoch(X, weight, total, batch, reg, hyper, params,
                                         state, lr, order))

        return _epochs(run_epoch, params, state, schedule, n_epochs, tol, best,
                       stalled, patience, dtype)

    return train


def _build_evaluate(covariance_type, dtype):
    tf = tensorflow()
    spec = tf.TensorSpec
    params_spec = _specs(covariance_type, dtype)[0]

    @tf.function(autograph=False, input_signature=[
        spec([None, None], dtype), spec([None], dtype), params_spec, spec([], tf.int32),
        spec([], dtype)])
    def evaluate(X, weight, params, chunk, reg):
        """Weighted mean log-likelihood of the rows under ``params``."""
        n_rows = tf.shape(X)[0]

        def body(start, log_lik):
            stop = tf.minimum(start + chunk, n_rows)
            return stop, log_lik + weighted_log_likelihood(
                X[start:stop], weight[start:stop], params, covariance_type, reg)

        _, log_lik = tf.while_loop(lambda start, _: start < n_rows, body,
                                   (tf.constant(0), tf.constant(0.0, dtype)))
        return log_lik / tf.reduce_sum(weight)

    return evaluate


# ------------------------------------------------------------------ streams
def _build_stream(kind, covariance_type, dtype):
    """Loops over a ``tf.data.Dataset`` (one element, one mini-batch).

    Traced once per (dataset element structure, full batch or not): the dataset
    is an argument, so a new dataset of the same structure reuses the trace.
    """
    tf = tensorflow()
    cov = covariance_type

    def stream_epoch(dataset, full_batch, reg, hyper, params, state, lr):
        zero = tf.constant(0.0, dtype)
        if full_batch:
            def accumulate(carry, element):
                log_lik, total, grads = carry
                x, w = unpack_batch(element, dtype)
                value, new = value_and_loss_gradient(x, w, params, cov, reg)
                return log_lik + value, total + tf.reduce_sum(w), _added(grads, new)

            log_lik, total, grads = dataset.reduce(
                (zero, zero, tuple(tf.zeros_like(p) for p in params)), accumulate)
            params, state = apply_update(kind, hyper, params, _scaled(grads, total),
                                         state, lr)
            return params, state, log_lik / total

        def step(carry, element):
            log_lik, total, params, state = carry
            x, w = unpack_batch(element, dtype)
            value, grads = value_and_loss_gradient(x, w, params, cov, reg)
            grads = tuple(tf.math.divide_no_nan(g, tf.reduce_sum(w)) for g in grads)
            params, state = apply_update(kind, hyper, params, grads, state, lr)
            return log_lik + value, total + tf.reduce_sum(w), params, state

        log_lik, total, params, state = dataset.reduce((zero, zero, params, state), step)
        return params, state, log_lik / total

    @tf.function(autograph=False)
    def train_stream(dataset, full_batch, params, state, schedule, hyper, n_epochs, tol,
                     best, stalled, patience, reg):
        def run_epoch(params, state, lr, epoch):
            return stream_epoch(dataset, full_batch, reg, hyper, params, state, lr)

        return _epochs(run_epoch, params, state, schedule, n_epochs, tol, best,
                       stalled, patience, dtype)

    @tf.function(autograph=False)
    def evaluate_stream(dataset, params, reg):
        zero = tf.constant(0.0, dtype)

        def add(carry, element):
            x, w = unpack_batch(element, dtype)
            return (carry[0] + weighted_log_likelihood(x, w, params, cov, reg),
                    carry[1] + tf.reduce_sum(w))

        log_lik, total = dataset.reduce((zero, zero), add)
        return log_lik / total

    return train_stream, evaluate_stream


# --------------------------------------------------------- distributed data
def _build_distributed(kind, covariance_type, dtype, strategy):
    """The loop over a dataset distributed by a ``tf.distribute`` strategy.

    Each replica computes the value and loss gradient of its share of a batch;
    they are summed over the replicas (all-reduce), and the update is applied
    once to the parameters, which every replica then reads: the result is the
    single-device one. Iterating a distributed dataset needs autograph.
    """
    tf = tensorflow()
    cov = covariance_type
    total_op = tf.distribute.ReduceOp.SUM

    def summed(x, w, params, reg):
        def local(x, w, params):
            x, w = tf.cast(x, dtype), tf.cast(w, dtype)
            value, grads = value_and_loss_gradient(x, w, params, cov, reg)
            return value, tf.reduce_sum(w), grads

        per_replica = strategy.run(local, args=(x, w, params))
        return tf.nest.map_structure(
            lambda value: strategy.reduce(total_op, value, axis=None), per_replica)

    @tf.function
    def train_distributed(dataset, full_batch, params, state, schedule, hyper, n_epochs,
                          tol, best, stalled, patience, reg):
        def run_epoch(params, state, lr, epoch):
            log_lik = tf.constant(0.0, dtype)
            total = tf.constant(0.0, dtype)
            if full_batch:
                grads = tuple(tf.zeros_like(p) for p in params)
                for x, w in dataset:
                    value, weight, new = summed(x, w, params, reg)
                    log_lik, total, grads = log_lik + value, total + weight, _added(
                        grads, new)
                params, state = apply_update(kind, hyper, params,
                                             _scaled(grads, total), state, lr)
            else:
                for x, w in dataset:
                    value, weight, grads = summed(x, w, params, reg)
                    params, state = apply_update(kind, hyper, params,
                                                 _scaled(grads, weight), state, lr)
                    log_lik, total = log_lik + value, total + weight
            return params, state, log_lik / total

        return _epochs(run_epoch, params, state, schedule, n_epochs, tol, best,
                       stalled, patience, dtype)

    return train_distributed


# -------------------------------------------------------------------- cache
def compiled(role, kind, covariance_type, dtype, strategy=None):
    """The compiled function ``role`` for a structure, traced at most once.

    Roles: ``"train"``, ``"evaluate"``, ``"stream"`` (train, evaluate) and
    ``"distributed"``. The key holds no shape; a strategy keys its own loop.
    """
    if role == "evaluate":
        kind = None  # the objective alone: shared by every optimiser
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
    if role == "stream":
        return _build_stream(kind, covariance_type, tdtype)
    return _build_distributed(kind, covariance_type, tdtype, strategy)


def cache_size():
    """Number of compiled structures held (for tests of the no-retrace promise)."""
    return sum(1 for key in COMPILED.keys() if key[0] == "mle")
