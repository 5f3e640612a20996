"""Benchmark: skgmmvi.BayesianGaussianMixture against scikit-learn's.

What is measured
----------------
For each configuration (rows N, features D, components K, covariance type,
weight concentration prior type), both libraries fit the same synthetic
Gaussian mixture (float64) from the same start for a fixed number of
variational iterations (``tol=0``, ``max_iter=--iters``, ``n_init=1``).
Reported per configuration:

* the wall time of ``fit`` of each library (``time.perf_counter``; median over
  ``--repeats`` fits) and the speed-up (scikit-learn's time / skgmmvi's),
* the process's CPU time of the same fits (``time.process_time``; median), which
  on a loaded machine says more about the work done than the wall time,
* the final ``lower_bound_`` of each and their relative difference
  ``|sklearn - skgmmvi| / |skgmmvi|`` (issue 16's goal: at least 10x faster at
  N=100 000, D=16, K=16, 'full', with the lower bounds equal to 1e-6 relative),
* the start check: the relative difference of the lower bounds after the
  first iteration (``lower_bounds_[0]``), which shows that both started from
  the same parameters, and the largest difference of the fitted ``means_``
  relative to the largest absolute mean.

How
---
Neither estimator takes initial parameters, so both get the same
``random_state`` and ``init_params`` (``"random_from_data"`` by default: K
distinct rows drawn by the seeded RandomState, the cheapest initialisation, so
the time is that of the variational loop). skgmmvi draws its start exactly as
scikit-learn does; the start-check column verifies it on every run.

Every (configuration, library) cell runs in a fresh child process (this script
re-invoked with a hidden ``--child`` argument, using the helpers of
``bench_em.py``). The child generates the data (``bench_em.make_mixture_data``,
fixed seed), imports its library and fits once untimed on the first rows (one
iteration; for skgmmvi with ``backend="auto"`` once on each backend), so that
TensorFlow's start-up and tracing are not timed. Then it times the fits.

``--threads single,default`` (the default) runs the whole table twice: once
with one thread each side (``bench_em.THREAD_SETTINGS["single"]``:
``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1`` for scikit-learn's
BLAS and OpenMP and skgmmvi's numpy chunk workers,
``TF_NUM_INTRAOP_THREADS=TF_NUM_INTEROP_THREADS=1`` for TensorFlow's pools;
before 2026-12-06 14:40 UTC TensorFlow's pools kept their default) and once with
the default thread counts. The load of the machine (``uptime``)
is printed before and after: wall times move with it on a shared machine.

Usage
-----
::

    python benchmarks/bench_bgm.py [--quick] [--repeats 3] [--iters 20]
                                   [--configs 0,1] [--threads single,default]
                                   [--backend auto] [--init-params random_from_data]
                                   [--rst]

``--quick`` divides every N by 10 (smoke run); ``--configs`` selects
configurations by index (see ``CONFIGS``); ``--backend`` is skgmmvi's
``backend`` parameter; ``--rst`` also prints each table as a reStructuredText
simple table.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_em  # noqa: E402  (sibling script: data, child processes, tables)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (n_samples, n_features, n_components, covariance_type, prior type); float64.
#: The first is issue 16's headline.
CONFIGS = [
    (100_000, 16, 16, "full", "dirichlet_process"),
    (10_000, 8, 8, "full", "dirichlet_process"),
    (100_000, 16, 16, "diag", "dirichlet_process"),
    (20_000, 2, 10, "full", "dirichlet_distribution"),
]
HEADLINE = 0
GOAL_SPEED_UP = 10.0
GOAL_LOWER_BOUND_RTOL = 1e-6
LIBRARIES = ("sklearn", "skgmmvi")
DTYPE = "float64"
RANDOM_STATE = 0
WARMUP_ROWS = 1000
SINGLE_THREAD = bench_em.THREAD_SETTINGS["single"][0]
PRIOR_ABBREVIATIONS = {"dirichlet_process": "DP", "dirichlet_distribution": "Dir"}


# ------------------------------------------------------------------------- child
def make_estimator(library, spec, max_iter, backend=None):
    """A fresh Bayesian mixture of ``library`` with a fixed iteration count.

    Parameters
    ----------
    library : {"sklearn", "skgmmvi"}
    spec : dict
        Keys ``n_components``, ``covariance_type``, ``prior_type``,
        ``init_params`` and ``backend`` (see :func:`run_child`).
    max_iter : int
        With ``tol=0`` every fit runs exactly this many iterations.
    backend : str, default=None
        skgmmvi's ``backend``; None means ``spec["backend"]``.

    Returns
    -------
    estimator : BayesianGaussianMixture
        scikit-learn's or skgmmvi's.
    """
    common = dict(n_components=spec["n_components"],
                  covariance_type=spec["covariance_type"],
                  weight_concentration_prior_type=spec["prior_type"],
                  tol=0.0, max_iter=max_iter, n_init=1,
                  init_params=spec["init_params"], random_state=RANDOM_STATE)
    if library == "sklearn":
        from sklearn.mixture import BayesianGaussianMixture

        return BayesianGaussianMixture(**common)
    if library == "skgmmvi":
        from skgmmvi import BayesianGaussianMixture

        return BayesianGaussianMixture(
            dtype=DTYPE, backend=spec["backend"] if backend is None else backend,
            **common)
    raise ValueError(f"unknown library {library!r}")


def warm_up(library, spec, X):
    """Untimed one-iteration fits on the first rows: imports, tracing, thread pools.

    For skgmmvi with ``backend="auto"`` both backends are warmed up, as either
    may run the timed fits.

    Parameters
    ----------
    library : {"sklearn", "skgmmvi"}
    spec : dict
        See :func:`run_child`.
    X : ndarray of shape (n_samples, n_features)
    """
    backends = [None]
    if library == "skgmmvi" and spec["backend"] == "auto":
        backends = ["numpy", "tensorflow"]
    for backend in backends:
        make_estimator(library, spec, max_iter=1, backend=backend).fit(X[:WARMUP_ROWS])
    gc.collect()


def run_child(spec):
    """Measure one (configuration, library) cell in this process.

    Parameters
    ----------
    spec : dict
        Keys ``library``, ``n_samples``, ``n_features``, ``n_components``,
        ``covariance_type``, ``prior_type``, ``init_params``, ``backend``,
        ``iters``, ``repeats``.

    Returns
    -------
    result : dict
        ``time`` (median seconds), ``times``, ``lower_bound``,
        ``first_lower_bound``, ``means``, ``n_iter``, ``backend`` and, for
        skgmmvi, library versions.
    """
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    library = spec["library"]
    X = bench_em.make_mixture_data(spec["n_samples"], spec["n_features"],
                                   spec["n_components"], DTYPE)
    warm_up(library, spec, X)
    times, cpu_times = [], []
    for _ in range(spec["repeats"]):
        estimator = None
        gc.collect()
        estimator = make_estimator(library, spec, max_iter=spec["iters"])
        start, cpu_start = time.perf_counter(), time.process_time()
        estimator.fit(X)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    result = {
        "time": statistics.median(times),
        "times": times,
        "cpu": statistics.median(cpu_times),
        "lower_bound": float(estimator.lower_bound_),
        "first_lower_bound": float(estimator.lower_bounds_[0]),
        "means": np.asarray(estimator.means_, dtype=float).tolist(),
        "n_iter": int(estimator.n_iter_),
        "backend": bench_em.backend_used(estimator, X),
    }
    if library == "skgmmvi":
        import skgmmvi

        result["skgmmvi_version"] = skgmmvi.__version__
        if "tensorflow" in sys.modules:
            result["tensorflow_version"] = sys.modules["tensorflow"].__version__
    return result


# ------------------------------------------------------------------------ tables
TABLE_COLUMNS = ["N", "D", "K", "cov", "prior", "backend", "sklearn [s]",
                 "skgmmvi [s]", "speed-up", "sklearn CPU [s]", "skgmmvi CPU [s]",
                 "sklearn LB", "skgmmvi LB", "LB rel. diff", "start LB rel. diff",
                 "means rel. diff"]
RIGHT_ALIGNED = {0, 1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}


def relative_difference(reference, value):
    """``|reference - value| / |value|``, elementwise maximum for arrays.

    Parameters
    ----------
    reference, value : float or array-like
        For arrays, the largest absolute difference is divided by the largest
        absolute entry of ``value``.

    Returns
    -------
    difference : float
    """
    reference, value = np.asarray(reference, float), np.asarray(value, float)
    return float(np.max(np.abs(reference - value)) / np.max(np.abs(value)))


def agreement(sklearn_result, skgmmvi_result):
    """Speed-up and the three agreement measures of one configuration.

    Parameters
    ----------
    sklearn_result, skgmmvi_result : dict
        Child results.

    Returns
    -------
    measures : dict
        ``speed_up``, ``lower_bound``, ``start`` and ``means`` (relative
        differences, see the module docstring).
    """
    sk, ours = sklearn_result, skgmmvi_result
    return {
        "speed_up": sk["time"] / ours["time"],
        "lower_bound": relative_difference(sk["lower_bound"], ours["lower_bound"]),
        "start": relative_difference(sk["first_lower_bound"], ours["first_lower_bound"]),
        "means": relative_difference(sk["means"], ours["means"]),
    }


def table_row(config, sklearn_result, skgmmvi_result):
    """The cells of one table row.

    Parameters
    ----------
    config : tuple
        (n_samples, n_features, n_components, covariance_type, prior_type).
    sklearn_result, skgmmvi_result : dict or None
        Child results; None prints as "failed".

    Returns
    -------
    cells : list of str
    """
    n_samples, n_features, n_components, covariance_type, prior_type = config
    sk, ours = sklearn_result, skgmmvi_result
    cells = [f"{n_samples:,}", str(n_features), str(n_components), covariance_type,
             PRIOR_ABBREVIATIONS[prior_type], ours["backend"] if ours else "-"]
    cells.append(f"{sk['time']:.3f}" if sk else "failed")
    cells.append(f"{ours['time']:.3f}" if ours else "failed")
    measures = agreement(sk, ours) if sk and ours else None
    cells.append(f"{measures['speed_up']:.1f}x" if measures else "-")
    cells.append(f"{sk['cpu']:.3f}" if sk else "failed")
    cells.append(f"{ours['cpu']:.3f}" if ours else "failed")
    cells.append(f"{sk['lower_bound']:.10g}" if sk else "failed")
    cells.append(f"{ours['lower_bound']:.10g}" if ours else "failed")
    for key in ("lower_bound", "start", "means"):
        cells.append(f"{measures[key]:.1e}" if measures else "-")
    return cells


def goal_line(config, sklearn_result, skgmmvi_result):
    """Whether issue 16's goal is met on the headline configuration.

    Parameters
    ----------
    config : tuple
    sklearn_result, skgmmvi_result : dict or None

    Returns
    -------
    line : str
    """
    prefix = (f"Goal (issue 16): >= {GOAL_SPEED_UP:.0f}x faster at lower bounds equal "
              f"to {GOAL_LOWER_BOUND_RTOL:.0e} relative on {config}: ")
    if not (sklearn_result and skgmmvi_result):
        return prefix + "not measured (a child failed)"
    measures = agreement(sklearn_result, skgmmvi_result)
    met = (measures["speed_up"] >= GOAL_SPEED_UP
           and measures["lower_bound"] <= GOAL_LOWER_BOUND_RTOL)
    return prefix + ("met" if met else "NOT met") + (
        f" ({measures['speed_up']:.1f}x, rel. diff {measures['lower_bound']:.1e})")


def header_lines(args, versions, threads):
    """Lines describing the machine, versions and method, printed above a table.

    Parameters
    ----------
    args : argparse.Namespace
    versions : dict
        Library name -> version string.
    threads : {"single", "default"}

    Returns
    -------
    lines : list of str
    """
    version_text = ", ".join(f"{name} {version}" for name, version in versions.items())
    thread_text = (bench_em.THREAD_SETTINGS["single"][1] if threads == "single"
                   else "default thread counts")
    return [
        f"== threads: {thread_text} ==",
        f"Versions: {version_text}",
        f"Iterations per fit: {args.iters} (tol=0, n_init=1, init_params="
        f"{args.init_params!r}, random_state={RANDOM_STATE} for both, {DTYPE}); fit "
        f"time = median of {args.repeats} repeat(s)" + ("; --quick: N / 10"
                                                         if args.quick else ""),
        "Each library: untimed 1-iteration warm-up fit(s) on the first "
        f"{WARMUP_ROWS} rows in the same fresh process first (TensorFlow tracing "
        "not timed).",
        "LB = lower_bound_; rel. diff = |sklearn - skgmmvi| / |skgmmvi|; start LB = "
        "lower_bounds_[0] (same start check); means rel. diff = max |difference| / "
        "max |mean|.",
    ]


# -------------------------------------------------------------------------- main
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
        description="Benchmark skgmmvi.BayesianGaussianMixture against "
                    "sklearn.mixture.BayesianGaussianMixture.")
    bench_em.add_common_arguments(parser, CONFIGS, iteration_name="variational")
    parser.add_argument("--threads", default="single,default",
                        help="comma-separated thread settings among 'single' and "
                             "'default' (default: both)")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", "numpy", "tensorflow"],
                        help="skgmmvi's backend parameter (default 'auto')")
    parser.add_argument("--init-params", default="random_from_data",
                        choices=["kmeans", "k-means++", "random", "random_from_data"],
                        help="init_params of both estimators (default "
                             "'random_from_data')")
    args = parser.parse_args(argv)
    bench_em.check_common_arguments(parser, args, CONFIGS)
    args.thread_settings = [part for part in args.threads.split(",") if part]
    if not args.thread_settings or not set(args.thread_settings) <= {"single", "default"}:
        parser.error("--threads takes 'single', 'default' or 'single,default'")
    return args


def measure_configuration(args, config, threads, versions, problems):
    """Both libraries' child results for one configuration and thread setting.

    Parameters
    ----------
    args : argparse.Namespace
    config : tuple
        (n_samples, n_features, n_components, covariance_type, prior_type).
    threads : {"single", "default"}
    versions : dict
        Updated with the versions the children report.
    problems : list of str
        Appended with fits that did not run the requested number of iterations.

    Returns
    -------
    results : dict
        Library name -> child result (None when the child failed).
    """
    n_samples, n_features, n_components, covariance_type, prior_type = config
    environment = SINGLE_THREAD if threads == "single" else {}
    results = {}
    for library in LIBRARIES:
        print(f"{config} {threads} threads, {library} ...", file=sys.stderr, flush=True)
        spec = dict(library=library, n_samples=n_samples, n_features=n_features,
                    n_components=n_components, covariance_type=covariance_type,
                    prior_type=prior_type, init_params=args.init_params,
                    backend=args.backend, iters=args.iters, repeats=args.repeats)
        result = bench_em.measure_in_child(spec, script=os.path.abspath(__file__),
                                           extra_environment=environment)
        results[library] = result
        if result is None:
            continue
        for key, name in (("skgmmvi_version", "skgmmvi"),
                          ("tensorflow_version", "tensorflow")):
            if key in result:
                versions[name] = result[key]
        if result["n_iter"] != args.iters:
            problems.append(f"{config} {threads} {library}: n_iter_={result['n_iter']}")
    return results


def run_thread_setting(args, threads, versions):
    """Measure every selected configuration with one thread setting and print the table.

    Parameters
    ----------
    args : argparse.Namespace
    threads : {"single", "default"}
    versions : dict
        Library name -> version, updated by the children.
    """
    rows, problems, goal = [], [], None
    for index in args.config_indices:
        n_samples, *rest = CONFIGS[index]
        config = (n_samples // 10 if args.quick else n_samples, *rest)
        results = measure_configuration(args, config, threads, versions, problems)
        rows.append(table_row(config, results["sklearn"], results["skgmmvi"]))
        if index == HEADLINE and not args.quick:
            goal = goal_line(config, results["sklearn"], results["skgmmvi"])
    print()
    print("\n".join(header_lines(args, versions, threads)))
    print()
    print(bench_em.format_table(rows, columns=TABLE_COLUMNS, right_aligned=RIGHT_ALIGNED))
    if goal:
        print(goal)
    if problems:
        print("Warning: fits that did not run the requested number of iterations:")
        print("\n".join("  " + problem for problem in problems))
    if args.rst:
        print()
        print(bench_em.format_table(rows, rst=True, columns=TABLE_COLUMNS,
                                    right_aligned=RIGHT_ALIGNED))


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

    import platform

    import sklearn

    print(f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}")
    print(f"Load before: {bench_em.machine_load()}")
    versions = {"numpy": np.__version__, "scikit-learn": sklearn.__version__}
    for threads in args.thread_settings:
        run_thread_setting(args, threads, versions)
    print(f"\nLoad after: {bench_em.machine_load()}")


if __name__ == "__main__":
    main()
