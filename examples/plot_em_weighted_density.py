"""Density estimation with sample weights
======================================

Fits a three-component :class:`~skgmmvi.EMGaussianMixture` to data in which one cluster is under-sampled and
compensated by sample weights, compares it with the unweighted fit, and saves
``em_weighted_density.png`` (contours of both fitted densities over the data).

Run: ``python examples/plot_em_weighted_density.py [--out DIR]`` (needs matplotlib).
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import EMGaussianMixture  # noqa: E402


def make_data(seed=0):
    """Three clusters; the third is drawn at a quarter of its true frequency."""
    rng = np.random.RandomState(seed)
    a = rng.randn(400, 2) @ [[1.0, 0.6], [0.0, 0.5]] + [-3, 0]
    b = rng.randn(400, 2) * 0.6 + [2, 2]
    c = rng.randn(100, 2) @ [[0.4, 0.0], [0.3, 0.8]] + [2, -3]
    X = np.vstack([a, b, c])
    weight = np.r_[np.ones(800), 4 * np.ones(100)]  # undo the under-sampling
    return X, weight


def log_density_grid(model, X, n=150):
    """Fitted log-density on a grid covering the data."""
    lo, hi = X.min(axis=0) - 1, X.max(axis=0) + 1
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    grid = np.c_[xx.ravel(), yy.ravel()]
    return xx, yy, model.score_samples(grid).reshape(xx.shape)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=".", help="folder for the PNG file")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    X, weight = make_data()
    plain = EMGaussianMixture(3, random_state=0).fit(X)
    weighted = EMGaussianMixture(3, random_state=0).fit(X, sample_weight=weight)
    # The population has equal thirds; the sample has 4:4:1.
    print("weights, unweighted fit:", np.sort(plain.weights_).round(3),
          "(sample proportions 0.111 0.444 0.444)")
    print("weights, weighted fit:  ", np.sort(weighted.weights_).round(3),
          "(population proportions 0.333 each)")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True, sharey=True)
    for ax, model, title in zip(axes, [plain, weighted], ["unweighted", "weighted"]):
        xx, yy, log_density = log_density_grid(model, X)
        ax.contour(xx, yy, log_density, levels=np.arange(-12, 0, 1.0), cmap="viridis")
        ax.scatter(X[:, 0], X[:, 1], s=4, c=model.predict(X), cmap="tab10", alpha=0.5)
        ax.set_title(f"EMGaussianMixture, {title}")
    fig.tight_layout()
    path = os.path.join(args.out, "em_weighted_density.png")
    fig.savefig(path, dpi=110)
    print("Wrote", path)


if __name__ == "__main__":
    main()
