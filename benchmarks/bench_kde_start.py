"""Benchmark: ``VariationalGMMTarget().fit(X)`` (kernel density target) started from
the density itself (``init='auto'``) against the start it had before, the data's
mean and per-feature variances (``init='prior'``, which the former default kept on
these data sets: at ``random_state=0`` it gave the same 1339 and 404 iterations).

Both starts in the same run, on the data of scikit-learn's checks that took
longest (20 x 5 uniform rows; iris, 150 x 4), each ``--repeats`` times with
``random_state`` 0, 1, ...: medians of the CPU seconds of the fit (process time,
all threads), of the iterations and target evaluations, and of the final ELBO
(median of the last 50 estimates; the optimum is 0, the density being normalised).
One untimed fit first traces the compiled functions. Prints ``uptime`` before and
after: the machine may be shared.

Usage::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_kde_start.py [--repeats 3]
"""

import argparse
import statistics
import subprocess
import time
import warnings

import numpy as np
from sklearn.datasets import load_iris

from skgmmvi import VariationalGMMTarget

DATA = {"uniform 20x5": lambda: 3 * np.random.RandomState(0).uniform(size=(20, 5)),
        "iris 150x4": lambda: load_iris().data}


def timed_fit(X, init, seed):
    """(CPU seconds, iterations, target evaluations, final ELBO) of one default fit."""
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vi = VariationalGMMTarget(init=init, random_state=seed).fit(X)
    return (time.process_time() - start, vi.n_iter_, vi.n_target_evaluations_,
            float(np.median(vi.elbo_history_[-50:])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VariationalGMMTarget(max_iter=2, random_state=0).fit(DATA["uniform 20x5"]())
    print(f"{'data':14} {'start':8} {'CPU s':>7} {'iterations':>10} {'evaluations':>12} "
          f"{'ELBO':>10}")
    for name, make in DATA.items():
        X = make()
        cpu = {}
        for init, label in (("prior", "before"), ("auto", "density")):
            runs = [timed_fit(X, init, seed) for seed in range(args.repeats)]
            medians = [statistics.median(column) for column in zip(*runs)]
            cpu[label] = medians[0]
            print(f"{name:14} {label:8} {medians[0]:7.1f} {medians[1]:10.0f} "
                  f"{medians[2]:12.0f} {medians[3]:10.2e}", flush=True)
        print(f"{name:14} {'ratio':8} {cpu['density'] / cpu['before']:7.2f}")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
