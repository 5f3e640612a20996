"""Label switching: VI of the posterior of a 1-D Gaussian mixture model
====================================================================


The target is :class:`skgmmvi.targets.MixtureModelPosterior`: the posterior over
(mu_k, log sigma_k, unconstrained pi) of a K = 3 component 1-D mixture for the
seven points [1.1, 2.1, 2.0, 1.9, 0.0, -0.1, -0.05]. Relabelling the components
maps a posterior mode to another one, so the posterior has 3! = 6 copies of
every mode.

The script fits ``VariationalGMMTarget`` (SAMTRON, components started at prior
samples) and reports

* the posterior probability that the first two data points (1.1 and 2.1) share a
  component, ``sum_k r_1k r_2k`` averaged over samples of q with self-normalised
  importance weights ``p~/q`` (a label-invariant quantity),
* the effective sample size of those weights (small: q is still a rough fit to
  this heavy-tailed posterior, so treat the weighted figure with care) and the
  log evidence estimate,
* which labellings the fitted q covers: for each component with weight > 1 %,
  the order of its three means (a permutation of the labels),

and draws samples of q in the plane of the first two means, ``(mu_1, mu_2)``:
the posterior is symmetric about the diagonal ``mu_1 = mu_2``, and a q that
covers several labellings is too.

Run: ``python examples/plot_mixture_posterior.py [--out DIR]`` (about a minute
on two cores).
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi.targets import MixtureModelPosterior  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=".", help="folder for the PNG file")
    args = parser.parse_args(argv)
    target = MixtureModelPosterior()
    starts = target.prior_sample(400, random_state=0)
    vi = VariationalGMMTarget(target, n_components=12, max_iter=600,
                              n_samples_per_component=200, component_stepsize=0.05,
                              add_iters=20, random_state=0).fit(starts)

    samples, _ = vi.sample(20000)
    log_q = vi.score_samples(samples)
    import tensorflow as tf

    log_p = target.log_density(tf.constant(samples)).numpy()
    log_w = log_p - log_q
    finite = np.isfinite(log_w)
    weights = np.where(finite, np.exp(log_w - np.max(log_w[finite])), 0.0)
    weights /= weights.sum()
    ess = 1.0 / np.sum(weights**2)
    same = target.co_assignment_probability(samples, 0, 1, weights=weights)
    same_q = target.co_assignment_probability(samples, 0, 1)

    print(f"fitted q: {vi.n_components_} components, -ELBO {-vi.elbo(20000):.3f}, "
          f"log evidence {vi.log_evidence(20000):.3f}, "
          f"{vi.n_target_evaluations_} target evaluations")
    print(f"P(points 1.1 and 2.1 share a component | data) = {same:.3f} "
          f"(importance-weighted, ESS {ess:.0f} of {len(samples)}; "
          f"{same_q:.3f} under q itself)")

    labellings = {}
    for weight, mean in zip(vi.weights_, vi.means_):
        if weight < 0.01:
            continue
        order = tuple(int(k) for k in np.argsort(target.unpack(mean)["mu"]))
        labellings[order] = labellings.get(order, 0.0) + weight
    print(f"labellings covered by components with weight > 1 %: {len(labellings)} of 6")
    for order, weight in sorted(labellings.items(), key=lambda item: -item[1]):
        print(f"  means in increasing order are components {order}: total weight "
              f"{weight:.3f}")

    mu = target.unpack(samples[:4000])["mu"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(mu[:, 0], mu[:, 1], s=2, alpha=0.3)
    ax.plot([-2, 4], [-2, 4], color="0.5", lw=0.8)
    ax.set_xlim(-2, 4)
    ax.set_ylim(-2, 4)
    ax.set_xlabel("mu_1")
    ax.set_ylabel("mu_2")
    ax.set_title(f"samples of q ({vi.n_components_} components)")
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "mixture_posterior.png")
    fig.savefig(path, dpi=90)
    print("wrote", path)


if __name__ == "__main__":
    main()
