"""Row batches of a ``tf.data.Dataset`` as the backend's kernels consume them.

Every batch is validated where it is read, inside the compiled loop: rows must be
finite and weights non-negative. A bad batch stops the loop with an error that
carries one of the :data:`BAD_BATCH` markers; :func:`skgmmvi._stream.bad_batch_errors`
turns it into scikit-learn's message for the same bad input in memory.
"""

from .._stream import BAD_BATCH
from ._runtime import tensorflow


def _validated(x, w):
    """``(x, w)`` that depend on the checks of the batch (NaN, inf, negative weight)."""
    tf = tensorflow()
    checks = [
        tf.debugging.Assert(tf.logical_not(tf.reduce_any(tf.math.is_nan(x))),
                            [BAD_BATCH["nan"]]),
        tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(x)), [BAD_BATCH["inf"]]),
        tf.debugging.Assert(tf.reduce_all(w >= 0), [BAD_BATCH["negative_weight"]]),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(x), tf.identity(w)


def unpack_batch(element, dtype):
    """Validated ``(rows, weights)`` of a dataset element in ``dtype`` (weights 1 if absent)."""
    tf = tensorflow()
    if isinstance(element, tuple):
        x, w = element
        return _validated(tf.cast(x, dtype), tf.cast(w, dtype))
    x = tf.cast(element, dtype)
    return _validated(x, tf.ones([tf.shape(x)[0]], dtype))


def weighted_pairs(dataset):
    """The dataset with every element as a ``(rows, weights)`` pair."""
    tf = tensorflow()
    if isinstance(dataset.element_spec, tuple):
        return dataset
    return dataset.map(lambda x: (x, tf.ones([tf.shape(x)[0]], x.dtype)))
