"""Benchmark: resident memory over 200 EMGaussianMixture fits of varying shape (issue 15, item 12).

Fits ``EMGaussianMixture`` ``--fits`` times in one process with the number of
components (1..10), the covariance type (all four) and the number of features
(2..5) changing from fit to fit, on each backend, and prints the resident set
size after the first fit (everything traced once) and every ``--every`` fits.
Goal: flat, at most +20 MiB from the first to the last fit.

Usage::

    python benchmarks/bench_rss_em.py [--fits 200] [--every 25] [--backend tensorflow]
"""

import argparse
import time

import numpy as np

from bench_memory import current_rss_mib  # benchmarks/ is the script's folder

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def shapes(n_fits):
    """(n_components, covariance_type, n_features) of every fit."""
    return [(1 + i % 10, COVARIANCE_TYPES[(i // 10) % 4], 2 + (i // 40) % 4)
            for i in range(n_fits)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--backend", default="tensorflow",
                        choices=["tensorflow", "numpy", "auto"])
    args = parser.parse_args()
    from skgmmvi import EMGaussianMixture

    rng = np.random.RandomState(0)
    first, start = None, time.perf_counter()
    print(f"backend={args.backend}: fits, RSS MiB, seconds per fit since the last line")
    for i, (k, cov, d) in enumerate(shapes(args.fits), start=1):
        X = rng.randn(400, d) + rng.randint(0, 3, size=(400, 1)) * 4.0
        EMGaussianMixture(k, covariance_type=cov, max_iter=20, backend=args.backend,
                          random_state=i).fit(X)
        if i == 1 or i % args.every == 0:
            rss = current_rss_mib()
            first = rss if first is None else first
            elapsed = time.perf_counter() - start
            print(f"{i:5d}  {rss:8.1f}  {elapsed / (1 if i == 1 else args.every):7.3f}",
                  flush=True)
            start = time.perf_counter()
    print(f"growth from the first fit to the last: {rss - first:+.1f} MiB")


if __name__ == "__main__":
    main()
