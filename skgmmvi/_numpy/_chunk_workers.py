"""Chunks of rows processed by a few worker threads, their results summed in order.

An EM pass over the rows is a sum over chunks of independent terms. numpy and
OpenBLAS release the GIL in everything a chunk does (the two matrix products,
the feature products, ``exp``), so a pool of Python threads, each running BLAS
on one thread, works on different chunks at the same time. A thread takes the
next chunk when it finishes one, so a core that the machine's other work slows
down simply does fewer chunks; nothing waits for a slow partner until the end
of the pass (unlike a team of BLAS threads, which meets at every product).

The results are added in chunk order, whatever thread computed them, so a pass
gives the same numbers, bit for bit, with any number of workers.

There is one worker per core the process may use (at most :data:`MAX_WORKERS`),
and no more than a thread limit set in the environment allows
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS``, the
smallest): that is how users, and joblib in its worker processes, keep numpy
code from oversubscribing the cores, and scikit-learn honours it too. Small
passes (below :data:`MIN_PARALLEL_WORK`) run in the calling thread.
"""

import concurrent.futures
import os
import threading

from ._threads import one_thread

#: Work of one pass (rows x components x features of phi) from which it pays
#: to hand chunks to worker threads: below it, one thread in order (the start-up
#: of a pass on several threads costs about as much as 1e6 of work).
MIN_PARALLEL_WORK = 2e7

#: At most this many worker threads, whatever the number of cores.
MAX_WORKERS = 8

_lock = threading.Lock()
_pool = {"pid": None, "executor": None}


def available_cores():
    """The number of cores this process may run on (its CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Environment variables whose smallest positive value limits the worker threads.
THREAD_LIMIT_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def environment_thread_limit():
    """The smallest positive thread limit set in :data:`THREAD_LIMIT_VARIABLES`,
    or None where none is set (or none is a positive integer)."""
    limits = []
    for variable in THREAD_LIMIT_VARIABLES:
        try:
            limits.append(int(os.environ.get(variable, "")))
        except ValueError:
            continue
    limits = [limit for limit in limits if limit > 0]
    return min(limits) if limits else None


def n_workers(work, n_chunks):
    """Worker threads for a pass of ``work`` over ``n_chunks`` chunks (1: no pool)."""
    if work < MIN_PARALLEL_WORK or n_chunks < 2:
        return 1
    limit = environment_thread_limit() or MAX_WORKERS
    return max(1, min(available_cores(), MAX_WORKERS, limit, n_chunks))


def _executor(workers):
    """The process's pool of worker threads, made anew after a fork or to grow."""
    with _lock:
        executor = _pool["executor"]
        if (executor is None or _pool["pid"] != os.getpid()
                or executor._max_workers < workers):
            if executor is not None and _pool["pid"] == os.getpid():
                executor.shutdown(wait=False)
            executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="skgmmvi-chunks")
            _pool.update(pid=os.getpid(), executor=executor)
        return executor


def sum_over_chunks(chunk_terms, starts, workers):
    """Sum ``chunk_terms(start, scratch)`` over ``starts``, in their order.

    Parameters
    ----------
    chunk_terms : callable
        ``chunk_terms(start, scratch) -> tuple`` of the chunk beginning at row
        ``start``; ``scratch`` is a dict private to the calling thread, where the
        function may keep buffers that it reuses from chunk to chunk.
    starts : sequence of int
        The first row of every chunk.
    workers : int
        Threads to use (1: in this thread, in order).

    Returns
    -------
    tuple
        The element-wise sums ``0 + t_0 + t_1 + ...`` of the chunks' tuples, in the
        order of ``starts`` (so the same numbers for any ``workers``).
    """
    if workers <= 1:
        scratch = {}
        return _in_order((chunk_terms(start, scratch) for start in starts))
    local = threading.local()

    def in_worker(start):
        if not hasattr(local, "scratch"):
            local.scratch = {}
        return chunk_terms(start, local.scratch)

    with one_thread("blas"):  # one BLAS thread per worker: no oversubscription
        return _in_order(_executor(workers).map(in_worker, starts))


def _in_order(terms):
    """Element-wise sums ``0 + t_0 + t_1 + ...`` of an iterable of tuples."""
    totals = None
    for term in terms:
        totals = (tuple(0.0 + t for t in term) if totals is None
                  else tuple(a + b for a, b in zip(totals, term)))
    return totals
