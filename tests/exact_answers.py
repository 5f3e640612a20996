"""Exact answers for the VI quality tests (tests/test_vi_quality.py) and the
posterior benchmark (benchmarks/bench_vi_posteriors.py).

* :func:`mixture_posterior_exact`: log evidence and co-assignment probability
  of :class:`~skgmmvi.targets.MixtureModelPosterior` by enumerating the K^N
  assignments of the data to components; :func:`mixture_posterior_draws`:
  independent draws of that posterior (the same enumeration).
* :func:`stiff_shifted_gaussian`: a D = 100 Gaussian with condition number 1e4
  whose mean is 50 units from the origin (exact mean, covariance, log Z = 0).
* :func:`funnel_moments`: the exact marginal means and standard deviations of
  Neal's funnel (:class:`~skgmmvi.targets.FunnelTarget`).
* :func:`far_gaussian`: a Gaussian whose mass is 1e4 away from the default start.
* The centred eight-schools model's exact moments come from the target itself,
  :meth:`skgmmvi.targets.EightSchoolsCentered.posterior_moments` (quadrature
  over tau; checked against importance sampling from the prior in
  tests/test_vi_quality.py).

Nothing here comes from a fit of ours: every number is computed from the
model's definition or quoted from a publication.
"""

import itertools
import math

import numpy as np
from scipy.special import gammaln, logsumexp

from skgmmvi.targets import GaussianTarget

LOG_2PI = math.log(2.0 * math.pi)
#: Grid over s = log(sigma) of the 1-D quadrature (trapezoid rule: the integrand
#: is smooth and vanishes at both ends, so it converges geometrically).
LOG_SIGMA_GRID = np.linspace(-14.0, 8.0, 8001)


def _cluster_log_integrands(target):
    """Quadrature terms of every cluster's marginal likelihood (bit mask -> row).

    Row ``S`` holds, at each node of :data:`LOG_SIGMA_GRID` (``s = log sigma``),
    ``log [w_j Gamma(sigma; a, b) sigma int N(mu; 0, tau^2) prod_{n in S}
    N(x_n; mu, sigma^2) dmu]`` with ``w_j`` the trapezoid weight: the mean
    integral is Gaussian (the data of S are jointly
    ``N(0, sigma^2 I + tau^2 1 1^T)``). ``logsumexp`` of a row is ``log m(S)``;
    normalised, the row is the posterior of ``s`` given that S is the cluster.
    Row 0 (the empty cluster) is the prior of ``s``.

    Returns
    -------
    log_terms : ndarray of shape (2^N, n_grid)
    members : ndarray of shape (2^N, N)
        Membership (0/1) of each data point in each subset.
    """
    data = target.data
    n_data = data.size
    tau2 = target.mean_prior_scale ** 2
    a, b = target.sigma_shape, target.sigma_rate
    s = LOG_SIGMA_GRID
    var = np.exp(2.0 * s)
    log_prior = a * math.log(b) - gammaln(a) + a * s - b * np.exp(s)  # includes d sigma = sigma ds
    masks = np.arange(2 ** n_data)
    members = ((masks[:, None] >> np.arange(n_data)[None, :]) & 1).astype(np.float64)
    count = members.sum(axis=1)[:, None]
    total = (members @ data)[:, None]
    squares = (members @ data ** 2)[:, None]
    spread = var[None, :] + count * tau2
    log_det = (count - 1.0) * np.log(var)[None, :] + np.log(spread)
    quad = (squares - tau2 * total ** 2 / spread) / var[None, :]
    log_lik = -0.5 * (count * LOG_2PI + log_det + quad)
    log_lik[0] = 0.0  # the empty subset
    step = s[1] - s[0]
    weights = np.full(s.size, step)
    weights[[0, -1]] *= 0.5
    return log_prior[None, :] + log_lik + np.log(weights)[None, :], members


def _assignment_log_joints(target):
    """``log p(data, z)`` of every assignment ``z`` of the data to components.

    ``p(data, z) = DirMult(z; c) prod_k m(S_k(z))``, with the
    Dirichlet-multinomial ``DirMult(z; c) = Gamma(Kc) / Gamma(N + Kc)
    prod_k Gamma(n_k + c) / Gamma(c)`` and ``m`` the clusters' marginal
    likelihoods (:func:`_cluster_log_integrands`).

    Returns
    -------
    log_joint : ndarray of shape (K^N,)
    assignments : ndarray of shape (K^N, N)
        Component of each data point.
    masks : ndarray of shape (K^N, K)
        Bit mask of each component's cluster.
    log_terms, members : ndarray
        As :func:`_cluster_log_integrands` returns them.
    """
    k, n_data, c = target.n_components, target.data.size, target.concentration
    log_terms, members = _cluster_log_integrands(target)
    log_m = logsumexp(log_terms, axis=1)
    log_m[0] = 0.0  # the empty cluster: the prior integrates to one
    assignments = np.array(list(itertools.product(range(k), repeat=n_data)))  # (K^N, N)
    member = assignments[:, :, None] == np.arange(k)[None, None, :]  # (K^N, N, K)
    masks = np.sum(member * (1 << np.arange(n_data))[None, :, None], axis=1)  # (K^N, K)
    counts = member.sum(axis=1)
    log_dirmult = (gammaln(k * c) - gammaln(n_data + k * c)
                   + np.sum(gammaln(counts + c) - gammaln(c), axis=1))
    log_joint = log_dirmult + np.sum(log_m[masks], axis=1)
    return log_joint, assignments, masks, log_terms, members


