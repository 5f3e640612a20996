"""Training data given as a ``tf.data.Dataset`` of row batches (streamed input).

A stream's elements are either a float tensor of rows, shape ``(batch, D)``, or a
pair ``(rows, weights)`` with weights of shape ``(batch,)``. The estimators read
the stream once per EM iteration or MLE epoch, so it may come from disk and be
much larger than memory. Only the beginning of the stream is ever held in memory:
the initialisation is drawn from its first :data:`STREAM_INIT_ROWS` rows.
"""

import contextlib

import numpy as np
from sklearn.utils.validation import _assert_all_finite, _check_sample_weight

from ._checks import weight_scale

#: Rows at the start of a stream from which the initialisation is drawn.
STREAM_INIT_ROWS = 100_000

#: Markers of the per-batch checks in the compiled loops (``_tf.batches``).
BAD_BATCH = {
    "nan": "skgmmvi-bad-batch:nan",
    "inf": "skgmmvi-bad-batch:inf",
    "negative_weight": "skgmmvi-bad-batch:negative-weight",
}


def _raise_sklearn_message(kind, estimator_name, rows_dtype):
    """Raise scikit-learn's ValueError for the bad input ``kind`` (as in memory)."""
    if kind == "negative_weight":
        _check_sample_weight(np.array([-1.0]), np.zeros((1, 1)), ensure_non_negative=True)
    value = np.nan if kind == "nan" else np.inf
    _assert_all_finite(np.array([value], dtype=rows_dtype), input_name="X",
                       estimator_name=estimator_name)


@contextlib.contextmanager
def bad_batch_errors(estimator_name, rows_dtype=np.float64):
    """Turn a failed per-batch check of a stream into scikit-learn's ValueError.

    Parameters
    ----------
    estimator_name : str
        Named in the message about NaN rows, as scikit-learn does.
    rows_dtype : numpy dtype
        The dtype of the rows (named in the message about infinite values).
    """
    try:
        yield
    except Exception as error:  # noqa: BLE001 - only TensorFlow's InvalidArgumentError
        if type(error).__name__ != "InvalidArgumentError":
            raise
        kinds = [kind for kind, mark in BAD_BATCH.items() if mark in str(error)]
        if not kinds:
            raise
        _raise_sklearn_message(kinds[0], estimator_name, rows_dtype)
        raise


#: What to do when a dataset yields no rows on a later pass (said by every fit
#: that reads a stream more than once).
REREAD_HINT = ("a dataset must yield its rows again on every pass "
               "(Dataset.from_generator needs a function that returns a new generator, "
               "not a generator object, which the fit's first read of rows uses up)")


def is_dataset(X):
    """True when ``X`` is a ``tf.data.Dataset`` (without importing TensorFlow)."""
    return (type(X).__module__.startswith("tensorflow")
            and hasattr(X, "element_spec") and hasattr(X, "batch"))


def _tensorflow():
    from ._tf._runtime import tensorflow

    return tensorflow()


def _tensor_spec_class():
    return _tensorflow().TensorSpec


def rows_dtype(X):
    """The numpy dtype of the rows of ``X`` (an array or a dataset), for messages."""
    if is_dataset(X):
        spec = X.element_spec
        spec = spec[0] if isinstance(spec, tuple) else spec
        name = getattr(getattr(spec, "dtype", None), "name", None)
        return np.float32 if name == "float32" else np.float64
    return getattr(X, "dtype", np.float64)


class StreamSource:
    """A validated stream of row batches.

    Parameters
    ----------
    dataset : tf.data.Dataset
        Elements ``rows`` or ``(rows, weights)``.
    scale_weights : bool, default=True
        Whether :meth:`head` rescales the stream's weights by a power of two as
        in-memory weights are (False for fits whose priors count rows).

    Attributes
    ----------
    dataset : tf.data.Dataset
    n_features : int
    dtype : numpy dtype of the rows
    weighted : bool
        Whether the elements carry sample weights.
    """

    def __init__(self, dataset, scale_weights=True):
        self.scale_weights = scale_weights
        spec_class = _tensor_spec_class()
        spec = dataset.element_spec
        self.weighted = isinstance(spec, tuple) and len(spec) == 2
        row_spec = spec[0] if self.weighted else spec
        usage = ("Give a tf.data.Dataset whose elements are batches of rows, shape "
                 "(batch, n_features), or (rows, weights) pairs; e.g. "
                 "tf.data.Dataset.from_tensor_slices(X).batch(1024).")
        if not isinstance(row_spec, spec_class) or (
                self.weighted and not isinstance(spec[1], spec_class)):
            raise ValueError(f"Unsupported dataset elements {spec!r}. {usage}")
        if row_spec.shape.rank != 2 or row_spec.shape[-1] is None:
            raise ValueError(
                f"Dataset elements have shape {row_spec.shape}; expected batches of "
                f"rows with a known number of features, (batch, n_features). {usage}")
        if not (row_spec.dtype.is_floating or row_spec.dtype.is_integer):
            raise ValueError(f"Dataset rows have dtype {row_spec.dtype.name}; expected "
                             f"numbers. {usage}")
        if self.weighted and spec[1].shape.rank != 1:
            raise ValueError(f"Dataset weights have shape {spec[1].shape}; expected "
                             f"one weight per row, shape (batch,). {usage}")
        self.dataset = dataset
        self.n_features = int(row_spec.shape[-1])
        self.dtype = (np.float32 if row_spec.dtype.name == "float32" else np.float64)

    def head(self, max_rows=STREAM_INIT_ROWS):
        """The first ``max_rows`` rows (and weights, or None) as numpy arrays."""
        # Re-batched so that reading stops by the dataset ending, not by
        # abandoning an iterator (which makes tf.data log a cancellation).
        elements = list(self.dataset.unbatch().batch(int(max_rows)).take(1))
        if not elements:
            raise ValueError("The dataset is empty: it yielded no rows to fit on.")
        element = elements[0]
        x = element[0] if self.weighted else element
        X = np.asarray(x.numpy(), dtype=self.dtype)
        if not self.weighted:
            return X, None
        weight = np.asarray(element[1].numpy(), dtype=np.float64)
        if self.scale_weights:
            self._scale_weights_as(weight)
        return X, weight

    def _scale_weights_as(self, weight):
        """Scale the stream's weights by the power of two that normalises ``weight``.

        The same exact scaling as in-memory ``sample_weight`` gets
        (:func:`~skgmmvi._checks.normalized_sample_weight`), so that weights that
        differ by a constant factor give the same fit.
        """
        if not (np.all(np.isfinite(weight)) and np.max(weight, initial=0) > 0):
            return  # validation reports it
        scale = weight_scale(weight)
        if scale != 1.0:
            tf = _tensorflow()
            self.dataset = self.dataset.map(
                lambda x, w: (x, tf.cast(w, tf.float64) * scale))
