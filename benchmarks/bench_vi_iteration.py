"""Benchmark: CPU time of one compiled VI iteration at small D with many components,
two source trees side by side (e.g. before and after a change).

The problem is the seed problem of ``tests/test_vi_quality.py`` (the posterior of
a 3-component 1-D mixture model, D = 8) with ``n_components`` fixed components
(default 50, so 12 500 samples per iteration), started from the prior. One
iteration's time is ``(t(33 iterations) - t(3 iterations)) / 30`` of two fits
(the tracing, set-up and post-fit check cancel), as process CPU time (less
sensitive to a loaded machine than wall time) and wall time; also the Stein
estimate alone on random rows of the same shape. Each tree runs in its own
process (``PYTHONPATH`` set to the tree), the trees alternately, ``--rounds``
times; medians are printed per tree. Run with ``OMP_NUM_THREADS=1
TF_NUM_INTRAOP_THREADS=1`` as the test session does::

    python benchmarks/bench_vi_iteration.py --trees /path/to/main,. --rounds 3
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def iteration_times(n_components, repeats):
    """``(cpu ms, wall ms)`` per iteration, medians of ``repeats`` measurements."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import MixtureModelPosterior

    def fit(n_iterations):
        VariationalGMMTarget(MixtureModelPosterior(), n_components=n_components,
                             init="prior", adaptive_components=False, tol=None,
                             max_iter=n_iterations, random_state=0).fit()

    def timed(n_iterations):
        cpu, wall = time.process_time(), time.perf_counter()
        fit(n_iterations)
        return time.process_time() - cpu, time.perf_counter() - wall

    fit(3)  # traces
    rows = []
    for _ in range(repeats):
        long, short = np.array(timed(33)), np.array(timed(3))
        rows.append((long - short) / 30 * 1e3)
    return tuple(float(v) for v in np.median(rows, axis=0))


def stein_estimate_ms(n_features, n_components, n_rows, repeats):
    """CPU ms of one compiled Stein estimate on random rows (median)."""
    from skgmmvi._tf._runtime import tensorflow
    from skgmmvi._tf.vi import mixture, ng_estimation

    tf = tensorflow()
    rng = np.random.RandomState(0)
    factors = rng.normal(size=(n_components, n_features, n_features))
    covariances = factors @ np.transpose(factors, (0, 2, 1)) + np.eye(n_features)
    state = mixture.initial_mixture(rng.normal(scale=2.0, size=(n_components, n_features)),
                                    covariances, n_components, np.float64)
    x = rng.normal(scale=3.0, size=(n_rows, n_features))
    batch = {"x": x, "valid": np.ones(n_rows, bool), "log_density": -0.5 * np.sum(x**2, 1),
             "grad": -x, "background_log_weights": np.full(n_components, -np.log(n_components))}
    state = {k: tf.constant(v) for k, v in state.items()}
    batch = {k: tf.constant(v) for k, v in batch.items()}
    hyper = {"temperature": tf.constant(1.0, tf.float64)}
    estimate = tf.function(lambda s, b: ng_estimation.SteinEstimator().estimate(s, hyper, b))
    estimate(state, batch)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        estimate(state, batch)["grad"].numpy()
        times.append(time.process_time() - start)
    return float(np.median(times) * 1e3)


def worker(n_components, repeats):
    """(In a child process.) Print the figures of the tree on ``sys.path`` as JSON."""
    cpu, wall = iteration_times(n_components, repeats)
    print(json.dumps({"iteration_cpu": cpu, "iteration_wall": wall,
                      "stein_cpu": stein_estimate_ms(8, n_components, 250 * n_components,
                                                     5 * repeats)}))


def load():
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", default=".", help="comma-separated source trees")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.components, args.repeats)
    trees = [os.path.abspath(tree) for tree in args.trees.split(",")]
    figures = {tree: [] for tree in trees}
    for round_ in range(args.rounds):
        for tree in trees:
            command = [sys.executable, os.path.abspath(__file__), "--worker",
                       "--components", str(args.components), "--repeats", str(args.repeats)]
            output = subprocess.run(command, capture_output=True, text=True, check=True,
                                    env=dict(os.environ, PYTHONPATH=tree), cwd=tree).stdout
            figures[tree].append(json.loads(output.strip().splitlines()[-1]))
            print(f"round {round_ + 1} {tree}: {figures[tree][-1]} ({load()})", flush=True)
    print(f"\nmedians over {args.rounds} rounds, K = {args.components}, D = 8, "
          f"{250 * args.components} samples per iteration (ms)")
    print(f"{'tree':40s} {'iter CPU':>9s} {'iter wall':>9s} {'Stein CPU':>9s}")
    for tree, rows in figures.items():
        medians = [np.median([row[key] for row in rows])
                   for key in ("iteration_cpu", "iteration_wall", "stein_cpu")]
        print(f"{tree[-40:]:40s} " + " ".join(f"{m:9.1f}" for m in medians))


if __name__ == "__main__":
    main()
