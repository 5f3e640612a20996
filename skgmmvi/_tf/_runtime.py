"""Lazy, quiet import of TensorFlow and the backend's device and dtype policy.

TensorFlow is imported on first use only, so ``import skgmmvi`` stays cheap. Its
C++ start-up messages (absl, oneDNN, CUDA probing) are written to file descriptor
2 before Python's logging can intercept them, so the import itself runs with that
descriptor pointed at ``/dev/null``.

TensorFlow also logs while it runs (oneDNN fallbacks, retracing notices), and a
user who imported TensorFlow before skgmmvi has its loggers at their defaults.
:func:`quiet_tensorflow` silences both loggers around our own calls only (the
estimators' public methods that run TensorFlow enter it) and restores them after.
"""

import contextlib
import io
import os
import sys
import threading
import warnings

_LOCK = threading.Lock()
_TF = None
_QUIET_DEPTH = 0
_ORIGINAL_FD = []  # the real descriptor 2 while it points at /dev/null (innermost last)


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
    _ORIGINAL_FD.append(saved)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(saved, 2)
        _ORIGINAL_FD.pop()
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def _native_stderr_to_devnull():
    """Send native writes to file descriptor 2 to /dev/null; keep Python's stderr.

    While descriptor 2 points at ``/dev/null``, a ``sys.stderr`` that writes to
    that descriptor is replaced by one that writes to the original stream, so
    warnings and tracebacks from Python still reach the user.
    """
    try:
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # not a file (IDE, capture)
        python_on_fd2 = False
    with _silenced_stderr():
        if not python_on_fd2 or not _ORIGINAL_FD:
            yield
            return
        original = sys.stderr
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(_ORIGINAL_FD[-1]), "wb"),
                                      encoding=original.encoding,
                                      errors=original.errors, line_buffering=True)
        try:
            yield
        finally:
            replacement, sys.stderr = sys.stderr, original
            replacement.close()


@contextlib.contextmanager
def quiet_tensorflow():
    """Silence TensorFlow's C++ and Python loggers for the duration of the block.

    Used around skgmmvi's own calls only: the levels in force before (for
    instance, a user's own ``tf.get_logger().setLevel``) are restored on exit.
    Blocks nest, and concurrent threads share the outermost one.
    """
    global _QUIET_DEPTH
    with _LOCK:
        _QUIET_DEPTH += 1
        outermost = _QUIET_DEPTH == 1
    try:
        if not outermost:
            yield
            return
        tf = sys.modules.get("tensorflow")
        logger = tf.get_logger() if tf is not None and hasattr(tf, "get_logger") else None
        level = logger.level if logger is not None else None
        if logger is not None:
            logger.setLevel("ERROR")
        try:
            with _native_stderr_to_devnull():
                yield
        finally:
            if logger is not None:
                logger.setLevel(level)
    finally:
        with _LOCK:
            _QUIET_DEPTH -= 1


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
