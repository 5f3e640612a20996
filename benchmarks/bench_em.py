"""Benchmark: skgmmvi.EMGaussianMixture against sklearn.mixture.GaussianMixture.

What is measured
----------------
For each configuration (rows N, features D, components K, covariance type) and
each compute precision (float64, float32), both libraries fit the same
synthetic Gaussian mixture from the same initial parameters for a fixed number
of EM iterations (``tol=0``, ``max_iter=--iters``, ``n_init=1``). Reported per
library:

* the wall time of ``fit`` (``time.perf_counter``; median over ``--repeats``),
* the mean log-likelihood ``est.score(X)`` of the fitted model on the training
  rows (each library scores the X it was fitted on, in the row's dtype), and
  the relative difference ``|sklearn - skgmmvi| / |skgmmvi|``,
* the peak memory increase of ``fit`` in MiB: the process's peak resident set
  size (``ru_maxrss``) after the timed fits minus its value just before them.

How
---
Every (configuration, dtype, library) cell runs in a fresh child process (this
script re-invoked with a hidden ``--child`` argument), so that memory peaks of
one library or configuration do not hide those of another. The child generates
the data (fixed numpy seed), computes the shared initial parameters, imports
its library and performs one untimed warm-up fit (one EM iteration on the
first 1000 rows), so that TensorFlow's one-off tracing of the compiled EM loop
is not counted (the compiled function takes shapes and the iteration count as
dynamic inputs, so the full-size fits reuse it).
Then, on Linux, it resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``) when allowed, so that transient memory of data
generation does not mask the fit's peak; the header says whether this worked.
Finally it runs the timed fits and prints one JSON line.

The data: K means drawn from N(0, 3^2) per coordinate (clusters overlap
moderately), one random covariance per component with eigenvalues in
[0.5, 2], equal weights. Initial parameters (identical for both libraries):
equal weights, means = K distinct rows of X chosen with a seeded RandomState,
precisions = inverse of the data covariance (the inverse of its diagonal for
'diag', the inverse of the mean variance for 'spherical'), shaped as
scikit-learn requires for the covariance type and cast to the row's dtype.
For float32 rows, both libraries get float32 X (scikit-learn then computes in
float32) and skgmmvi runs with ``dtype="float32"``.

Both estimators get ``init_params="random_from_data"``; as all three ``*_init``
arrays are given, neither library runs its initialisation procedure at all.

``--threads single,default`` runs the whole table once per setting: ``single``
sets ``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1`` in the children
(scikit-learn's BLAS and OpenMP; skgmmvi's numpy backend then runs one chunk
worker) and ``TF_NUM_INTRAOP_THREADS=TF_NUM_INTEROP_THREADS=1`` (TensorFlow's
own pools), so each side runs on one thread; ``default`` (the default) leaves
every thread count at its default (numpy's chunk workers and TensorFlow's pools:
one thread per core; small fits run in one thread). Before 2026-12-06 14:40 UTC
``single`` left TensorFlow's pools at their default. The load
of the machine (``uptime``) is printed before and after: wall times move with
it, and on a loaded machine the CPU-time columns say more about the work done.

Usage
-----
::

    python benchmarks/bench_em.py [--quick] [--repeats 3] [--iters 20] [--rst]
                                  [--configs 0,2] [--threads single,default]
                                  [--dtypes float64]

``--quick`` divides every N by 10 (smoke run); ``--configs`` selects
configurations by index (see ``CONFIGS``), each run in both dtypes; ``--rst``
also prints the table as a reStructuredText simple table.
"""

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (n_samples, n_features, n_components, covariance_type); each run in both dtypes.
CONFIGS = [
    (100_000, 16, 16, "full"),
    (200_000, 32, 32, "full"),
    (1_000_000, 8, 8, "diag"),
    (100_000, 16, 16, "tied"),
    (100_000, 16, 16, "spherical"),
    # Medium work, where backend="auto" chooses between numpy and a compiled loop.
    (40_000, 8, 8, "full"),
    (30_000, 16, 8, "full"),
]
DTYPES = ("float64", "float32")
LIBRARIES = ("sklearn", "skgmmvi")
DATA_SEED = 20240101
INIT_SEED = 0
WARMUP_ROWS = 1000
#: Irrelevant while all three *_init arrays are given (neither library then runs
#: it); the cheapest choice in case one is ever left out.
INIT_PARAMS = "random_from_data"
GENERATION_CHUNK_ROWS = 65536
#: ``--threads`` settings: (environment of the child processes, description).
#: OMP/OPENBLAS/MKL limit scikit-learn's BLAS and OpenMP; TensorFlow's thread
#: pools and the numpy backend's chunk workers keep one thread per core in both.
THREAD_SETTINGS = {
    "single": ({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                "TF_NUM_INTEROP_THREADS": "1"},
               "OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS="
               "TF_NUM_INTRAOP_THREADS=TF_NUM_INTEROP_THREADS=1 (one thread each side)"),
    "default": ({}, "default thread counts"),
}