def mixture_posterior_exact(target, pair=(0, 1)):
    """Exact log evidence and co-assignment probability of a MixtureModelPosterior.

    Sums ``p(data, z)`` (:func:`_assignment_log_joints`) over the ``K^N``
    assignments ``z`` of data to components.

    Parameters
    ----------
    target : MixtureModelPosterior
    pair : tuple of two int, default=(0, 1)
        Data points whose posterior probability of sharing a component is
        returned.

    Returns
    -------
    log_evidence : float
        ``log p(data)``, the target's normaliser.
    co_assignment : float
        ``P(z_i = z_j | data)``.
    """
    log_joint, assignments, *_ = _assignment_log_joints(target)
    log_evidence = float(logsumexp(log_joint))
    same = assignments[:, pair[0]] == assignments[:, pair[1]]
    co_assignment = float(np.exp(logsumexp(log_joint[same]) - log_evidence))
    return log_evidence, co_assignment


def mixture_posterior_draws(target, n_draws, seed=0):
    """Independent draws of a MixtureModelPosterior's exact posterior.

    Draws an assignment ``z`` from ``p(z | data)``, then each component's
    ``s = log sigma`` from its grid posterior (a node of
    :data:`LOG_SIGMA_GRID`, jittered uniformly within its cell), its mean from
    the Gaussian ``p(mu | sigma, cluster)``, and the weights from
    ``Dirichlet(c + n_k)``; returned in the target's coordinates.

    Parameters
    ----------
    target : MixtureModelPosterior
    n_draws : int
    seed : int, default=0

    Returns
    -------
    theta : ndarray of shape (n_draws, 3K - 1)
    counts : ndarray of shape (n_draws, K)
        Number of data points assigned to each component.
    """
    rng = np.random.default_rng(seed)
    k, c = target.n_components, target.concentration
    log_joint, _, masks, log_terms, members = _assignment_log_joints(target)
    chosen = masks[rng.choice(log_joint.size, size=n_draws,
                              p=np.exp(log_joint - logsumexp(log_joint)))]  # (n, K)
    n_grid = LOG_SIGMA_GRID.size
    cdf = np.cumsum(np.exp(log_terms - logsumexp(log_terms, axis=1, keepdims=True)), axis=1)
    # one sorted array of all rows' CDFs (row m shifted by m): one searchsorted
    shifted = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()
    position = np.searchsorted(shifted, chosen + rng.random(chosen.shape))
    node = np.minimum(position - chosen * n_grid, n_grid - 1)
    step = LOG_SIGMA_GRID[1] - LOG_SIGMA_GRID[0]
    s = LOG_SIGMA_GRID[node] + (rng.random(chosen.shape) - 0.5) * step
    counts = members.sum(axis=1)[chosen]
    totals = (members @ target.data)[chosen]
    precision = counts * np.exp(-2.0 * s) + target.mean_prior_scale ** -2
    mu = (totals * np.exp(-2.0 * s) + np.sqrt(precision) * rng.standard_normal(chosen.shape)
          ) / precision
    log_g = np.log(rng.gamma(c + counts))
    return np.concatenate([mu, s, log_g[:, :-1] - log_g[:, -1:]], axis=1), counts.astype(int)


def stiff_shifted_gaussian(n_features=100, condition=1e4, distance=50.0, seed=0):
    """A Gaussian target with condition number ``condition`` whose mean is
    ``distance`` from the origin, in a random rotation.

    Returns
    -------
    target : GaussianTarget
        Normalised (log Z = 0).
    mean : ndarray of shape (D,)
    covariance : ndarray of shape (D, D)
        Eigenvalues log-spaced from ``1 / sqrt(condition)`` to ``sqrt(condition)``.
    """
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    eigenvalues = np.logspace(-0.5, 0.5, n_features) ** math.log10(condition)
    covariance = (rotation * eigenvalues) @ rotation.T
    covariance = 0.5 * (covariance + covariance.T)
    direction = rng.standard_normal(n_features)
    mean = distance * direction / np.linalg.norm(direction)
    return GaussianTarget(mean, covariance), mean, covariance


def far_gaussian(n_features=5, distance=1e4, seed=0):
    """A well-conditioned Gaussian (unit scales) whose mean is ``distance`` from
    the origin (the default start): ``(target, mean, covariance)``."""
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(n_features)
    mean = distance * direction / np.linalg.norm(direction)
    covariance = np.diag(np.linspace(0.5, 2.0, n_features))
    return GaussianTarget(mean, covariance), mean, covariance


def funnel_moments(n_features=10, scale=3.0):
    """Exact means and standard deviations of Neal's funnel.

    ``v ~ N(0, scale^2)``: sd ``scale``; ``x_i | v ~ N(0, e^v)``: mean 0 and
    ``Var x_i = E[e^v] = exp(scale^2 / 2)``, so sd ``exp(scale^2 / 4)``.
    """
    means = np.zeros(n_features)
    sds = np.full(n_features, math.exp(scale ** 2 / 4.0))
    sds[0] = scale
    return means, sds
