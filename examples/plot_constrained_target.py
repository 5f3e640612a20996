"""A target on a half-line: fit it in unconstrained coordinates
==============================================================

A half-normal density, ``p(x) = 2 N(x; 0, 1)`` for ``x > 0`` and 0 elsewhere,
has ``log p = -inf`` on half of the line. A Gaussian mixture puts mass
everywhere, so fitted directly it keeps mass where the density is zero: the fit
warns (``OutsideSupportWarning``) and ``elbo()`` is ``-inf``.

:class:`~skgmmvi.targets.TransformedTarget` fits the density of ``u`` with
``x = softplus(u) = log(1 + exp(u))`` instead (log-Jacobian
``log sigmoid(u)``), which is positive on the whole line. ``softplus`` rather
than ``exp`` ('positive'): it is nearly the identity for large ``x``, so the
Gaussian tail of the target stays a Gaussian tail in ``u``. ``forward`` maps
samples of the fitted q back to ``x > 0``; their histogram is compared with the
exact half-normal, and their mean and variance with the exact ``sqrt(2 / pi)``
and ``1 - 2 / pi``.

Run: ``python examples/plot_constrained_target.py [--out DIR]`` (needs
matplotlib; about 15 seconds on two cores).
"""

import argparse
import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import OutsideSupportWarning, Target, TransformedTarget  # noqa: E402


class HalfNormal(Target):
    """``log p(x) = log 2 + log N(x; 0, 1)`` for ``x > 0``, ``-inf`` elsewhere."""

    n_features = 1

    def log_density(self, x):
        import tensorflow as tf

        inside = (tf.constant(math.log(2.0) - 0.5 * math.log(2.0 * math.pi), x.dtype)
                  - 0.5 * tf.square(x[:, 0]))
        return tf.where(x[:, 0] > 0, inside, tf.constant(-np.inf, x.dtype))


SETTINGS = dict(n_samples_per_component=100, init_mean=[1.0], init_scale=1.0, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=".")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)

    # 1. Directly: q keeps mass at x < 0, and the fit says so.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutsideSupportWarning)
        direct = VariationalGMMTarget(HalfNormal(), max_iter=100, **SETTINGS).fit()
    for warning in caught:
        if issubclass(warning.category, OutsideSupportWarning):
            print("direct fit warns:", str(warning.message)[:110], "...")
    print(f"direct fit: elbo() = {direct.elbo()}")

    # 2. In u = log x: the fit sees a density that is positive everywhere.
    wrapped = TransformedTarget(HalfNormal(), ["softplus"])
    vi = VariationalGMMTarget(wrapped, max_iter=600, **dict(SETTINGS, init_mean=[0.0])).fit()
    x = wrapped.forward(vi.sample(200_000)[0])[:, 0]
    exact_mean, exact_var = math.sqrt(2.0 / math.pi), 1.0 - 2.0 / math.pi
    print(f"wrapped fit: {vi.n_components_} components, log Z estimate "
          f"{vi.log_evidence(20000):+.4f} (exact 0)")
    print(f"mean of x     {x.mean():.4f}  exact {exact_mean:.4f}")
    print(f"variance of x {x.var():.4f}  exact {exact_var:.4f}")

    grid = np.linspace(0.0, 4.0, 400)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].hist(x, bins=120, range=(0, 4), density=True, alpha=0.5,
                 label="forward(samples of q)")
    axes[0].plot(grid, 2.0 * np.exp(-0.5 * grid**2) / math.sqrt(2.0 * math.pi), "k",
                 label="exact half-normal")
    axes[0].set_xlabel("x")
    axes[0].set_title("constrained marginal: fitted vs exact")
    axes[0].legend()
    u = np.linspace(-6.0, 4.0, 400)[:, None]
    axes[1].plot(u[:, 0], np.exp(vi.score_samples(u)), label="fitted q(u)")
    axes[1].plot(u[:, 0], np.exp(wrapped.log_density_and_grad(u)[0]), "k--",
                 label="target in u")
    axes[1].set_xlabel("u (x = softplus(u))")
    axes[1].set_title("unconstrained space")
    axes[1].legend()
    fig.tight_layout()
    path = Path(args.out) / "constrained_target.png"
    fig.savefig(path, dpi=90)
    print("->", path)


if __name__ == "__main__":
    main()
