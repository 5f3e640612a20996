"""Which mode the mode search's L-BFGS reaches from starts at several scales,
on a mixture whose modes differ in width (doc/vi.rst, "Where the defaults
fall short: modes of unequal widths").

The target is that of ``tests/test_vi_init.py::test_modes_of_unequal_widths_are_all_found``:
three Gaussian modes in D = 10, weights 0.5 / 0.3 / 0.2, standard deviations
1 / 0.5 / 2. For each scale, ``--starts`` starts are drawn from
``N(0, scale^2 I)`` and climbed with the package's batched L-BFGS
(``skgmmvi._tf.vi.mode_search._search``); an end point within 0.1 of a mode
counts for it.

Usage::

    python benchmarks/unequal_width_basins.py [--starts 200] [--seed 0]
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from helpers import GaussianMixtureTestTarget  # noqa: E402

from skgmmvi._tf.vi import mode_search  # noqa: E402

SCALES = (80.0, 40.0, 20.0, 10.0, 5.0, 2.5, 1.0)


def unequal_width_target():
    """The three-mode target and its means and standard deviations."""
    means = np.random.default_rng(1).normal(size=(3, 10)) * 6.0
    sds = np.array([1.0, 0.5, 2.0])
    covariances = np.array([s**2 * np.eye(10) for s in sds])
    return GaussianMixtureTestTarget([0.5, 0.3, 0.2], means, covariances), means, sds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    target, means, sds = unequal_width_target()
    rng = np.random.RandomState(args.seed)
    print(f"distances of the modes from the origin: {np.round(np.linalg.norm(means, axis=1), 2)}")
    print("  scale | " + " | ".join(f"mode sd {s:g}" for s in sds) + " | no mode")
    for scale in SCALES:
        starts = rng.standard_normal((args.starts, means.shape[1])) * scale
        points, _, _, _ = mode_search._search(target, "float64", starts, scale, 10**8)
        distance = np.linalg.norm(points[:, None] - means[None], axis=2)
        reached = np.where(distance.min(axis=1) < 0.1, distance.argmin(axis=1), len(sds))
        counts = np.bincount(reached, minlength=len(sds) + 1)
        print(f"{scale:7g} | " + " | ".join(f"{c:10d}" for c in counts))


if __name__ == "__main__":
    main()