# --------------------------------------------------------------------------- data
def make_mixture_data(n_samples, n_features, n_components, dtype, seed=DATA_SEED):
    """Draw rows from a random Gaussian mixture with equal weights.

    The rows are generated in float64 in chunks and written into an array of
    ``dtype``, so the float32 and float64 versions hold the same draws and no
    full-size float64 temporary is created.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    n_features : int
        Number of features.
    n_components : int
        Number of mixture components.
    dtype : {"float64", "float32"}
        The dtype of the returned array.
    seed : int, default=DATA_SEED
        Seed of the numpy generator.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The rows, shuffled, C-contiguous.
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 3.0, size=(n_components, n_features))
    cholesky_factors = []
    for _ in range(n_components):
        rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
        eigenvalues = rng.uniform(0.5, 2.0, size=n_features)
        covariance = (rotation * eigenvalues) @ rotation.T
        cholesky_factors.append(np.linalg.cholesky(covariance))

    counts = np.full(n_components, n_samples // n_components)
    counts[: n_samples % n_components] += 1
    X = np.empty((n_samples, n_features), dtype=dtype)
    row = 0
    for mean, factor, count in zip(means, cholesky_factors, counts):
        stop = row + count
        for start in range(row, stop, GENERATION_CHUNK_ROWS):
            end = min(start + GENERATION_CHUNK_ROWS, stop)
            noise = rng.standard_normal((end - start, n_features))
            X[start:end] = mean + noise @ factor.T
        row = stop
    rng.shuffle(X)  # in place, along the rows
    return X


def data_mean_and_covariance(X):
    """Mean and (biased) covariance of the rows, accumulated in float64 chunks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
    """
    n_samples, n_features = X.shape
    total = np.zeros(n_features)
    for start in range(0, n_samples, GENERATION_CHUNK_ROWS):
        total += X[start:start + GENERATION_CHUNK_ROWS].sum(axis=0, dtype=np.float64)
    mean = total / n_samples
    scatter = np.zeros((n_features, n_features))
    for start in range(0, n_samples, GENERATION_CHUNK_ROWS):
        centered = X[start:start + GENERATION_CHUNK_ROWS].astype(np.float64) - mean
        scatter += centered.T @ centered
    return mean, scatter / n_samples


def initial_parameters(X, n_components, covariance_type, seed=INIT_SEED):
    """Initial weights, means and precisions shared by both libraries.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training rows; the results have ``X.dtype``.
    n_components : int
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}
        Decides the shape of ``precisions_init``.
    seed : int, default=INIT_SEED
        Seed of the RandomState that picks the initial means among the rows.

    Returns
    -------
    inits : dict
        ``weights_init``, ``means_init`` and ``precisions_init``, ready to be
        passed as keyword arguments to either estimator.
    """
    n_samples, n_features = X.shape
    random_state = np.random.RandomState(seed)
    rows = random_state.choice(n_samples, size=n_components, replace=False)
    means = np.asarray(X[np.sort(rows)], dtype=np.float64)
    weights = np.full(n_components, 1.0 / n_components)
    _, covariance = data_mean_and_covariance(X)
    if covariance_type in ("full", "tied"):
        precision = np.linalg.inv(covariance)
        precision = 0.5 * (precision + precision.T)
        precisions = (precision if covariance_type == "tied"
                      else np.tile(precision, (n_components, 1, 1)))
    elif covariance_type == "diag":
        precisions = np.tile(1.0 / np.diag(covariance), (n_components, 1))
    elif covariance_type == "spherical":
        precisions = np.full(n_components, 1.0 / np.mean(np.diag(covariance)))
    else:
        raise ValueError(f"unknown covariance_type {covariance_type!r}")
    return {
        "weights_init": weights.astype(X.dtype),
        "means_init": means.astype(X.dtype),
        "precisions_init": np.ascontiguousarray(precisions, dtype=X.dtype),
    }


# ------------------------------------------------------------------------ memory
def reset_peak_rss():
    """Reset the kernel's peak-RSS counter of this process to its current RSS.

    Works on Linux (writing "5" to ``/proc/self/clear_refs``); elsewhere, or
    when not permitted, nothing happens.

    Returns
    -------
    reset : bool
        True when the counter was reset.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB.

    Returns
    -------
    peak : float
        ``ru_maxrss`` converted to MiB (it is in KiB on Linux, bytes on macOS).
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        return peak / 2**20
    return peak / 2**10


