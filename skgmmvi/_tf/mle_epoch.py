"""One epoch of MLE training: a batch source visited under a step policy.

Every MLE training loop runs the same :func:`epoch`. What differs between them
is only

- the *batch source*: how the ``(rows, weights)`` batches arrive (rows held in
  memory, a ``tf.data.Dataset``, or a dataset distributed by a
  ``tf.distribute`` strategy), and
- the *step policy*: whether the batches' gradients are summed into one update
  at the end of the epoch (full batch) or applied batch by batch (mini-batches).

The gradient of one batch is a function ``gradient(x, w, params) -> (value,
weight, loss_gradients)``; under a strategy only that function runs on the
replicas (:func:`replica_summed`), the update is applied once to the summed
result, so a distributed fit is the single-device one.

A source that knows its total weight before the epoch (rows in memory) divides
each batch's share by it as it goes; a source that learns the total only by
reading the batches (datasets) divides the sums at the end. Each keeps the
order of operations its loop has always had, so results are bit-identical.
"""

from ._runtime import tensorflow
from .batches import unpack_batch
from .mle_objective import value_and_loss_gradient, weighted_log_likelihood


# ----------------------------------------------------------------- sources
class _BatchSource:
    """What every batch source shares: how a batch's share of a mean is taken.

    ``total`` is the total weight when known before the epoch, else None.
    """

    total = None

    def share(self, tree):
        """A batch's ``tree`` of sums as its share of the epoch's mean."""
        if self.total is None:
            return tree
        return tensorflow().nest.map_structure(lambda value: value / self.total, tree)

    def mean(self, tree, total):
        """The epoch's mean from the summed shares and the summed weight ``total``."""
        if self.total is not None:
            return tree
        return tensorflow().nest.map_structure(lambda value: value / total, tree)


class RowBatches(_BatchSource):
    """Rows held in memory, visited in batches of ``rows`` by a ``tf.while_loop``.

    Parameters
    ----------
    X : tf.Tensor of shape (n_samples, n_features)
    weight : tf.Tensor of shape (n_samples,)
    total : tf.Tensor
        ``sum(weight)``, computed once by the caller.
    rows : tf.Tensor of int32
        Rows per batch.
    order : tf.Tensor of int32 or None
        Row indices to visit (a permutation of the rows), gathered batch by
        batch; None visits contiguous slices in row order.
    """

    def __init__(self, X, weight, total, rows, order=None):
        self.X, self.weight, self.total = X, weight, total
        self.rows, self.order = rows, order

    def in_order(self, order):
        """The same rows visited in ``order``."""
        return RowBatches(self.X, self.weight, self.total, self.rows, order)

    def fold(self, step, carry):
        """``carry = step(carry, x, w)`` over the batches; the last ``carry``."""
        tf = tensorflow()
        n_rows = tf.shape(self.X)[0]

        def body(start, carry):
            stop = tf.minimum(start + self.rows, n_rows)
            if self.order is None:
                x, w = self.X[start:stop], self.weight[start:stop]
            else:
                indices = self.order[start:stop]
                x, w = tf.gather(self.X, indices), tf.gather(self.weight, indices)
            return stop, step(carry, x, w)

        return tf.while_loop(lambda start, _: start < n_rows, body,
                             (tf.constant(0), carry))[1]


class DatasetBatches(_BatchSource):
    """A ``tf.data.Dataset``, one element a batch, validated and cast to ``dtype``."""

    def __init__(self, dataset, dtype):
        self.dataset, self.dtype = dataset, dtype

    def fold(self, step, carry):
        """``carry = step(carry, x, w)`` over the batches; the last ``carry``."""
        return self.dataset.reduce(
            carry, lambda carry, element: step(carry, *unpack_batch(element, self.dtype)))


