"""Streaming rows from disk into the estimators, as a ``tf.data.Dataset``."""

import numpy as np


def npy_batches(path, batch_size=8192):
    """Stream the rows of a 2-D ``.npy`` file as batches, without loading it.

    The file is read by ``tf.data`` (no Python per batch), a few batches ahead of
    the consumer, so memory stays at a few batches whatever the file's size. Pass
    the result to ``fit`` or ``partial_fit`` of the estimators.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding a C-ordered 2-D array of float32 or float64
        (as written by ``numpy.save``).
    batch_size : int, default=8192
        Rows per batch.

    Returns
    -------
    tf.data.Dataset
        Elements of shape ``(batch, n_features)`` in the file's dtype.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skgmmvi.io import npy_batches
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.npy")
    >>> np.save(path, np.arange(12.0).reshape(6, 2))
    >>> [b.shape.as_list() for b in npy_batches(path, batch_size=4)]
    [[4, 2], [2, 2]]
    """
    from ._tf._runtime import tensorflow

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    tf = tensorflow()
    path = str(path)
    shape, dtype, header_bytes = _npy_layout(path)
    n_rows, n_features = int(shape[0]), int(shape[1])
    tf_type = tf.float64 if dtype.itemsize == 8 else tf.float32
    row_bytes = n_features * dtype.itemsize
    batch_size = int(batch_size)
    n_full, n_tail = divmod(n_rows, batch_size)

    def records(n_batch_rows, skip_rows, footer_rows):
        # One record per batch: tf.data reads it in one piece, no per-row work.
        return tf.data.FixedLengthRecordDataset(
            path, record_bytes=n_batch_rows * row_bytes,
            header_bytes=header_bytes + skip_rows * row_bytes,
            footer_bytes=footer_rows * row_bytes,
            buffer_size=max(1 << 22, 2 * n_batch_rows * row_bytes))

    parts = []
    if n_full:
        parts.append(records(batch_size, 0, n_tail))
    if n_tail:
        parts.append(records(n_tail, n_full * batch_size, 0))
    if not parts:
        raise ValueError(f"{path} holds no rows.")
    dataset = parts[0] if len(parts) == 1 else parts[0].concatenate(parts[1])
    return (dataset.map(lambda raw: tf.reshape(tf.io.decode_raw(raw, tf_type),
                                               [-1, n_features]),
                        num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(2))


def _npy_layout(path):
    """``(shape, dtype, header bytes)`` of a ``.npy`` file of rows npy_batches can read.

    Raises ValueError, saying how to re-save the array, unless it is C-ordered,
    2-D and little-endian float64 or float32.
    """
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = reader(handle)
        header_bytes = handle.tell()
    if len(shape) != 2:
        raise ValueError(f"{path} holds an array of shape {shape}; npy_batches needs a "
                         "2-D array of rows, (n_samples, n_features). Save one with "
                         "numpy.save(path, np.ascontiguousarray(X.reshape(len(X), -1))) "
                         "(a 1-D array of one feature: X.reshape(-1, 1)).")
    if fortran_order:
        raise ValueError(f"{path} holds an array of shape {shape} in Fortran order; "
                         "npy_batches needs a C-ordered array of rows. Save it with "
                         "numpy.save(path, np.ascontiguousarray(X)).")
    if dtype not in (np.dtype("<f8"), np.dtype("<f4")):
        raise ValueError(f"{path} holds {dtype} values; npy_batches reads "
                         "little-endian float64 or float32. Convert with "
                         "X.astype(np.float64) before saving.")
    return shape, dtype, header_bytes
