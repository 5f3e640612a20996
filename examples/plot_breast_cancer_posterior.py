"""Bayesian logistic regression on breast cancer, by variational inference
=======================================================================

The target is the posterior of a logistic regression with 31 weights (an
intercept and the 30 features of :func:`sklearn.datasets.load_breast_cancer`,
prior ``N(0, 10^2 I)``), :func:`skgmmvi.targets.breast_cancer_posterior`. Its
density is known only up to the evidence, which the fit estimates.

:class:`~skgmmvi.VariationalGMMTarget` fits it with SAMTRON's settings (those of
``benchmarks/bench_vi.py``) but with a much shorter budget than the benchmark's
millions of target evaluations, so that the example runs in well under a minute;
the ELBO is therefore not yet at its final value (see :doc:`/performance` for
the full runs).

Run: ``python examples/plot_breast_cancer_posterior.py [--out DIR]``.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import breast_cancer_posterior  # noqa: E402

parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
parser.add_argument("--out", default=".", help="folder for the PNG file")
parser.add_argument("--max-iter", type=int, default=250,
                    help="iterations (the budget; 250 by default)")
args = parser.parse_args()

# %%
# Fit
# ---
# One component to start with; SAMTRON adds one every 25 iterations and deletes
# those whose weight stays negligible.

target = breast_cancer_posterior()
vi = VariationalGMMTarget(target, n_components=1, n_samples_per_component=250,
                          component_stepsize=0.01, weight_stepsize=0.1,
                          add_iters=25, del_iters=100, init_scale=10.0,
                          max_iter=args.max_iter, random_state=0).fit()
print(f"{vi.n_target_evaluations_} target evaluations, {vi.n_components_} components")
print(f"-ELBO {-vi.elbo(n_samples=10000):.3f}, "
      f"log evidence estimate {vi.log_evidence(n_samples=10000):.3f}")

# %%
# The ELBO curve and the posterior of the weights
# -----------------------------------------------
# Left: the per-iteration ELBO estimate (a noisy Monte Carlo estimate from that
# iteration's samples). It rises fast while the mixture finds the bulk of the
# posterior, then slowly while components are added. Right: posterior mean and
# two standard deviations of each weight, from samples of the fitted mixture.

samples, _ = vi.sample(20000)
mean, std = samples.mean(axis=0), samples.std(axis=0)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
history = np.asarray(vi.elbo_history_)
axes[0].plot(np.arange(1, len(history) + 1), -history)
axes[0].set_yscale("log")
axes[0].set_xlabel("iteration")
axes[0].set_ylabel("-ELBO estimate")
axes[0].set_title("ELBO during the fit")
axes[1].errorbar(np.arange(len(mean)), mean, yerr=2 * std, fmt="o", ms=3)
axes[1].axhline(0, color="0.6", lw=0.8)
axes[1].set_xlabel("weight (0 = intercept)")
axes[1].set_ylabel("posterior mean +- 2 sd")
axes[1].set_title(f"q: {vi.n_components_} components")
fig.tight_layout()
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "breast_cancer_posterior.png"), dpi=90)
