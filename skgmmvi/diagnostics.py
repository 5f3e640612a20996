"""How far a fitted proposal can be trusted: Pareto smoothed importance sampling.

Given the log importance ratios ``log p~(x_i) - log q(x_i)`` of samples of a
proposal ``q``, Pareto smoothed importance sampling (PSIS) fits a generalized
Pareto distribution (GPD) to the largest ratios and replaces them by the
distribution's quantiles. The fitted shape ``k`` (the Pareto k-hat) says how
heavy the tail of the ratios is, and so how far importance sampling with ``q``,
and ``q`` itself as an approximation of the target, can be trusted:

* ``k < 0.5``: the ratios have finite variance; estimates converge fast;
* ``0.5 <= k < 0.7``: usable, slower convergence;
* ``k >= 0.7``: the importance-sampling estimates are unreliable, and ``q``
  misses a significant part of the target's mass (Yao et al., 2018).

References
----------
.. [1] A. Vehtari, D. Simpson, A. Gelman, Y. Yao, J. Gabry. Pareto smoothed
   importance sampling. Journal of Machine Learning Research 25(72), 2024
   (arXiv:1507.02646, first version 2015).
.. [2] J. Zhang, M. A. Stephens. A new and efficient estimation method for the
   generalized Pareto distribution. Technometrics 51(3), 316-325, 2009.
.. [3] Y. Yao, A. Vehtari, D. Simpson, A. Gelman. Yes, but did it work?:
   Evaluating variational inference. ICML 2018.
"""

import collections
import math

import numpy as np
from scipy.special import logsumexp

#: The Pareto k-hat above which importance sampling (and q) is not trusted
#: (Vehtari et al., 2024).
KHAT_THRESHOLD = 0.7
#: Strength (in pseudo-observations) of the weakly informative prior pulling the
#: GPD shape estimate towards 0.5 (Vehtari et al., 2024).
PRIOR_STRENGTH = 10.0
PRIOR_SHAPE = 0.5
#: Tail weights within this relative spread of the largest are equal up to
#: rounding (an exact proposal): there is no tail to fit.
RELATIVE_SPREAD_FLOOR = 1e-8
#: Largest span (in nats) of the log-ratios of the tail that a generalized
#: Pareto fit resolves: the tail's weights are ``exp(log ratio - largest)``, and
#: below about -708 they underflow to zero in double precision. A wider tail is
#: as heavy as ratios can be at this precision (one sample carries all the
#: weight): k-hat is infinite.
MAX_TAIL_LOG_SPAN = 700.0


class PoorFitWarning(UserWarning):
    """The fitted mixture is not a trustworthy approximation of the target.

    Raised when the Pareto k-hat of the importance ratios is above 0.7, or when
    a mode search ran out of budget while modes were likely still missing.
    """


def fit_generalized_pareto(exceedances):
    """Shape ``k`` and scale ``sigma`` of a generalized Pareto distribution.

    The estimator of Zhang and Stephens (Technometrics, 2009: the posterior
    mean of ``theta = -k / sigma`` under its profile likelihood on a grid), with
    the weakly informative prior of PSIS (Vehtari et al., JMLR 2024) on ``k`` (``PRIOR_STRENGTH`` pseudo
    observations at ``k = 0.5``). The distribution function is
    ``F(x) = 1 - (1 + k x / sigma)^(-1/k)``, so ``k > 0`` is a heavy tail.

    Parameters
    ----------
    exceedances : array-like of shape (n,)
        Positive values above a threshold (n >= 2).

    Returns
    -------
    k, sigma : float
        The shape and the scale.
    """
    x = np.sort(np.asarray(exceedances, dtype=np.float64))
    n = x.size
    if n < 2:
        raise ValueError(f"fitting a generalized Pareto distribution needs at least 2 "
                         f"exceedances; got {n}.")
    n_grid = 30 + int(math.sqrt(n))
    if not x[-1] > 0:
        raise ValueError("exceedances must not all be zero.")
    quartile = x[max(int(n / 4.0 + 0.5) - 1, 0)]
    if not quartile > 0:  # ties at the threshold: the smallest positive value instead
        quartile = x[x > 0][0]
    grid = np.arange(1, n_grid + 1, dtype=np.float64)
    theta = 1.0 / x[-1] + (1.0 - np.sqrt(n_grid / (grid - 0.5))) / (3.0 * quartile)
    neg_shape = np.mean(np.log1p(-theta[:, None] * x[None, :]), axis=1)  # -k of [2]
    profile = n * (np.log(-theta / neg_shape) - neg_shape - 1.0)
    weights = np.exp(profile - logsumexp(profile))
    theta_hat = float(np.sum(weights * theta))
    k = float(np.mean(np.log1p(-theta_hat * x)))
    sigma = -k / theta_hat
    k = (n * k + PRIOR_STRENGTH * PRIOR_SHAPE) / (n + PRIOR_STRENGTH)
    return k, sigma


