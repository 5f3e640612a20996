"""Variational inference on 2-D targets
====================================

Fits ``VariationalGMMTarget`` (SAMTRON) to a banana, a six-mode Gaussian mixture and a funnel and saves one PNG per
target, ``vi_<name>.png``: contours of the target density and of the fitted
mixture q, samples of q, and the ELBO estimate per iteration (for these
normalised targets, -ELBO is KL(q || p)).

Run: ``python examples/plot_vi_targets.py [--out DIR]`` (needs matplotlib; about
a minute on two cores).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import BananaTarget, FunnelTarget, GaussianMixtureTarget  # noqa: E402

PROBLEMS = {
    # name: (target, estimator settings, plot window)
    "banana": (lambda: BananaTarget(n_features=2),
               dict(max_iter=300, init_scale=3.0), (-8, 8, -12, 4)),
    "gmm": (lambda: GaussianMixtureTarget(n_features=2, n_modes=6, random_state=1),
            dict(max_iter=400, n_samples_per_component=150, component_stepsize=0.1,
                 add_iters=10, init_scale=30.0), (-55, 55, -55, 55)),
    "funnel": (lambda: FunnelTarget(n_features=2),
               dict(max_iter=400, add_iters=20, init_scale=3.0), (-10, 10, -12, 12)),
}


def target_log_density(target, points):
    import tensorflow as tf

    return target.log_density(tf.constant(points)).numpy()


def plot(name, target, vi, window, out):
    x0, x1, y0, y1 = window
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    grid = np.c_[gx.ravel(), gy.ravel()]
    log_p = target_log_density(target, grid).reshape(gx.shape)
    log_q = vi.score_samples(grid).reshape(gx.shape)
    samples, _ = vi.sample(1500)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    levels = np.linspace(-12, 0, 13)
    axes[0].contourf(gx, gy, np.maximum(log_p - log_p.max(), -12), levels=levels,
                     cmap="viridis")
    axes[0].set_title(f"{name}: target log p (shifted)")
    axes[1].contourf(gx, gy, np.maximum(log_q - log_q.max(), -12), levels=levels,
                     cmap="viridis")
    axes[1].scatter(samples[:, 0], samples[:, 1], s=1, c="w", alpha=0.4)
    axes[1].scatter(vi.means_[:, 0], vi.means_[:, 1], s=30 + 300 * vi.weights_, c="r",
                    marker="x")
    axes[1].set_title(f"fitted q: {vi.n_components_} components, samples, means")
    for ax in axes[:2]:
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    history = vi.elbo_history_
    axes[2].plot(np.arange(1, len(history) + 1), -history)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("iteration")
    axes[2].set_ylabel("-ELBO estimate (= KL(q || p))")
    axes[2].set_title(f"-ELBO after the fit: {-vi.elbo(20000):.4f}")
    fig.tight_layout()
    path = Path(out) / f"vi_{name}.png"
    fig.savefig(path, dpi=90)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=".")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name, (make_target, settings, window) in PROBLEMS.items():
        target = make_target()
        vi = VariationalGMMTarget(target, random_state=0, **settings).fit()
        path = plot(name, target, vi, window, args.out)
        print(f"{name:7s} components {vi.n_components_:3d}  -ELBO {-vi.elbo(20000):.4f}  "
              f"target evaluations {vi.n_target_evaluations_:8d}  -> {path}")


if __name__ == "__main__":
    main()