# ------------------------------------------------------------------------- child
def make_estimator(library, n_components, covariance_type, dtype, n_iter, inits,
                   backend="auto"):
    """A fresh estimator of ``library`` with a fixed iteration count.

    Parameters
    ----------
    library : {"sklearn", "skgmmvi"}
    n_components : int
    covariance_type : str
    dtype : {"float64", "float32"}
        Compute precision; only passed to skgmmvi (scikit-learn follows X).
    n_iter : int
        ``max_iter``; with ``tol=0`` every fit runs exactly this many steps.
    inits : dict
        Output of :func:`initial_parameters`.
    backend : {"auto", "numpy", "tensorflow"}, default="auto"
        skgmmvi's ``backend`` (ignored for scikit-learn).

    Returns
    -------
    estimator : GaussianMixture or EMGaussianMixture
    """
    common = dict(n_components=n_components, covariance_type=covariance_type,
                  tol=0.0, max_iter=n_iter, n_init=1, init_params=INIT_PARAMS,
                  random_state=0, **inits)
    if library == "sklearn":
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(**common)
    if library == "skgmmvi":
        from skgmmvi import EMGaussianMixture

        return EMGaussianMixture(dtype=dtype, backend=backend, **common)
    raise ValueError(f"unknown library {library!r}")


def backend_used(estimator, X):
    """The backend skgmmvi's ``backend="auto"`` picks for ``X`` ("-" for sklearn).

    Parameters
    ----------
    estimator : an estimator of either library
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    backend : str
    """
    if not hasattr(estimator, "backend"):
        return "-"
    choose = getattr(estimator, "_fit_backend", None)  # private: reported, not relied on
    if estimator.backend != "auto" or choose is None:
        return estimator.backend
    return choose(X.shape[0], X.shape[1], False)


def warm_up(new_estimator, library, X):
    """Untimed warm-up fits: imports, TensorFlow tracing, thread pools.

    One iteration suffices (the iteration count is a tensor input of the
    compiled loop) and avoids degenerate components that longer fits of few
    rows may produce. skgmmvi's ``backend="auto"`` fits the warm-up rows in
    numpy, so both backends are warmed up: either may run the timed fits.
    """
    for backend in (("numpy", "tensorflow") if library == "skgmmvi" else (None,)):
        estimator = new_estimator().set_params(max_iter=1)
        if backend is not None:
            estimator.set_params(backend=backend)
        estimator.fit(X[:WARMUP_ROWS])
        del estimator
    gc.collect()


def timed_fits(new_estimator, repeats, X):
    """Fit ``repeats`` fresh estimators on ``X``; the last one and the wall and
    CPU seconds of each fit."""
    times, cpu_times = [], []
    estimator = None
    for _ in range(repeats):
        estimator = None
        gc.collect()
        estimator = new_estimator()
        start, cpu_start = time.perf_counter(), time.process_time()
        estimator.fit(X)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return estimator, times, cpu_times


def run_child(spec):
    """Measure one (configuration, dtype, library) cell in this process.

    Generates the data, warms the library up on the first rows, then times
    ``spec["repeats"]`` fits and records the peak-memory increase and the
    final score.

    Parameters
    ----------
    spec : dict
        Keys ``library``, ``n_samples``, ``n_features``, ``n_components``,
        ``covariance_type``, ``dtype``, ``iters``, ``repeats``.

    Returns
    -------
    result : dict
        ``time`` (median seconds), ``times``, ``score``, ``peak_mib``,
        ``n_iter``, ``peak_reset`` and library versions.
    """
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    library = spec["library"]
    X = make_mixture_data(spec["n_samples"], spec["n_features"],
                          spec["n_components"], spec["dtype"])
    inits = initial_parameters(X, spec["n_components"], spec["covariance_type"])

    def new_estimator():
        return make_estimator(library, spec["n_components"], spec["covariance_type"],
                              spec["dtype"], spec["iters"], inits,
                              spec.get("backend", "auto"))

    warm_up(new_estimator, library, X)
    peak_reset = reset_peak_rss()
    rss_before = peak_rss_mib()
    estimator, times, cpu_times = timed_fits(new_estimator, spec["repeats"], X)
    peak_increase = peak_rss_mib() - rss_before

    result = {
        "time": statistics.median(times),
        "times": times,
        "cpu": statistics.median(cpu_times),
        "score": float(estimator.score(X)),
        "peak_mib": peak_increase,
        "n_iter": int(estimator.n_iter_),
        "peak_reset": peak_reset,
        "backend": backend_used(estimator, X),
    }
    if library == "skgmmvi":
        import tensorflow as tf

        import skgmmvi

        result["tensorflow_version"] = tf.__version__
        result["skgmmvi_version"] = skgmmvi.__version__
    return result


