"""Benchmark: tracing cost of MLEGaussianMixture's first fit of a covariance type.

What is measured
----------------
In a fresh process per (code base, covariance type): TensorFlow is imported and
one MLE fit of *another* covariance type warms everything shared (the runtime,
Adam's first use). Then two identical fits of the measured covariance type
(500 x 3 rows, K = 3, ``max_iter=5``) are timed. The first pays the tracing of
that type's kernels (the MLE training loop, and EM's initialisation kernels),
the second does not: the tracing cost is their difference. EMGaussianMixture's
own first-minus-second for the same type is measured in the same process, so the
MLE-only share can be read off (MLE minus EM).

``--kernel-only`` times the MLE training kernel alone the same way (the
backend's ``train`` on fixed parameters, first call minus second call, after a
warm-up call of another covariance type), without EM's initialisation kernels;
its last two columns then hold the CPU seconds (process time) of that
difference instead of EM's share, the better figure on a loaded machine.

The reference is another skgmmvi source tree (``--reference DIR``, a directory
holding its ``skgmmvi`` package, e.g. from ``git archive``); the ratio column is
this checkout over the reference. Medians over ``--repeats`` fresh processes.

Usage
-----
::

    python benchmarks/bench_tracing_mle.py --reference DIR [--repeats 3] [--kernel-only]
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def child(repo, covariance_type):
    sys.path.insert(0, repo)
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from skgmmvi import EMGaussianMixture, MLEGaussianMixture

    warnings.simplefilter("ignore", ConvergenceWarning)
    X = np.random.RandomState(0).randn(500, 3)
    other = "spherical" if covariance_type != "spherical" else "diag"
    MLEGaussianMixture(3, covariance_type=other, random_state=0, max_iter=5).fit(X)

    def timed(cls):
        started = time.perf_counter()
        cls(3, covariance_type=covariance_type, random_state=0, max_iter=5, tol=0).fit(X)
        return time.perf_counter() - started

    em = [timed(EMGaussianMixture) for _ in range(2)]
    mle = [timed(MLEGaussianMixture) for _ in range(2)]
    print(json.dumps({"mle": mle[0] - mle[1], "em": em[0] - em[1]}))


def kernel_child(repo, covariance_type):
    """First-minus-second call of the backend's training kernel alone."""
    sys.path.insert(0, repo)
    import numpy as np

    from skgmmvi._tf import mle as backend

    X = np.random.RandomState(0).randn(500, 3)
    covariances = {"full": np.tile(np.eye(3), (3, 1, 1)), "tied": np.eye(3),
                   "diag": np.ones((3, 3)), "spherical": np.ones(3)}

    def timed(cov):
        params = (np.full(3, 1 / 3), X[:3], covariances[cov], covariances[cov])
        options = dict(optimizer="adam", n_epochs=5, tol=0.0, n_iter_no_change=10,
                       reg_covar=1e-6, previous_log_lik=-np.inf, batch_size=None,
                       chunk_size=128, shuffle=True, seed=(0, 0))
        if hasattr(backend, "TrainingState"):
            options["training_state"] = backend.TrainingState(None, None, 0.05, 0)
        else:
            options["learning_rate"] = 0.05
        data = backend.TrainingData(X, np.ones(len(X)), "float64")
        started, cpu = time.perf_counter(), time.process_time()
        backend.train(data, params, cov, **options)
        return time.perf_counter() - started, time.process_time() - cpu

    timed("spherical" if covariance_type != "spherical" else "diag")
    first, second = timed(covariance_type), timed(covariance_type)
    # "em" column: the CPU seconds of the same difference (process time), which
    # a loaded machine inflates much less than the wall time.
    print(json.dumps({"mle": first[0] - second[0], "em": first[1] - second[1]}))


def measure(repo, covariance_type, kernel_only=False):
    env = dict(os.environ, PYTHONPATH=repo)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", repo,
                          "--covariance-type", covariance_type]
                         + (["--kernel-only"] if kernel_only else []),
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", help="directory holding the reference skgmmvi")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--covariance-type")
    parser.add_argument("--kernel-only", action="store_true")
    args = parser.parse_args()
    if args.child:
        (kernel_child if args.kernel_only else child)(args.child, args.covariance_type)
        return
    print(f"load: {os.getloadavg()}")
    print(f"{'covariance':>10} | {'MLE trace this (s)':>18} | {'MLE trace ref (s)':>17} | "
          f"{'ratio':>5} | {'EM share this (s)':>17} | {'EM share ref (s)':>16}")
    for cov in COVARIANCE_TYPES:
        ours = [measure(REPO_ROOT, cov, args.kernel_only) for _ in range(args.repeats)]
        theirs = [measure(args.reference, cov, args.kernel_only)
                  for _ in range(args.repeats)]
        mine, ref = median([r["mle"] for r in ours]), median([r["mle"] for r in theirs])
        print(f"{cov:>10} | {mine:>18.2f} | {ref:>17.2f} | {mine / ref:>5.2f} | "
              f"{median([r['em'] for r in ours]):>17.2f} | "
              f"{median([r['em'] for r in theirs]):>16.2f}")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
