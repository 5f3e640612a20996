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
  the order of its three means (a permutation of the labels).

Run: ``python examples/mixture_posterior.py`` (about a minute on two cores).
"""

import numpy as np

from skgmmvi import VariationalGMMTarget
from skgmmvi.targets import MixtureModelPosterior


def main():
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


if __name__ == "__main__":
    main()