def measure_in_child(spec, script=None, extra_environment=None):
    """Run a benchmark script's child mode in a fresh Python process.

    Parameters
    ----------
    spec : dict
        See :func:`run_child`; passed to the child as JSON after ``--child``.
    script : str, default=None
        The script to re-invoke (it must accept ``--child SPEC`` and print its
        result as the last line of JSON); None means this file.
    extra_environment : dict, default=None
        Variables added to the child's environment (e.g. thread counts).

    Returns
    -------
    result : dict or None
        The child's result, or None when the child failed (its stderr is
        echoed to this process's stderr).
    """
    script = os.path.abspath(__file__) if script is None else script
    command = [sys.executable, script, "--child", json.dumps(spec)]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(extra_environment or {}))
    completed = subprocess.run(command, capture_output=True, text=True,
                               env=environment, check=False)
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        print(f"child failed ({spec['library']}, {spec}):\n{completed.stderr[-3000:]}",
              file=sys.stderr)
        return None
    return json.loads(lines[-1])


# ------------------------------------------------------------------------ tables
TABLE_COLUMNS = ["N", "D", "K", "cov", "dtype", "backend", "sklearn [s]",
                 "skgmmvi [s]", "speed-up", "sklearn CPU [s]", "skgmmvi CPU [s]",
                 "sklearn loglik", "skgmmvi loglik", "rel. diff", "sklearn +MiB",
                 "skgmmvi +MiB"]
RIGHT_ALIGNED = {0, 1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}


def table_row(config, dtype, sklearn_result, skgmmvi_result):
    """The cells of one table row.

    Parameters
    ----------
    config : tuple
        (n_samples, n_features, n_components, covariance_type).
    dtype : str
    sklearn_result, skgmmvi_result : dict or None
        Child results; None prints as "failed".

    Returns
    -------
    cells : list of str
    """
    n_samples, n_features, n_components, covariance_type = config
    sk, ours = sklearn_result, skgmmvi_result
    cells = [f"{n_samples:,}", str(n_features), str(n_components), covariance_type,
             dtype, ours["backend"] if ours else "-"]
    cells.append(f"{sk['time']:.3f}" if sk else "failed")
    cells.append(f"{ours['time']:.3f}" if ours else "failed")
    cells.append(f"{sk['time'] / ours['time']:.1f}x" if sk and ours else "-")
    cells.append(f"{sk['cpu']:.3f}" if sk else "failed")
    cells.append(f"{ours['cpu']:.3f}" if ours else "failed")
    cells.append(f"{sk['score']:.6f}" if sk else "failed")
    cells.append(f"{ours['score']:.6f}" if ours else "failed")
    if sk and ours:
        difference = abs(sk["score"] - ours["score"]) / abs(ours["score"])
        cells.append(f"{difference:.1e}")
    else:
        cells.append("-")
    cells.append(f"{sk['peak_mib']:.1f}" if sk else "failed")
    cells.append(f"{ours['peak_mib']:.1f}" if ours else "failed")
    return cells


def column_widths(rows, columns=TABLE_COLUMNS):
    """Width of each column: the longest of its header and cells.

    Parameters
    ----------
    rows : list of list of str
    columns : list of str, default=TABLE_COLUMNS
        The column headers.

    Returns
    -------
    widths : list of int
    """
    return [max(len(text) for text in column) for column in zip(columns, *rows)]


def _aligned(cells, widths, right_aligned):
    return "  ".join(text.rjust(width) if index in right_aligned else text.ljust(width)
                     for index, (text, width) in enumerate(zip(cells, widths))).rstrip()


