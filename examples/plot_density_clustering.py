"""Density estimation and clustering in 2-D
=========================================

Fits :class:`~skgmmvi.EMGaussianMixture` to three elongated clusters and uses
everything a fitted mixture offers: ``score_samples`` (the log-density),
``sample`` (new points), ``predict_proba`` (soft cluster memberships) and
``predict`` (hard labels).

Run: ``python examples/plot_density_clustering.py [--out DIR]``.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import EMGaussianMixture  # noqa: E402

parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
parser.add_argument("--out", default=".", help="folder for the PNG file")
args = parser.parse_args()

# %%
# Data and fit
# ------------

rng = np.random.RandomState(0)
X = np.vstack([
    rng.randn(300, 2) @ [[2.0, 0.0], [1.2, 0.4]] + [-4, -2],
    rng.randn(200, 2) @ [[0.5, 0.0], [0.0, 1.5]] + [3, 3],
    rng.randn(150, 2) * 0.7 + [3, -3],
])
gmm = EMGaussianMixture(n_components=3, covariance_type="full", random_state=0).fit(X)
print("converged:", gmm.converged_, "after", gmm.n_iter_, "iterations")
print("weights:", gmm.weights_.round(3))
print("means:\n", gmm.means_.round(2))
print("mean log-likelihood:", round(gmm.score(X), 4))

# %%
# Density, samples, memberships, labels
# -------------------------------------
# ``score_samples`` on a grid gives the contours; ``sample`` draws from the fitted
# mixture; ``predict_proba`` gives each point's membership probabilities, of
# which the largest is drawn as the point's opacity (points between two clusters
# are pale); ``predict`` is the most probable component.

xx, yy = np.meshgrid(np.linspace(-11, 7, 200), np.linspace(-7, 8, 200))
log_density = gmm.score_samples(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
X_new, y_new = gmm.sample(500)
proba = gmm.predict_proba(X)
labels = gmm.predict(X)
print("points whose largest membership is below 0.9:", int((proba.max(axis=1) < 0.9).sum()))

fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharex=True, sharey=True)
axes[0].contourf(xx, yy, np.maximum(log_density, -12), levels=12, cmap="viridis")
axes[0].scatter(X[:, 0], X[:, 1], s=3, c="w", alpha=0.5)
axes[0].set_title("score_samples: log-density")
axes[1].scatter(X_new[:, 0], X_new[:, 1], s=4, c=y_new, cmap="tab10", vmax=9)
axes[1].set_title("sample: 500 new points, by component")
colours = plt.get_cmap("tab10")(labels)
colours[:, 3] = proba.max(axis=1) ** 4
axes[2].scatter(X[:, 0], X[:, 1], s=6, c=colours)
axes[2].scatter(gmm.means_[:, 0], gmm.means_[:, 1], c="k", marker="x", s=60)
axes[2].set_title("predict (colour), predict_proba (opacity)")
fig.tight_layout()
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "density_clustering.png"), dpi=90)
