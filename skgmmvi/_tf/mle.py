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

Training runs in one compiled function per (optimiser, covariance type, dtype,
K, D): epochs and mini-batches inside ``tf.while_loop``s, a Keras optimiser
applying the gradients. That function, its variables and its optimiser live in a
small cache of this module (compiled-function state only): every call loads the
caller's parameters and optimiser state into them, trains, and hands both back as
numpy arrays, so estimators hold no TensorFlow objects.
"""

import collections
import math
import threading

import numpy as np

from ._runtime import (_silenced_stderr, device_name, quiet_graph_mode_notice, tensorflow,
                       tf_dtype)
from .batches import unpack_batch, weighted_pairs

OPTIMIZERS = ("adam", "sgd", "rmsprop")
_CACHE_SIZE = 8
_CACHE = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()
_LOG_TINY_WEIGHT = math.log(1e-30)


class TrainingDiverged(ArithmeticError):
    """The log-likelihood became NaN or infinite during training."""


def _keras():
    with _silenced_stderr():
        tensorflow()
        import keras
    return keras


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


# ----------------------------------------------------------------- TF graph
def _precision_factor(scale, covariance_type, reg_covar):
    """Precision Cholesky factor (scikit-learn's convention) of the floored model.

    full/tied: upper-triangular ``P`` with ``precision = P P^T`` of the covariance
    ``inv(U U^T) + reg_covar I``; diag/spherical: ``1 / std`` of ``std^2 + reg``.
    """
    tf = tensorflow()
    if covariance_type in ("diag", "spherical"):
        return tf.math.rsqrt(tf.exp(2.0 * scale) + reg_covar)
    n_features = tf.shape(scale)[-1]
    eye = tf.eye(n_features, dtype=scale.dtype)
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
    """``log w_k + log N(x_n | mu_k, Sigma_k)`` for a batch, shape (B, K)."""
    tf = tensorflow()
    n_features = tf.cast(tf.shape(x)[1], x.dtype)
    n_components = tf.shape(means)[0]
    factor = _precision_factor(scale, covariance_type, reg_covar)
    if covariance_type == "full":
        d = tf.shape(x)[1]
        flat = tf.reshape(tf.transpose(factor, [1, 0, 2]), [d, n_components * d])
        projected = tf.reshape(tf.matmul(x, flat), [-1, n_components, d])
        shifted = projected - tf.einsum("kd,kde->ke", means, factor)[None]
        mahalanobis = tf.reduce_sum(tf.square(shifted), axis=2)
        log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(factor)), axis=1)
    elif covariance_type == "tied":
        shifted = tf.matmul(x, factor)[:, None, :] - tf.matmul(means, factor)[None]
        mahalanobis = tf.reduce_sum(tf.square(shifted), axis=2)
        log_det = tf.fill([n_components],
                          tf.reduce_sum(tf.math.log(tf.linalg.diag_part(factor))))
    elif covariance_type == "diag":
        precision = tf.square(factor)
        mahalanobis = (tf.matmul(tf.square(x), precision, transpose_b=True)
                       - 2.0 * tf.matmul(x, means * precision, transpose_b=True)
                       + tf.reduce_sum(tf.square(means) * precision, axis=1)[None])
        log_det = tf.reduce_sum(tf.math.log(factor), axis=1)
    else:
        precision = tf.square(factor)
        mahalanobis = (tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
                       - 2.0 * tf.matmul(x, means, transpose_b=True)
                       + tf.reduce_sum(tf.square(means), axis=1)[None]) * precision[None]
        log_det = n_features * tf.math.log(factor)
    log_gauss = (-0.5 * (n_features * math.log(2.0 * math.pi) + mahalanobis)
                 + log_det[None])
    return log_gauss + tf.nn.log_softmax(logits)[None]


def _mean_log_likelihood_terms(x, weight, variables, covariance_type, reg_covar):
    """Sum over the batch of ``weight * log p(x)``."""
    tf = tensorflow()
    log_prob = tf.reduce_logsumexp(
        component_log_prob(x, *variables, covariance_type, reg_covar), axis=1)
    return tf.reduce_sum(weight * log_prob)


def _end_of_epoch(log_lik, previous, stalled, tol):
    """Convergence bookkeeping of one epoch: ``(log_lik, stalled, finite)``.

    ``stalled`` counts consecutive epochs that improved the mean log-likelihood
    by less than ``tol``; ``finite`` is False once it is NaN or infinite.
    """
    tf = tensorflow()
    stalled = tf.where(log_lik - previous < tol, stalled + 1, 0)
    return log_lik, stalled, tf.math.is_finite(log_lik)


class _Trainer:
    """Variables, Keras optimiser and compiled training loop for one structure."""

    def __init__(self, optimizer, covariance_type, dtype, n_components, n_features,
                 strategy=None):
        tf = tensorflow()
        keras = _keras()
        self.lock = threading.Lock()
        self.strategy = strategy
        self.covariance_type = covariance_type
        self.dtype = tf_dtype(dtype)
        scale_shape = {"full": (n_components, n_features, n_features),
                       "tied": (n_features, n_features),
                       "diag": (n_components, n_features),
                       "spherical": (n_components,)}[covariance_type]
        with self._placement():
            self.variables = [
                tf.Variable(tf.zeros([n_components], self.dtype), name="logits"),
                tf.Variable(tf.zeros([n_components, n_features], self.dtype), name="means"),
                tf.Variable(tf.zeros(scale_shape, self.dtype), name="scale"),
            ]
            self.optimizer = keras.optimizers.get(optimizer)
            self.optimizer.build(self.variables)
        self.train = self._build_train()
        self.train_stream = self._build_train_stream()
        if strategy is not None:
            self.train_distributed = self._build_train_distributed()

    def _placement(self):
        """Where variables live: the strategy's scope, else the backend's device."""
        if self.strategy is not None:
            return self.strategy.scope()
        return tensorflow().device(device_name())

    def _build_train_distributed(self):
        """The training loop under a ``tf.distribute`` strategy.

        Each replica computes the gradient of its share of a batch, scaled by the
        whole batch's weight; the Keras optimiser sums the replicas' gradients
        (all-reduce) and every replica applies the same update, so the result is
        the single-device one. For full-batch training each replica first sums
        its gradients over all its batches in replica-local buffers
        (``ON_READ`` variables), then one all-reduced update is applied.
        """
        tf = tensorflow()
        dtype = self.dtype
        cov = self.covariance_type
        variables = self.variables
        optimizer = self.optimizer
        strategy = self.strategy
        total_op = tf.distribute.ReduceOp.SUM
        with strategy.scope():
            buffers = [tf.Variable(tf.zeros_like(v), trainable=False,
                                   synchronization=tf.VariableSynchronization.ON_READ,
                                   aggregation=tf.VariableAggregation.SUM)
                       for v in variables]
        self.buffers = buffers

        def weight_sum(x, w):
            return tf.reduce_sum(tf.cast(w, dtype))

        def local_gradient(x, w, reg_covar):
            x, w = tf.cast(x, dtype), tf.cast(w, dtype)
            with tf.GradientTape() as tape:
                value = _mean_log_likelihood_terms(x, w, variables, cov, reg_covar)
                loss = -value
            return tape.gradient(loss, variables), value

        def mini_batch_step(x, w, batch_weight, reg_covar):
            grads, value = local_gradient(x, w, reg_covar)
            optimizer.apply_gradients(zip(
                [tf.math.divide_no_nan(g, batch_weight) for g in grads], variables))
            return value

        def accumulate(x, w, reg_covar):
            grads, value = local_gradient(x, w, reg_covar)
            for buffer, g in zip(buffers, grads):
                buffer.assign_add(g)
            return value

        def reset():
            for buffer in buffers:
                buffer.assign(tf.zeros_like(buffer))

        def apply_accumulated(total):
            optimizer.apply_gradients(zip([b.read_value() / total for b in buffers],
                                          variables))

        def summed(fn, *args):
            per_replica = strategy.run(fn, args=args)
            return tf.nest.map_structure(
                lambda value: strategy.reduce(total_op, value, axis=None), per_replica)

        @tf.function
        def train_distributed(dataset, full_batch, n_epochs, tol, previous, stalled,
                              patience, reg_covar):
            history = tf.TensorArray(dtype, size=0, dynamic_size=True)
            epoch = tf.constant(0)
            finite = tf.constant(True)
            while (epoch < n_epochs) & (stalled < patience) & finite:
                log_lik = tf.constant(0.0, dtype)
                total = tf.constant(0.0, dtype)
                if full_batch:
                    strategy.run(reset)
                    for x, w in dataset:
                        log_lik += summed(accumulate, x, w, reg_covar)
                        total += summed(weight_sum, x, w)
                    strategy.run(apply_accumulated, args=(total,))
                else:
                    for x, w in dataset:
                        batch_weight = summed(weight_sum, x, w)
                        log_lik += summed(mini_batch_step, x, w, batch_weight, reg_covar)
                        total += batch_weight
                previous, stalled, finite = _end_of_epoch(log_lik / total, previous,
                                                          stalled, tol)
                history = history.write(epoch, previous)
                epoch += 1
            return history.stack(), stalled, finite

        return train_distributed

    def _build_train_stream(self):
        """The training loop over a ``tf.data.Dataset`` (one element, one batch).

        Traced once per (dataset element structure, full batch or not): the
        dataset is an argument, so a new dataset of the same structure reuses it.
        """
        tf = tensorflow()
        dtype = self.dtype
        cov = self.covariance_type
        variables = self.variables
        optimizer = self.optimizer

        @tf.function
        def train_stream(dataset, full_batch, n_epochs, tol, previous, stalled, patience,
                         reg_covar):
            history = tf.TensorArray(dtype, size=0, dynamic_size=True)
            epoch = tf.constant(0)
            finite = tf.constant(True)
            while (epoch < n_epochs) & (stalled < patience) & finite:
                log_lik = tf.constant(0.0, dtype)
                total = tf.constant(0.0, dtype)
                if full_batch:
                    grads = tuple(tf.zeros_like(v) for v in variables)
                    for element in dataset:
                        x, w = unpack_batch(element, dtype)
                        with tf.GradientTape() as tape:
                            value = _mean_log_likelihood_terms(x, w, variables, cov,
                                                               reg_covar)
                            loss = -value
                        new = tape.gradient(loss, variables)
                        grads = tuple(g + n for g, n in zip(grads, new))
                        log_lik += value
                        total += tf.reduce_sum(w)
                    optimizer.apply_gradients(zip([g / total for g in grads], variables))
                else:
                    for element in dataset:
                        x, w = unpack_batch(element, dtype)
                        with tf.GradientTape() as tape:
                            value = _mean_log_likelihood_terms(x, w, variables, cov,
                                                               reg_covar)
                            loss = -tf.math.divide_no_nan(value, tf.reduce_sum(w))
                        optimizer.apply_gradients(zip(tape.gradient(loss, variables),
                                                      variables))
                        log_lik += value
                        total += tf.reduce_sum(w)
                previous, stalled, finite = _end_of_epoch(log_lik / total, previous,
                                                          stalled, tol)
                history = history.write(epoch, previous)
                epoch += 1
            return history.stack(), stalled, finite

        return train_stream

    def _build_train(self):
        tf = tensorflow()
        dtype = self.dtype
        cov = self.covariance_type
        variables = self.variables
        optimizer = self.optimizer
        spec = tf.TensorSpec

        def weighted_log_lik(x, w, reg_covar):
            return _mean_log_likelihood_terms(x, w, variables, cov, reg_covar)

        def full_batch_epoch(X, weight, total, chunk, reg_covar):
            n_rows = tf.shape(X)[0]
            grads = [tf.zeros_like(v) for v in variables]

            def body(start, log_lik, grads):
                stop = tf.minimum(start + chunk, n_rows)
                with tf.GradientTape() as tape:
                    value = weighted_log_lik(X[start:stop], weight[start:stop],
                                             reg_covar) / total
                    loss = -value
                new = tape.gradient(loss, variables)
                return stop, log_lik + value, [g + n for g, n in zip(grads, new)]

            _, log_lik, grads = tf.while_loop(
                lambda start, *_: start < n_rows, body,
                (tf.constant(0), tf.constant(0.0, dtype), grads))
            optimizer.apply_gradients(zip(grads, variables))
            return log_lik

        def mini_batch_epoch(X, weight, total, batch, reg_covar, seed, shuffle):
            n_rows = tf.shape(X)[0]
            order = tf.cond(
                shuffle,
                lambda: tf.argsort(tf.random.stateless_uniform([n_rows], seed)),
                lambda: tf.range(n_rows))

            def body(start, log_lik):
                stop = tf.minimum(start + batch, n_rows)
                rows = order[start:stop]
                x, w = tf.gather(X, rows), tf.gather(weight, rows)
                with tf.GradientTape() as tape:
                    value = weighted_log_lik(x, w, reg_covar)
                    loss = -tf.math.divide_no_nan(value, tf.reduce_sum(w))
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
                return stop, log_lik + value / total

            _, log_lik = tf.while_loop(lambda start, _: start < n_rows, body,
                                       (tf.constant(0), tf.constant(0.0, dtype)))
            return log_lik

        @tf.function(input_signature=[
            spec([None, None], dtype), spec([None], dtype), spec([], tf.int32),
            spec([], dtype), spec([], dtype), spec([], tf.int32), spec([], tf.int32),
            spec([], tf.int32), spec([], tf.bool), spec([], tf.bool), spec([2], tf.int64),
            spec([], dtype)])
        def train(X, weight, n_epochs, tol, previous, stalled, patience, batch,
                  full_batch, shuffle, seed, reg_covar):
            total = tf.reduce_sum(weight)
            history = tf.TensorArray(dtype, size=0, dynamic_size=True)

            def body(epoch, previous, stalled, finite, history):
                epoch_seed = tf.stack([seed[0], seed[1] + tf.cast(epoch, tf.int64)])
                log_lik = tf.cond(
                    full_batch,
                    lambda: full_batch_epoch(X, weight, total, batch, reg_covar),
                    lambda: mini_batch_epoch(X, weight, total, batch, reg_covar,
                                             epoch_seed, shuffle))
                log_lik, stalled, finite = _end_of_epoch(log_lik, previous, stalled, tol)
                return epoch + 1, log_lik, stalled, finite, history.write(epoch, log_lik)

            epoch, _, stalled, finite, history = tf.while_loop(
                lambda epoch, _, stalled, finite, __: (
                    (epoch < n_epochs) & (stalled < patience) & finite),
                body, (tf.constant(0), previous, stalled, tf.constant(True), history))
            return history.stack(), stalled, finite

        return train

    def load(self, unconstrained, optimizer_state, learning_rate):
        for variable, value in zip(self.variables, unconstrained):
            variable.assign(np.asarray(value, variable.dtype.as_numpy_dtype))
        slots = self.optimizer.variables
        if optimizer_state is None:
            for slot in slots:
                slot.assign(np.zeros(slot.shape, slot.dtype))
        else:
            for slot, value in zip(slots, optimizer_state):
                slot.assign(value)
        self.optimizer.learning_rate.assign(learning_rate)

    def read(self):
        unconstrained = tuple(v.numpy().astype(np.float64) for v in self.variables)
        return unconstrained, [np.array(s.numpy()) for s in self.optimizer.variables]


def _trainer(optimizer, covariance_type, dtype, n_components, n_features,
             strategy=None):
    key = (optimizer, covariance_type, dtype, int(n_components), int(n_features),
           None if strategy is None else id(strategy))
    with _CACHE_LOCK:
        trainer = _CACHE.get(key)
        if trainer is None or trainer.strategy is not strategy:
            trainer = _Trainer(*key[:-1], strategy=strategy)
            _CACHE[key] = trainer
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
    return trainer


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


def train(data, params, covariance_type, *, optimizer, learning_rate, n_epochs, tol,
          n_iter_no_change, reg_covar, previous_log_lik, batch_size, chunk_size, shuffle,
          seed, optimizer_state=None, stalled_epochs=0, strategy=None):
    """Run up to ``n_epochs`` epochs of gradient ascent from ``params``.

    Parameters
    ----------
    data : TrainingData or StreamData
    params : tuple (weights, means, covariances, precisions_cholesky) of ndarray
    covariance_type : str
    optimizer : {"adam", "sgd", "rmsprop"}
    learning_rate, tol, reg_covar, previous_log_lik : float
    n_epochs : int
    n_iter_no_change : int
        Training has converged once this many consecutive epochs each improved
        the mean log-likelihood by less than ``tol``.
    batch_size : int or None
        Rows per optimiser step; None takes one step per epoch on the gradient
        of all rows, accumulated over chunks of ``chunk_size`` rows.
    shuffle : bool
        Visit the mini-batches in a new random order each epoch.
    seed : (int, int)
        Seed of the stateless shuffles; epoch ``e`` uses ``(seed[0], seed[1] + e)``.
    optimizer_state : list of ndarray or None
        The optimiser's variables from an earlier call (None: fresh optimiser).
    stalled_epochs : int
        Consecutive epochs without ``tol`` improvement before this call.
    strategy : tf.distribute.Strategy or None
        Train under this strategy: every batch is split over its replicas and
        the gradients are all-reduced (same result as on one device).

    Returns
    -------
    params : tuple of ndarray
    history : ndarray of shape (n_done,)
        Mean log-likelihood of each epoch (during the epoch's updates).
    stalled_epochs : int
        Consecutive epochs without ``tol`` improvement at the end; converged when
        it reached ``n_iter_no_change``.
    optimizer_state : list of ndarray

    Raises
    ------
    TrainingDiverged
        When the log-likelihood becomes NaN or infinite.
    """
    tf = tensorflow()
    n_components, n_features = np.shape(params[1])
    trainer = _trainer(optimizer, covariance_type, data.dtype, n_components, n_features,
                       strategy)
    unconstrained = to_unconstrained(params, covariance_type, reg_covar)
    dtype = trainer.dtype
    with trainer.lock, trainer._placement():
        trainer.load(unconstrained, optimizer_state, learning_rate)
        full_batch = batch_size is None
        if strategy is not None:
            dataset = _distributed_dataset(data, strategy, batch_size or chunk_size,
                                           shuffle and not full_batch, seed)
            with quiet_graph_mode_notice():
                history, stalled, finite = trainer.train_distributed(
                    dataset, full_batch, tf.constant(int(n_epochs)),
                    tf.constant(tol, dtype), tf.constant(previous_log_lik, dtype),
                    tf.constant(int(stalled_epochs)), tf.constant(int(n_iter_no_change)),
                    tf.constant(reg_covar, dtype))
        elif isinstance(data, StreamData):
            history, stalled, finite = trainer.train_stream(
                data.dataset, full_batch, tf.constant(int(n_epochs)),
                tf.constant(tol, dtype), tf.constant(previous_log_lik, dtype),
                tf.constant(int(stalled_epochs)), tf.constant(int(n_iter_no_change)),
                tf.constant(reg_covar, dtype))
        else:
            history, stalled, finite = trainer.train(
                data.X, data.weight, tf.constant(int(n_epochs)),
                tf.constant(tol, dtype), tf.constant(previous_log_lik, dtype),
                tf.constant(int(stalled_epochs)), tf.constant(int(n_iter_no_change)),
                tf.constant(int(chunk_size if full_batch else batch_size)),
                tf.constant(full_batch), tf.constant(bool(shuffle)),
                tf.constant(np.asarray(seed, np.int64)), tf.constant(reg_covar, dtype))
        unconstrained, optimizer_state = trainer.read()
    if not bool(finite):
        raise TrainingDiverged()
    params = from_unconstrained(*unconstrained, covariance_type, reg_covar)
    return params, history.numpy().astype(np.float64), int(stalled), optimizer_state


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
    variables = [tf.Variable(np.asarray(v), dtype=tdtype) for v in unconstrained]
    x = tf.constant(X, tdtype)
    w = tf.constant(sample_weight, tdtype)
    with tf.GradientTape() as tape:
        value = _mean_log_likelihood_terms(x, w, variables, covariance_type,
                                           tf.constant(reg_covar, tdtype))
        value = value / tf.reduce_sum(w)
    grads = tape.gradient(value, variables)
    return float(value.numpy()), tuple(g.numpy() for g in grads)
