"""Benchmark: resident memory and time per fit of MLEGaussianMixture over 200 shapes.

What is measured
----------------
One fresh process per code base fits ``MLEGaussianMixture`` 200 times on
small random data: K = 1..10 components x 4 covariance types x 5 numbers of
features (D = 2, 3, 4, 6, 8), 300 rows, ``max_iter=5``, ``tol=0``, full batch
and mini-batches of 64 on alternate fits. After every 40 fits it prints the
resident set size (RSS, from /proc/self/status) and the median wall time per fit
of those 40. Before the change every new (K, D, covariance type) traced a new
training loop and kept it (the issue measured +400 MiB per 40 shapes); now one
trace per (optimiser, covariance type, dtype) serves them all.

The reference is another checkout of skgmmvi (``--reference``: a directory
holding its ``skgmmvi`` package, e.g. ``git archive <commit> skgmmvi | tar -x -C
DIR`` of the commit before the change), run the same way in its own process; the
ratio column is this checkout over the reference.

Usage
-----
::

    python benchmarks/bench_rss_mle.py --reference DIR [--fits 200]
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_memory import current_rss_mib  # noqa: E402
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
N_FEATURES = (2, 3, 4, 6, 8)


def child(repo, n_fits, every):
    sys.path.insert(0, repo)
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from skgmmvi import MLEGaussianMixture

    warnings.simplefilter("ignore", ConvergenceWarning)
    rng = np.random.RandomState(0)
    shapes = [(k, cov, d) for d in N_FEATURES for cov in COVARIANCE_TYPES
              for k in range(1, 11)]
    times, rows = [], []
    for index in range(n_fits):
        n_components, cov, n_features = shapes[index % len(shapes)]
        X = rng.randn(300, n_features)
        started = time.perf_counter()
        MLEGaussianMixture(n_components, covariance_type=cov, random_state=0, max_iter=5,
                           tol=0, batch_size=None if index % 2 else 64).fit(X)
        times.append(time.perf_counter() - started)
        if (index + 1) % every == 0:
            rows.append({"fits": index + 1, "rss": current_rss_mib(),
                         "seconds": float(np.median(times[-every:]))})
    print(json.dumps(rows))


def run(repo, n_fits, every):
    env = dict(os.environ, PYTHONPATH=repo)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", repo,
                          "--fits", str(n_fits), "--every", str(every)],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", help="directory holding the reference skgmmvi")
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--every", type=int, default=40)
    parser.add_argument("--reference-fits", type=int, default=None,
                        help="fits of the reference (default: --fits); the reference "
                             "retraces per shape, so it may take much longer")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.fits, args.every)
        return
    print(f"load: {os.getloadavg()}")
    ours = run(REPO_ROOT, args.fits, args.every)
    reference = run(args.reference, args.reference_fits or args.fits, args.every)
    print(f"{'fits':>5} | {'RSS this (MiB)':>14} | {'RSS ref (MiB)':>13} | "
          f"{'s/fit this':>10} | {'s/fit ref':>9} | {'time ratio':>10}")
    blank = {"rss": float("nan"), "seconds": float("nan")}
    for mine, theirs in zip(ours, reference + [blank] * (len(ours) - len(reference))):
        print(f"{mine['fits']:>5} | {mine['rss']:>14.0f} | {theirs['rss']:>13.0f} | "
              f"{mine['seconds']:>10.3f} | {theirs['seconds']:>9.3f} | "
              f"{mine['seconds'] / theirs['seconds']:>10.2f}")
    print(f"RSS growth after the first {args.every} fits: this "
          f"{ours[-1]['rss'] - ours[0]['rss']:+.0f} MiB, reference "
          f"{reference[-1]['rss'] - reference[0]['rss']:+.0f} MiB "
          f"(over {reference[-1]['fits']} fits)")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
