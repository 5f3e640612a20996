"""Row batches of a ``tf.data.Dataset`` as the backend's kernels consume them."""

from ._runtime import tensorflow


def unpack_batch(element, dtype):
    """``(rows, weights)`` of a dataset element in ``dtype`` (weights 1 if absent)."""
    tf = tensorflow()
    if isinstance(element, tuple):
        x, w = element
        return tf.cast(x, dtype), tf.cast(w, dtype)
    x = tf.cast(element, dtype)
    return x, tf.ones([tf.shape(x)[0]], dtype)


def weighted_pairs(dataset):
    """The dataset with every element as a ``(rows, weights)`` pair."""
    tf = tensorflow()
    if isinstance(dataset.element_spec, tuple):
        return dataset
    return dataset.map(lambda x: (x, tf.ones([tf.shape(x)[0]], x.dtype)))
