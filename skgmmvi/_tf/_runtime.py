"""Lazy, quiet import of TensorFlow and the backend's device and dtype policy.

TensorFlow is imported on first use only, so ``import skgmmvi`` stays cheap. Its
C++ start-up messages (absl, oneDNN, CUDA probing) are written to file descriptor
2 before Python's logging can intercept them, so the import itself runs with that
descriptor pointed at ``/dev/null``.
"""

import contextlib
import os
import sys
import threading
import warnings

_LOCK = threading.Lock()
_TF = None

DTYPES = ("float64", "float32")


@contextlib.contextmanager
def _silenced_stderr():
    """Point file descriptor 2 at /dev/null for the duration of the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (e.g. some IDEs)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def tensorflow():
    """Return the ``tensorflow`` module, importing it quietly the first time."""
    global _TF
    if _TF is None:
        with _LOCK:
            if _TF is None:
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
                with _silenced_stderr():
                    import tensorflow as tf

                    tf.get_logger().setLevel("ERROR")
                    # Matrix products in float32 on Ampere+ GPUs would otherwise
                    # silently drop to TF32 precision.
                    tf.config.experimental.enable_tensor_float_32_execution(False)
                    # Device discovery logs CUDA probing messages: do it now.
                    tf.config.list_physical_devices()
                _TF = tf
    return _TF


def tf_dtype(name):
    """TensorFlow dtype for ``"float64"`` or ``"float32"``."""
    tf = tensorflow()
    return {"float64": tf.float64, "float32": tf.float32}[name]


def device_name():
    """The device the backend places its work on: the first GPU, else the CPU."""
    tf = tensorflow()
    return "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"


@contextlib.contextmanager
def quiet_graph_mode_notice():
    """Silence tf.data's UserWarning about the options of datasets used in graphs.

    Iterating a distributed dataset inside a compiled function triggers it; it
    concerns tf.data's own option handling, not anything a user can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="To make it possible to preserve tf.data",
                                category=UserWarning)
        yield
