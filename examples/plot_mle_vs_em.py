"""Gradient maximum likelihood against EM on a 1-D mixture
=======================================================

Draws 10 000 points from a five-component 1-D mixture with very different
widths, fits it with :class:`~skgmmvi.EMGaussianMixture` and with
:class:`~skgmmvi.MLEGaussianMixture` (Adam, full batch and mini-batches of 256)
from the same initialisation, and saves two pictures:

* ``mle_vs_em_density.png``: histogram of the samples, the true density and the
  three fitted densities;
* ``mle_vs_em_loss.png``: the training curves (mean negative log-likelihood per
  epoch for MLE, per iteration for EM).

Run: ``python examples/plot_mle_vs_em.py [--out DIR]`` (needs matplotlib).
"""

import argparse
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from skgmmvi import EMGaussianMixture, MLEGaussianMixture  # noqa: E402

# softmax(log w) of the weights, which already sum to one
TRUE_WEIGHTS = np.array([1 / 4, 1 / 4, 1 / 6, 1 / 6, 1 / 6])
TRUE_MEANS = np.array([1.0, -0.5, -2.0, 0.5, 3.0])
TRUE_STDS = np.array([0.5, 1.0, 0.2, 0.1, 0.5])


def true_density(x):
    """Density of the generating mixture at the points ``x``."""
    return (TRUE_WEIGHTS * norm.pdf(x[:, None], TRUE_MEANS, TRUE_STDS)).sum(axis=1)


def make_data(n_samples=10_000, seed=0):
    rng = np.random.RandomState(seed)
    labels = rng.choice(len(TRUE_WEIGHTS), size=n_samples, p=TRUE_WEIGHTS)
    return (TRUE_MEANS[labels] + TRUE_STDS[labels] * rng.randn(n_samples))[:, None]


def fit_all(X):
    """EM, full-batch MLE and mini-batch MLE from the same initialisation."""
    em = EMGaussianMixture(5, random_state=0, tol=1e-8, max_iter=2000).fit(X)
    full = MLEGaussianMixture(5, random_state=0, learning_rate=0.01, tol=1e-7,
                              max_iter=3000).fit(X)
    with warnings.catch_warnings():  # a fixed budget of epochs, on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        mini = MLEGaussianMixture(5, random_state=0, batch_size=256, learning_rate=1e-3,
                                  tol=0, max_iter=150).fit(X)
    return {"EM": em, "MLE full batch (Adam)": full, "MLE batch 256 (Adam)": mini}


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=".", help="folder for the PNG files")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X = make_data()
    models = fit_all(X)
    print(f"{'model':<24} {'mean log-lik':>13} {'vs EM':>10} {'epochs':>7}")
    reference = models["EM"].score(X)
    for name, model in models.items():
        score = model.score(X)
        print(f"{name:<24} {score:13.6f} {score - reference:10.2e} {model.n_iter_:7d}")

    grid = np.linspace(-3.5, 4.5, 800)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(X[:, 0], bins=200, density=True, color="0.85", label="samples")
    ax.plot(grid, true_density(grid), "k", lw=2, label="true density")
    for (name, model), style in zip(models.items(), ["--", "-", ":"]):
        ax.plot(grid, np.exp(model.score_samples(grid[:, None])), style, lw=1.5,
                label=name)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend()
    ax.set_title("Five-component 1-D mixture: MLE (Adam) vs EM")
    fig.tight_layout()
    density_path = os.path.join(args.out, "mle_vs_em_density.png")
    fig.savefig(density_path, dpi=120)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (name, model), style in zip(models.items(), ["--", "-", ":"]):
        ax.plot(np.arange(1, len(model.lower_bounds_) + 1),
                -np.asarray(model.lower_bounds_), style, label=name)
    ax.axhline(-reference, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("epoch (MLE) / iteration (EM)")
    ax.set_ylabel("mean negative log-likelihood")
    ax.legend()
    fig.tight_layout()
    loss_path = os.path.join(args.out, "mle_vs_em_loss.png")
    fig.savefig(loss_path, dpi=120)
    print(f"wrote {density_path} and {loss_path}")


if __name__ == "__main__":
    main()
