"""Tracing cost of the TensorFlow EM kernels, per covariance type (issue 13).

For each covariance type, in a fresh process: the first call of each compiled EM
kernel (which traces it) minus the median of later calls of the same kernel on the
same small data (which do not), and the first in-memory fit of that covariance type
(init + EM + a scoring call) minus a warm fit. Medians over ``--repeats`` fresh
processes. Run it against two checkouts to compare (``--code`` points at one):

    python benchmarks/bench_tracing.py --repeats 3
    python benchmarks/bench_tracing.py --repeats 3 --code /path/to/other/checkout

Print the load (``uptime``) alongside, and run with OMP_NUM_THREADS=1
OPENBLAS_NUM_THREADS=1 as well on a shared machine.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
covariance_type = sys.argv[1]
from skgmmvi import EMGaussianMixture
from skgmmvi._tf._runtime import tensorflow
tensorflow()
X = np.random.RandomState(0).randn(300, 3)
# The TensorFlow kernels' tracing is what is measured: where the estimator has a
# numpy path (backend="auto" would pick it for this size), ask for TensorFlow.
BACKEND = ({"backend": "tensorflow"} if "backend" in EMGaussianMixture().get_params()
           else {})

def fit_time(init_params):
    start = time.perf_counter()
    model = EMGaussianMixture(3, covariance_type=covariance_type, max_iter=5,
                              init_params=init_params, random_state=0, **BACKEND).fit(X)
    model.score_samples(X)
    return time.perf_counter() - start

first = fit_time("kmeans")
second_init = fit_time("random")
warm = sorted(fit_time("kmeans") for _ in range(5))[2]
print(json.dumps({"first_fit": first, "new_init_method": second_init, "warm_fit": warm}))
"""


def run_once(covariance_type, code):
    env = dict(os.environ, PYTHONPATH=str(code), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", CHILD, covariance_type], env=env,
                         capture_output=True, text=True, check=True, cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--reference", default=None,
                        help="another checkout, measured side by side")
    args = parser.parse_args()
    codes = [("this", args.code)] + ([("reference", args.reference)]
                                     if args.reference else [])
    print(f"load: {os.getloadavg()}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(f"{'covariance':10s} {'code':9s} {'first fit':>10s} {'warm fit':>9s} "
          f"{'tracing':>8s} {'new init':>9s}")
    results = {}
    for covariance_type in ["full", "tied", "diag", "spherical"]:
        for label, code in codes:
            runs = [run_once(covariance_type, code) for _ in range(args.repeats)]
            median = {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}
            tracing = median["first_fit"] - median["warm_fit"]
            results[(covariance_type, label)] = tracing
            print(f"{covariance_type:10s} {label:9s} {median['first_fit']:10.2f} "
                  f"{median['warm_fit']:9.3f} {tracing:8.2f} "
                  f"{median['new_init_method'] - median['warm_fit']:9.2f}", flush=True)
        if args.reference:
            ratio = results[(covariance_type, "this")] / results[(covariance_type,
                                                                  "reference")]
            print(f"{'':10s} tracing ratio this / reference: {ratio:.2f}")
    print(f"load at end: {os.getloadavg()}  ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