def format_table(rows, rst=False, columns=TABLE_COLUMNS, right_aligned=RIGHT_ALIGNED):
    """The results as a fixed-width text table, or a reStructuredText simple table.

    Parameters
    ----------
    rows : list of list of str
        Cells from :func:`table_row`.
    rst : bool, default=False
        Frame the table with ``=`` rules as reStructuredText requires.
    columns : list of str, default=TABLE_COLUMNS
        The column headers.
    right_aligned : set of int, default=RIGHT_ALIGNED
        Indices of the columns aligned to the right (numbers).

    Returns
    -------
    text : str
    """
    widths = column_widths(rows, columns)
    rule = "  ".join(("=" if rst else "-") * width for width in widths)
    lines = ([rule] if rst else []) + [_aligned(columns, widths, right_aligned), rule]
    lines += [_aligned(cells, widths, right_aligned) for cells in rows]
    if rst:
        lines.append(rule)
    return "\n".join(lines)


def header_lines(args, versions, peak_reset):
    """Lines describing the machine, versions and method, printed above the table.

    Parameters
    ----------
    args : argparse.Namespace
    versions : dict
        Library name -> version string.
    peak_reset : bool or None
        Whether the children could reset the peak-RSS counter (None: unknown).

    Returns
    -------
    lines : list of str
    """
    version_text = ", ".join(f"{name} {version}" for name, version in versions.items())
    memory_note = {
        True: "peak RSS counter reset before the timed fits",
        False: "peak RSS counter could not be reset: increases above the "
               "data-generation peak only",
        None: "peak RSS method unknown",
    }[peak_reset]
    return [
        f"== threads: {THREAD_SETTINGS[args.current_threads][1]} ==",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}",
        f"Versions: {version_text}",
        f"EM iterations per fit: {args.iters} (tol=0, n_init=1, same initial "
        f"parameters for both); fit time = median of {args.repeats} repeat(s)"
        + ("; --quick: N / 10" if args.quick else ""),
        "Each library: untimed warm-up fit(s) (1 iteration, first "
        f"{WARMUP_ROWS} rows; skgmmvi on both backends) in the same process first "
        "(TensorFlow tracing not timed).",
        "All three *_init arrays given: no initialisation procedure runs in either.",
        "loglik = est.score(X) on the training rows; rel. diff = |sklearn - skgmmvi| "
        "/ |skgmmvi|; +MiB = peak RSS increase during the timed fits "
        f"(fresh process per cell; {memory_note}).",
    ]


# -------------------------------------------------------------------------- main
def add_common_arguments(parser, configs, iteration_name="EM"):
    """Add the options shared with sibling benchmarks to ``parser``.

    ``--quick``, ``--configs``, ``--repeats``, ``--iters``, ``--rst`` and the
    hidden ``--child``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    configs : list of tuple
        The configurations that ``--configs`` selects from by index.
    iteration_name : str, default="EM"
        What one iteration is called in the help of ``--iters``.
    """
    parser.add_argument("--quick", action="store_true",
                        help="divide every N by 10 (smoke run)")
    parser.add_argument("--configs", default=None,
                        help="comma-separated configuration indices (default: all of "
                             + ", ".join(f"{i}={c}" for i, c in enumerate(configs)) + ")")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed fits per cell; the median is reported (default 3)")
    parser.add_argument("--iters", type=int, default=20,
                        help=f"{iteration_name} iterations per fit (default 20)")
    parser.add_argument("--rst", action="store_true",
                        help="also print the table as a reStructuredText simple table")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)


def check_common_arguments(parser, args, configs):
    """Check the options of :func:`add_common_arguments`; set ``args.config_indices``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Reports bad values (and exits).
    args : argparse.Namespace
        The parsed arguments; gains ``config_indices`` (list of int).
    configs : list of tuple
        The configurations that ``--configs`` selects from by index.
    """
    if args.repeats < 1 or args.iters < 1:
        parser.error("--repeats and --iters must be at least 1")
    if args.configs is None:
        args.config_indices = list(range(len(configs)))
        return
    try:
        args.config_indices = [int(part) for part in args.configs.split(",") if part]
    except ValueError:
        parser.error("--configs takes comma-separated integers")
    if not args.config_indices or not all(0 <= index < len(configs)
                                           for index in args.config_indices):
        parser.error(f"--configs: indices must be in 0..{len(configs) - 1}")