def relative_spread(log_ratios):
    """How far the finite importance ratios spread: ``max / min - 1``
    (``inf`` without two finite ratios)."""
    finite = np.asarray(log_ratios, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(np.expm1(np.ptp(finite))) if finite.size > 1 else math.inf


def tail_length(n_samples):
    """Number of largest ratios PSIS fits: ``ceil(min(n / 5, 3 sqrt(n)))``
    (Vehtari et al., 2024)."""
    return int(math.ceil(min(0.2 * n_samples, 3.0 * math.sqrt(n_samples))))


def pareto_smooth(log_ratios):
    """Pareto smoothed log importance weights and the Pareto k-hat.

    The ``M = tail_length(n)`` largest ratios are replaced by the quantiles
    ``F^{-1}((i - 1/2) / M)`` of a generalized Pareto distribution fitted to
    their exceedances over the largest ratio outside the tail, and truncated at
    the largest raw ratio (Vehtari et al., 2024). Entries equal to ``-inf`` (zero weight, e.g. a
    sample where the target vanishes) stay ``-inf`` and are not part of the fit.

    Parameters
    ----------
    log_ratios : array-like of shape (n,)
        ``log p~(x_i) - log q(x_i)``; finite or ``-inf``.

    Returns
    -------
    log_weights : ndarray of shape (n,)
        Smoothed log weights (unnormalised, same scale as the input).
    k_hat : float
        Shape of the fitted tail; ``inf`` when fewer than 5 finite ratios leave
        nothing to fit or when the tail spans more than ``MAX_TAIL_LOG_SPAN``
        nats (its smaller weights underflow next to the largest), ``-inf`` when the largest ratios agree to within
        ``RELATIVE_SPREAD_FLOOR`` (no tail: q is proportional to p~).
    """
    log_ratios = np.asarray(log_ratios, dtype=np.float64)
    if np.any(np.isnan(log_ratios) | (log_ratios == np.inf)):
        raise ValueError("log importance ratios must be finite or -inf (zero weight); "
                         "got NaN or +inf.")
    smoothed = log_ratios.copy()
    finite = np.flatnonzero(np.isfinite(log_ratios))
    n_tail = tail_length(finite.size)
    if finite.size < 5 or n_tail < 2 or n_tail >= finite.size:
        return smoothed, math.inf
    order = finite[np.argsort(log_ratios[finite])]
    tail, top = order[-n_tail:], log_ratios[order[-1]]
    threshold = log_ratios[order[-n_tail - 1]]
    if top - threshold > MAX_TAIL_LOG_SPAN:
        return smoothed, math.inf
    exceedances = np.exp(log_ratios[tail] - top) - math.exp(threshold - top)
    if np.max(exceedances) < RELATIVE_SPREAD_FLOOR:
        # the tail's weights agree to rounding (q proportional to p~): no tail to fit
        return smoothed, -math.inf
    k, sigma = fit_generalized_pareto(exceedances)
    probabilities = (np.arange(1, n_tail + 1) - 0.5) / n_tail
    if abs(k) < 1e-12:
        quantiles = -sigma * np.log1p(-probabilities)
    else:
        quantiles = sigma / k * ((1.0 - probabilities) ** (-k) - 1.0)
    tail_values = np.log(quantiles + math.exp(threshold - top)) + top
    smoothed[tail] = np.minimum(tail_values, top)
    return smoothed, k


Diagnostics = collections.namedtuple(
    "Diagnostics", ["pareto_k", "ess", "log_evidence", "log_evidence_se", "elbo", "elbo_se",
                    "n_samples", "n_zero_weight", "n_undefined"])
Diagnostics.__doc__ = """Diagnostics of a proposal q for a target p~ (see :func:`diagnose_samples`).

Attributes
----------
pareto_k : float
    Pareto k-hat of the importance ratios ``p~/q`` (Vehtari et al., 2024): below 0.5 good, 0.5 to
    0.7 usable, above 0.7 not trustworthy (see :data:`KHAT_THRESHOLD`).
ess : float
    Effective sample size of the smoothed weights, ``(sum w)^2 / sum w^2``.
log_evidence : float
    PSIS estimate of ``log Z = log E_q[p~/q]``.
log_evidence_se : float
    Its Monte-Carlo standard error, ``sqrt(1/ess - 1/n)`` (delta method; not
    reliable when ``pareto_k > 0.7``).
elbo : float
    ``E_q[log p~ - beta log q]`` (``-inf`` when a sample has ``p~ = 0``).
elbo_se : float
    Its Monte-Carlo standard error.
n_samples : int
    Samples used (those where the target is defined).
n_zero_weight : int
    Samples where ``p~ = 0`` (``log p~ = -inf``): weight zero in ``log Z``,
    and the ELBO is ``-inf``.
n_undefined : int
    Samples left out because ``log p~`` was NaN or ``+inf`` there (as the fit
    leaves them out).
"""


def diagnose_samples(log_p, log_q, temperature=1.0):
    """PSIS diagnostics of a proposal from its samples' log-densities.

    Parameters
    ----------
    log_p : array-like of shape (n,)
        ``log p~`` at samples of q. ``-inf`` (zero density) is a sample of
        weight zero; NaN and ``+inf`` (target undefined) leave the sample out.
    log_q : array-like of shape (n,)
        ``log q`` at the same samples (finite).
    temperature : float, default=1.0
        ``beta`` of the ELBO ``E_q[log p~ - beta log q]``.

    Returns
    -------
    Diagnostics
        The k-hat, effective sample size, ``log Z`` and ELBO estimates with
        their standard errors, and the sample counts.
    """
    log_p = np.asarray(log_p, dtype=np.float64)
    log_q = np.asarray(log_q, dtype=np.float64)
    defined = ~(np.isnan(log_p) | (log_p == np.inf))
    n_undefined = int(log_p.size - np.sum(defined))
    if n_undefined == log_p.size:
        raise ValueError("The target's log-density was NaN or +inf at every sample of q; "
                         "check the target (its support and its formula).")
    log_p, log_q = log_p[defined], log_q[defined]
    n = log_p.size
    log_weights, k_hat = pareto_smooth(log_p - log_q)
    n_zero = int(np.sum(np.isneginf(log_p)))
    if n_zero == n:
        return Diagnostics(math.inf, 0.0, -math.inf, math.inf, -math.inf, math.inf, n, n,
                           n_undefined)
    normalised = np.exp(log_weights - np.max(log_weights))
    ess = float(np.sum(normalised) ** 2 / np.sum(normalised ** 2))
    log_evidence = float(logsumexp(log_weights) - math.log(n))
    log_evidence_se = math.sqrt(max(1.0 / ess - 1.0 / n, 0.0))
    values = log_p - temperature * log_q
    if n_zero:
        elbo, elbo_se = -math.inf, math.inf
    else:
        elbo = float(np.mean(values))
        elbo_se = float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return Diagnostics(float(k_hat), ess, log_evidence, log_evidence_se, elbo, elbo_se,
                       n, n_zero, n_undefined)


def advice(diagnostics):
    """What to try when ``diagnostics.pareto_k`` exceeds :data:`KHAT_THRESHOLD`."""
    if math.isinf(diagnostics.pareto_k):
        return (f"The fitted mixture is not an approximation of the target: its samples "
                f"lie where the target has next to no mass (the importance ratios p~/q "
                f"span more than e^{MAX_TAIL_LOG_SPAN:.0f} or are almost all zero, so the "
                f"Pareto k-hat is infinite; ELBO {diagnostics.elbo:.4g}, ESS {diagnostics.ess:.0f} of "
                f"{diagnostics.n_samples}), and log_evidence() is meaningless. The fit "
                f"started far from the target's mass, or stopped before reaching it: "
                f"start q near the mass (init='auto', or init_mean with a smaller "
                f"init_scale, or X near the mass), or fit longer (max_iter). A target "
                f"whose log-density rises without bound in some direction has infinite "
                f"mass and nothing to approximate: check that it is normalisable.")
    return (f"The fitted mixture is not a trustworthy approximation of the target: the "
            f"Pareto k-hat of the importance ratios p~/q is {diagnostics.pareto_k:.2f} "
            f"(> {KHAT_THRESHOLD}; ESS {diagnostics.ess:.0f} of {diagnostics.n_samples}), "
            f"so q misses part of the target's mass and log_evidence() is unreliable. "
            f"Try more components (n_components, max_components), a longer fit "
            f"(max_iter, or a smaller tol), a start found from the target "
            f"(init='auto', or init_mean/init_scale/X near the mass), or, for a "
            f"heavy-tailed target, a reparameterisation that lightens its tails.")


def unbounded_density_advice(summary):
    """What a mode search whose starts ran into an unbounded density says, and
    what to try.

    Parameters
    ----------
    summary : dict
        The fitted estimator's ``mode_search_`` (``n_unbounded > 0``).

    Returns
    -------
    str
    """
    start = ("found no mode, and the fit started from init_mean and init_scale (or X) "
             "instead" if summary["stopped"] == "no mode" else
             f"found {summary['n_modes']} mode(s) elsewhere")
    return (f"The target's density grows without bound: {summary['n_unbounded']} of the "
            f"{summary['n_starts']} starts of the initial mode search climbed until the "
            f"rounding of x stopped them, as in the neck of a funnel (a centred "
            f"hierarchical model, where the group effects close in on their mean as "
            f"the group scale goes to zero) or at a singularity; the search {start}. "
            f"Gaussian components cannot follow such a neck, so q may miss mass "
            f"there, and neither the ELBO nor the Pareto k-hat can see mass where q "
            f"draws no samples. Reparameterise (for a hierarchical model, the "
            f"non-centred form theta = mu + tau * eta removes the neck), or check q's "
            f"marginals against a reference.")


def missed_modes_advice(summary):
    """What a mode search that ran out of budget saw, and what to try.

    Parameters
    ----------
    summary : dict
        The fitted estimator's ``mode_search_`` (the fields of
        :class:`skgmmvi._tf.vi.mode_search.SearchSummary`).

    Returns
    -------
    str
    """
    upper = summary["unseen_chance"] + 2.0 * summary["unseen_chance_se"]
    return (f"The initial mode search ran out of its budget of target evaluations "
            f"({summary['n_evaluations']} spent) while new modes were still likely: "
            f"{summary['n_starts']} starts found {summary['n_modes']} distinct modes, "
            f"{summary['n_singletons']} of them reached by one start only; the chance "
            f"that another start finds a new mode is estimated at "
            f"{summary['unseen_chance']:.3f} and may be as high as {upper:.3f} (estimate "
            f"plus two standard errors; estimated number of modes "
            f"{summary['estimated_n_modes']:.1f}). The fit started at the modes found; "
            f"modes missed there are rarely found later, and the Pareto k-hat cannot "
            f"see them (it only looks where q puts samples). Give the search a larger "
            f"budget (init_budget), start more components (n_components, "
            f"max_components), widen the start (init_scale, init_mean), or pass X with "
            f"points in every region of the target's mass.")
