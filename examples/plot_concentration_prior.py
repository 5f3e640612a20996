"""Concentration prior of a Bayesian Gaussian mixture
===================================================

A :class:`~skgmmvi.BayesianGaussianMixture` is given more components (ten) than
the data need (four clusters). Its weight prior decides what happens to the
spare ones:

* with a Dirichlet-process prior (``weight_concentration_prior_type=
  "dirichlet_process"``, the default) the spare components are switched off
  (weights near zero) whether the concentration is 0.01 or 10 000;
* with a finite Dirichlet distribution (``"dirichlet_distribution"``) a small
  concentration switches them off as well, but a large one spreads the weight
  over all ten.

Each model is fitted by scikit-learn's
:class:`~sklearn.mixture.BayesianGaussianMixture` and by skgmmvi's with the same
parameters and ``random_state``: the script prints both fit times and how far
apart the fitted weights are, and the panel titles show the times. Both fit
with one BLAS and one OpenMP thread: on data this small, more threads only wait
for each other (on a loaded two-core machine, scikit-learn's fits then take
seconds each).

Saves ``concentration_prior.png``: the data with each active component's
two-standard-deviation ellipse (shaded by its weight) and, inset, the weights of
all ten components.

Run: ``python examples/plot_concentration_prior.py [--out DIR]`` (needs matplotlib).
"""

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402
from sklearn import mixture  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import skgmmvi  # noqa: E402

N_COMPONENTS = 10
#: A component counts as active when its weight exceeds this.
ACTIVE_WEIGHT = 0.01
#: (prior type, short label, concentrations), one row of panels each.
PRIORS = [
    ("dirichlet_process", "Dirichlet process", [1e-2, 1.0, 1e4]),
    ("dirichlet_distribution", "Dirichlet distribution", [1e-3, 1.0, 1e3]),
]


def make_data(seed=2):
    """Four Gaussian clusters of 250, 200, 150 and 50 points in the plane."""
    rng = np.random.RandomState(seed)
    centres = [[-4.0, 0.0], [0.0, 3.0], [3.0, -1.0], [6.0, 4.0]]
    covariances = [[[1.0, 0.5], [0.5, 0.6]], [[0.4, 0.0], [0.0, 0.4]],
                   [[0.5, -0.3], [-0.3, 1.0]], [[0.2, 0.0], [0.0, 0.2]]]
    sizes = [250, 200, 150, 50]
    return np.vstack([rng.multivariate_normal(centre, covariance, size)
                      for centre, covariance, size in zip(centres, covariances, sizes)])


def timed_fit(estimator_class, X, prior_type, concentration):
    """Fit one Bayesian mixture; return it and the wall time of ``fit``."""
    model = estimator_class(n_components=N_COMPONENTS, max_iter=1000,
                            weight_concentration_prior_type=prior_type,
                            weight_concentration_prior=concentration, random_state=0)
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        model.fit(X)
        elapsed = time.perf_counter() - start
    return model, elapsed


def draw_components(ax, model, X):
    """The data and a two-standard-deviation ellipse per active component."""
    ax.scatter(X[:, 0], X[:, 1], s=3, color="0.3", zorder=3)
    eigenvalues, eigenvectors = np.linalg.eigh(model.covariances_)
    for weight, mean, values, vectors in zip(model.weights_, model.means_,
                                             eigenvalues, eigenvectors):
        if weight <= ACTIVE_WEIGHT:
            continue
        angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
        width, height = 4.0 * np.sqrt(values[::-1])  # 2 sd along each axis
        ax.add_patch(Ellipse(mean, width, height, angle=angle, color="tab:blue",
                             alpha=min(1.0, 0.2 + 2.0 * weight)))
    ax.set_xlim(-11, 9)
    ax.set_ylim(-5, 7)
    bars = ax.inset_axes([0.08, 0.62, 0.25, 0.3])
    bars.bar(np.arange(N_COMPONENTS), np.sort(model.weights_)[::-1], color="tab:blue")
    bars.set_ylim(0, 0.5)
    bars.set_xticks([])
    bars.tick_params(labelsize=6)
    bars.set_title("weights, sorted", fontsize=7)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=".", help="folder for the PNG file")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    X = make_data()
    for estimator_class in (mixture.BayesianGaussianMixture,
                            skgmmvi.BayesianGaussianMixture):
        timed_fit(estimator_class, X, "dirichlet_process", 1.0)  # untimed warm-up
    fig, axes = plt.subplots(len(PRIORS), 3, figsize=(13, 8), sharex=True, sharey=True)
    print(f"{'prior':24s} {'concentration':>13s} {'active':>6s} {'sklearn [s]':>11s} "
          f"{'skgmmvi [s]':>11s} {'max |weights diff|':>18s}")
    for row, (prior_type, label, concentrations) in zip(axes, PRIORS):
        for ax, concentration in zip(row, concentrations):
            theirs, their_time = timed_fit(mixture.BayesianGaussianMixture, X,
                                           prior_type, concentration)
            ours, our_time = timed_fit(skgmmvi.BayesianGaussianMixture, X,
                                       prior_type, concentration)
            active = int(np.sum(ours.weights_ > ACTIVE_WEIGHT))
            difference = np.max(np.abs(ours.weights_ - theirs.weights_))
            print(f"{label:24s} {concentration:13g} {active:6d} {their_time:11.3f} "
                  f"{our_time:11.3f} {difference:18.1e}")
            draw_components(ax, ours, X)
            ax.set_title(f"{label}, concentration {concentration:g}\n{active} active; "
                         f"sklearn {their_time:.2f} s, skgmmvi {our_time:.2f} s",
                         fontsize=9)
    fig.tight_layout()
    path = os.path.join(args.out, "concentration_prior.png")
    fig.savefig(path, dpi=100)
    print("Wrote", path)


if __name__ == "__main__":
    main()