def parse_arguments(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None means ``sys.argv[1:]``.

    Returns
    -------
    args : argparse.Namespace
    """
    parser = argparse.ArgumentParser(
        description="Benchmark skgmmvi.EMGaussianMixture against "
                    "sklearn.mixture.GaussianMixture.")
    add_common_arguments(parser, CONFIGS)
    parser.add_argument("--threads", default="default",
                        help="comma-separated thread settings among 'single' (one "
                             "BLAS/OpenMP thread in the children) and 'default' "
                             "(default: 'default')")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", "numpy", "tensorflow"],
                        help="skgmmvi's backend parameter (default: 'auto'; the "
                             "table says which one ran)")
    parser.add_argument("--dtypes", default=",".join(DTYPES),
                        help="comma-separated compute dtypes (default: "
                             + ",".join(DTYPES) + ")")
    args = parser.parse_args(argv)
    check_common_arguments(parser, args, CONFIGS)
    args.thread_settings = [part for part in args.threads.split(",") if part]
    if not args.thread_settings or not set(args.thread_settings) <= set(THREAD_SETTINGS):
        parser.error("--threads takes 'single', 'default' or 'single,default'")
    args.dtype_list = [part for part in args.dtypes.split(",") if part]
    if not args.dtype_list or not set(args.dtype_list) <= set(DTYPES):
        parser.error("--dtypes takes 'float64', 'float32' or both, comma-separated")
    return args


def machine_load():
    """The output of ``uptime`` (or the load averages where it is missing).

    Returns
    -------
    text : str
    """
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg())


def measure_configuration(args, index, dtype, versions, problems):
    """Both libraries' child results for configuration ``index`` in ``dtype``.

    Parameters
    ----------
    args : argparse.Namespace
    index : int
    dtype : {"float64", "float32"}
    versions : dict
        Updated with the versions the children report.
    problems : list of str
        Appended with fits that did not run the requested number of iterations.

    Returns
    -------
    config : tuple
    results : dict
        Library name -> child result (None when the child failed).
    peak_resets : set of bool
    """
    n_samples, n_features, n_components, covariance_type = CONFIGS[index]
    if args.quick:
        n_samples //= 10
    config = (n_samples, n_features, n_components, covariance_type)
    results, peak_resets = {}, set()
    for library in LIBRARIES:
        print(f"[{index}] {config} {dtype} {library}, {args.current_threads} threads ...",
              file=sys.stderr, flush=True)
        spec = dict(library=library, n_samples=n_samples, n_features=n_features,
                    n_components=n_components, covariance_type=covariance_type,
                    dtype=dtype, iters=args.iters, repeats=args.repeats,
                    backend=args.backend)
        result = measure_in_child(
            spec, extra_environment=THREAD_SETTINGS[args.current_threads][0])
        results[library] = result
        if result is None:
            continue
        peak_resets.add(result["peak_reset"])
        if "tensorflow_version" in result:
            versions["tensorflow"] = result["tensorflow_version"]
            versions["skgmmvi"] = result["skgmmvi_version"]
        if result["n_iter"] != args.iters:
            problems.append(f"{config} {dtype} {library}: n_iter_={result['n_iter']}")
    return config, results, peak_resets


def run_thread_setting(args, versions):
    """Measure every selected cell with ``args.current_threads`` and print the table.

    Parameters
    ----------
    args : argparse.Namespace
    versions : dict
        Library name -> version, updated by the children.
    """
    rows, peak_resets, problems = [], set(), []
    for index in args.config_indices:
        for dtype in args.dtype_list:
            config, results, resets = measure_configuration(args, index, dtype,
                                                            versions, problems)
            peak_resets |= resets
            rows.append(table_row(config, dtype, results["sklearn"], results["skgmmvi"]))
    peak_reset = peak_resets.pop() if len(peak_resets) == 1 else None
    print()
    print("\n".join(header_lines(args, versions, peak_reset)))
    print()
    print(format_table(rows))
    if problems:
        print("\nWarning: fits that did not run the requested number of iterations:")
        print("\n".join("  " + problem for problem in problems))
    if args.rst:
        print()
        print(format_table(rows, rst=True))


def main(argv=None):
    """Run the benchmark (or, with the hidden ``--child``, one cell of it).

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None means ``sys.argv[1:]``.
    """
    args = parse_arguments(argv)
    if args.child is not None:
        sys.path.insert(0, REPO_ROOT)  # measure this checkout of skgmmvi
        print(json.dumps(run_child(json.loads(args.child))), flush=True)
        return

    import sklearn

    print(f"Load before: {machine_load()}")
    versions = {"numpy": np.__version__, "scikit-learn": sklearn.__version__}
    for threads in args.thread_settings:
        args.current_threads = threads
        run_thread_setting(args, versions)
    print(f"\nLoad after: {machine_load()}")


if __name__ == "__main__":
    main()
