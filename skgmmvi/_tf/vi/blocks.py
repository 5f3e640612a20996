"""Loops over blocks of items (components or samples) sized from a memory budget.

The compiled iteration must not hold an intermediate whose size is the product
of the number of samples, the number of components and the dimension (at the
paper's 300 components with sample re-use that is gigabytes). The functions
here run a ``tf.while_loop`` over blocks of items instead, each block's
intermediate holding at most about :data:`BLOCK_ELEMENTS` numbers. The block
size is a traced value computed from the (dynamic) shapes, so new sizes never
retrace; a problem small enough for one block runs one iteration of the loop.

Every block has the same length (the last one's indices are clipped to the
last item and flagged as out of range), so that shapes inside the loop are
fixed.
"""

from .._runtime import tensorflow

#: Numbers an intermediate of one block may hold (32 MiB in float64).
BLOCK_ELEMENTS = 2**22


def block_size(n_items, elements_per_item, budget=None):
    """Items per block so that a block holds at most ``budget`` numbers (>= 1).

    Parameters
    ----------
    n_items : int32 scalar Tensor
    elements_per_item : int32 scalar Tensor
        Numbers the block's largest intermediate holds per item.
    budget : int or int32 scalar Tensor, default=None
        :data:`BLOCK_ELEMENTS` when None.
    """
    tf = tensorflow()
    budget = BLOCK_ELEMENTS if budget is None else budget
    size = tf.cast(budget, tf.int32) // tf.maximum(elements_per_item, 1)
    return tf.clip_by_value(size, 1, tf.maximum(n_items, 1))


def _block_indices(block, size, n_items):
    """Indices of block ``block`` (clipped to the last item) and their in-range mask."""
    tf = tensorflow()
    index = block * size + tf.range(size)
    return tf.minimum(index, n_items - 1), index < n_items


def fold_blocks(n_items, size, step, initial):
    """``step(index, in_range, carry) -> carry`` over the blocks of ``n_items`` items.

    Parameters
    ----------
    n_items, size : int32 scalar Tensors
    step : callable
        Gets the block's ``index`` (``size`` int32, clipped) and ``in_range``
        (``size`` bool) and the carry (a nest of Tensors of fixed shapes).
    initial : nest of Tensors
        The carry before the first block (returned as is when ``n_items == 0``).
    """
    tf = tensorflow()
    n_blocks = (n_items + size - 1) // size

    def body(block, carry):
        index, in_range = _block_indices(block, size, n_items)
        # the carry keeps its static shape through the loop
        new = tf.nest.map_structure(lambda updated, old: tf.ensure_shape(updated, old.shape),
                                    step(index, in_range, carry), carry)
        return block + 1, new

    _, carry = tf.while_loop(lambda block, carry: block < n_blocks, body,
                             (tf.constant(0), initial))
    return carry


def concat_blocks(n_items, size, block_fn, dtype):
    """``block_fn(index)`` of every block, concatenated along axis 0 (``n_items`` rows).

    ``block_fn`` returns a Tensor whose first dimension is ``size`` (one row per
    index); rows of clipped indices are dropped. Needs ``n_items >= 1``.
    """
    tf = tensorflow()
    n_blocks = (n_items + size - 1) // size
    parts = tf.TensorArray(dtype, size=n_blocks)  # blocks all have the same shape

    def body(block, parts):
        index, _ = _block_indices(block, size, n_items)
        return block + 1, parts.write(block, block_fn(index))

    _, parts = tf.while_loop(lambda block, parts: block < n_blocks, body,
                             (tf.constant(0), parts))
    stacked = parts.stack()  # (n_blocks, size, ...): its rank is known statically
    return tf.reshape(stacked, tf.concat([[-1], tf.shape(stacked)[2:]], axis=0))[:n_items]
