"""One thread for small numpy/BLAS and OpenMP work.

On a busy machine a team of BLAS or OpenMP threads that wait for each other
makes small work many times slower than one thread (measured with
``benchmarks/bench_latency.py``: a 10-iteration EM fit of 30 000 x 16, K=8 took
19 s with two OpenBLAS threads under load, 0.8 s with one).
"""

import contextlib
import functools


@functools.lru_cache(maxsize=1)
def _threadpool_controller():
    """threadpoolctl's controller of the loaded thread pools (built once: it scans
    the loaded libraries)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def one_thread(user_api):
    """Limit the ``user_api`` ('blas' or 'openmp') thread pools to one thread."""
    with _threadpool_controller().limit(limits=1, user_api=user_api):
        yield