class DistributedBatches(_BatchSource):
    """A distributed dataset of ``(rows, weights)``: each batch split over replicas.

    Iterated by a Python ``for``, which autograph turns into a loop of the
    graph; only a function compiled with autograph can use it.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def fold(self, step, carry):
        """``carry = step(carry, x, w)`` over the batches; the last ``carry``."""
        for x, w in self.dataset:
            carry = step(carry, x, w)
        return carry


# --------------------------------------------------------------- gradients
def batch_gradient(covariance_type, reg_covar, dtype):
    """``gradient(x, w, params) -> (sum w log p, sum w, loss gradients)`` of a batch."""
    tf = tensorflow()

    def gradient(x, w, params):
        x, w = tf.cast(x, dtype), tf.cast(w, dtype)
        value, grads = value_and_loss_gradient(x, w, params, covariance_type, reg_covar)
        return value, tf.reduce_sum(w), grads

    return gradient


def replica_summed(gradient, strategy):
    """``gradient`` run on every replica's share of a batch, summed over replicas."""
    tf = tensorflow()
    sum_op = tf.distribute.ReduceOp.SUM

    def summed(x, w, params):
        per_replica = strategy.run(gradient, args=(x, w, params))
        return tf.nest.map_structure(
            lambda value: strategy.reduce(sum_op, value, axis=None), per_replica)

    return summed


# ------------------------------------------------------------ step policies
class OneUpdatePerEpoch:
    """Full batch: the batches' gradients summed, one update on their mean.

    Parameters
    ----------
    gradient : callable
        ``gradient(x, w, params)``, see :func:`batch_gradient`.
    update : callable
        ``update(params, grads, state) -> (params, state)``.
    """

    def __init__(self, gradient, update):
        self.gradient, self.update = gradient, update

    def begin(self, params, state):
        """The policy's carry at the start of an epoch."""
        return params, state, tuple(tensorflow().zeros_like(p) for p in params)

    def visit(self, carry, x, w, share):
        """``(carry, value, weight)`` after the batch ``(x, w)``."""
        params, state, grads = carry
        value, weight, new = self.gradient(x, w, params)
        summed = tuple(a + b for a, b in zip(grads, share(new)))
        return (params, state, summed), value, weight

    def end(self, carry, mean, total):
        """``(params, state)`` at the end of the epoch."""
        params, state, grads = carry
        return self.update(params, mean(grads, total), state)


class UpdatePerBatch:
    """Mini-batches: one update per batch, on that batch's mean gradient.

    Parameters are those of :class:`OneUpdatePerEpoch`.
    """

    def __init__(self, gradient, update):
        self.gradient, self.update = gradient, update

    def begin(self, params, state):
        """The policy's carry at the start of an epoch."""
        return params, state

    def visit(self, carry, x, w, share):
        """``(carry, value, weight)`` after the batch ``(x, w)``."""
        tf = tensorflow()
        params, state = carry
        value, weight, grads = self.gradient(x, w, params)
        grads = tuple(tf.math.divide_no_nan(g, weight) for g in grads)
        return self.update(params, grads, state), value, weight

    def end(self, carry, mean, total):
        """``(params, state)`` at the end of the epoch."""
        return carry


# -------------------------------------------------------------------- epoch
def epoch(batches, policy, params, state):
    """One pass over ``batches`` under the step ``policy``.

    Returns
    -------
    params, state : tuple of tf.Tensor
        After the epoch's updates.
    log_lik : tf.Tensor
        Weighted mean log-likelihood of the epoch, each batch scored with the
        parameters it was visited with.
    """
    tf = tensorflow()
    zero = tf.zeros([], params[0].dtype)

    def step(carry, x, w):
        log_lik, total, inner = carry
        inner, value, weight = policy.visit(inner, x, w, batches.share)
        return log_lik + batches.share(value), total + weight, inner

    log_lik, total, inner = batches.fold(step, (zero, zero, policy.begin(params, state)))
    params, state = policy.end(inner, batches.mean, total)
    return params, state, batches.mean(log_lik, total)


def mean_log_likelihood(batches, params, covariance_type, reg_covar):
    """Weighted mean log-likelihood of ``batches`` under fixed ``params``."""
    tf = tensorflow()
    zero = tf.zeros([], params[0].dtype)

    def add(carry, x, w):
        log_lik, total = carry
        return (log_lik + weighted_log_likelihood(x, w, params, covariance_type, reg_covar),
                total + tf.reduce_sum(w))

    log_lik, total = batches.fold(add, (zero, zero))
    return log_lik / (total if batches.total is None else batches.total)
