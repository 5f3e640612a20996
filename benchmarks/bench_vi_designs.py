"""Benchmark: designs of the unified NG-VI framework side by side.

For each problem of ``bench_vi.py`` (breast cancer D = 31, the 10-mode GMM
target D = 20, the planar robot with 4 goals) and each design (SAMTRON, VIPS =
ZAMTRUX, iBayes-GMM = SEPYFUX, SAMYRUX, SEPYRUX by default), one fit runs until
it has spent a fixed budget of target evaluations (default 1M). Reported: the
code word, ``-ELBO`` (``-vi.elbo(n_samples=10000)``; KL(q || p) for the
normalised GMM target), the number of components, the problem's own figure
(modes found, goals reached) and the wall time of the fit (tracing included;
TensorFlow is imported before any clock starts).

The problems' estimators (initial components, samples per component,
hyperparameters) are those of ``bench_vi.py``; only ``algorithm`` changes. The
step sizes are shared: for ``iblr`` and ``direct`` component updates the
component step size is a learning rate, not a KL bound, so a design comparison
at the same numbers is only indicative; ``--component-stepsize`` overrides it.
A fit stops (through its ``callback``) at the first iteration past the budget.

Usage
-----
::

    python benchmarks/bench_vi_designs.py [--problems breast_cancer,gmm20,planar]
        [--designs SAMTRON,ZAMTRUX,SEPYFUX,SAMYRUX,SEPYRUX] [--budget 1000000]
        [--quick]

``--quick`` divides the budget by 20 (a smoke run).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DESIGNS = ("SAMTRON", "ZAMTRUX", "SEPYFUX", "SAMYRUX", "SEPYRUX")


def run(builder, code, budget, component_stepsize=None):
    """One fit of ``code`` on a problem until ``budget`` target evaluations."""
    from sklearn.base import clone

    _, estimator, figure = builder()
    params = {"algorithm": code, "max_iter": 10**6}
    if component_stepsize is not None:
        params["component_stepsize"] = component_stepsize

    def callback(info):
        return info["n_target_evaluations"] >= budget

    start = time.perf_counter()
    vi = clone(estimator).set_params(callback=callback, **params).fit()
    seconds = time.perf_counter() - start
    return {
        "code": vi.design_code_, "evaluations": vi.n_target_evaluations_,
        "neg_elbo": -vi.elbo(n_samples=10000, random_state=0),
        "components": vi.n_components_, "seconds": seconds,
        "figure": figure(vi) if figure is not None else "",
    }


def main(argv=None):
    from bench_vi import PROBLEMS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="breast_cancer,gmm20,planar")
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--component-stepsize", type=float, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    budget = args.budget // 20 if args.quick else args.budget
    from skgmmvi._tf._runtime import tensorflow

    tensorflow()  # imported before any clock starts: no design pays for it
    for name in args.problems.split(","):
        builder = PROBLEMS[name][0]
        print(f"\n{name}: budget {budget} target evaluations")
        print(f"{'design':>8} | {'evaluations':>11} | {'-ELBO':>10} | {'K':>4} | "
              f"{'time s':>7} | figure")
        for code in args.designs.split(","):
            row = run(builder, code, budget, args.component_stepsize)
            print(f"{row['code']:>8} | {row['evaluations']:>11} | {row['neg_elbo']:>10.3f} | "
                  f"{row['components']:>4} | {row['seconds']:>7.1f} | {row['figure']}",
                  flush=True)


if __name__ == "__main__":
    main()
