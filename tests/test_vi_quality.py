"""Quality bars of VariationalGMMTarget with its defaults (issue 12, part 4).

Every fit here is ``VariationalGMMTarget(target, random_state=0).fit()`` (plus
``init_mean`` where a target works in any dimension): no tuning per problem.
Every answer compared against is exact (computed from the model's definition
in tests/exact_answers.py or by the target's own quadrature), never an
earlier output of ours. The exact answers are themselves checked against
brute-force Monte Carlo in the fast tests at the bottom.
"""

import contextlib
import io
import itertools
import math
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skgmmvi import VariationalGMMTarget
from skgmmvi._stopping_rule import mixture_growing
from skgmmvi.diagnostics import KHAT_THRESHOLD, PoorFitWarning, pareto_smooth
from skgmmvi.targets import (BananaTarget, EightSchoolsCentered, EightSchoolsNonCentered,
                             FunnelTarget, GaussianTarget, MixtureModelPosterior)
from skgmmvi.vi import FIT_CHECK_SAMPLES, elbo_stalled

from exact_answers import (far_gaussian, funnel_moments, mixture_posterior_draws,
                           mixture_posterior_exact, stiff_shifted_gaussian)

#: Two of the seed problem's bars are not met by the defaults (issue 12
#: open), and which two depends on rounding: the bars sit at the level of the
#: fit's run-to-run path noise. A mode at the far end of a flat ridge of log p~
#: (a cluster holding point 1.1 alone: sigma -> 0 with mu = 1.1) gets a
#: component with the moments of the ridge's mass
#: (skgmmvi/_tf/vi/ridge_profile.py), and as every mode lies near the centre of
#: the broad start (not in its typical set), the fit starts at the seven modes
#: instead of keeping the start. The fit's path is chaotic: even the threads
#: TensorFlow sums with, or the order of a sum, change it. In this session's
#: environment (tests/conftest.py: one thread each), random_state=0 gave,
#: before the small-D importance sums changed their summation order (8c9a489),
#: a PSIS log evidence 0.059 below the exact value (bar 0.05) and a k-hat below
#: 0.7 (diagnose(random_state=3)); since then the log evidence is within its
#: bar and that k-hat is 0.766 (CI of 0c60f09). With TensorFlow's default
#: threads (benchmarks' environment), random_state 0, 1, 2 gave log Z errors
#: -0.046, -0.044, -0.022, the co-assignment test's k-hat 0.69, 0.82, 0.72
#: (estimate +0.024, -0.003, +0.022; bar 0.02) and diagnose's k-hat 0.76,
#: 0.77, 0.80. benchmarks/diagnose_seed_problem.py and doc/vi.rst ("Where the
#: defaults fall short") show why (not the Gaussian family, mostly not the
#: ELBO, but the fit's path) and which levers were tried. On 2026-12-07 (Intel
#: Sapphire Rapids, one thread, after the mode search's exact Newton step,
#: f7f1726, and the stopping rule's growing-mixture veto, d605e36) the tests'
#: own figures were: log Z error -0.075, the co-assignment test's k-hat 0.84,
#: diagnose's k-hat 0.93; doc/vi.rst ("What the objective allows") shows why
#: the k-hat bar sits at the objective's own optimum. Strict, so a change
#: that meets the bars (or moves which ones this environment meets) must
#: update the markers and this comment.
SEED_BARS_OPEN = pytest.mark.xfail(
    reason="defaults miss part of the seed posterior's mass (issue 12 open)", strict=True)
#: The log-evidence bar is met or missed depending on the CPU: the same test
#: session (one thread each) gave a PSIS log evidence within the bar on the
#: machines before 2026-12-06 (numpy's OpenBLAS with its Haswell kernels; CI of
#: 9dba111) and 0.057 below the exact value (bar 0.05) on an AMD EPYC with
#: AVX-512 (OpenBLAS's SkylakeX kernels; 2026-12-07), the fit's path taking
#: another turn on rounding; 0.075 below on a Sapphire Rapids after f7f1726 and
#: d605e36 changed the path. Not strict, as it passes on some machines.
SEED_BAR_CPU_DEPENDENT = pytest.mark.xfail(
    reason="issue 12 open: within its bar or up to 0.03 beyond it, by the fit's path",
    strict=False)
_FITS = {}


def fitted(name, make_target, **kwargs):
    """One default fit per problem and session (several tests read it). Its
    warnings are silenced: the bars test ``converged_`` / ``pareto_k_`` directly."""
    if name not in _FITS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[name] = VariationalGMMTarget(make_target(), random_state=0,
                                               **kwargs).fit()
    return _FITS[name]


def mixture_mean_and_sd(vi):
    """Mean and per-coordinate standard deviation of the fitted mixture."""
    weights, means, covariances = vi.weights_, vi.means_, vi.covariances_
    mean = weights @ means
    second = np.einsum("k,kd->d", weights, np.diagonal(covariances, axis1=1, axis2=2)
                       + means ** 2)
    return mean, np.sqrt(second - mean ** 2)


def psis_sample(vi, n_samples, seed):
    """Samples of q, their self-normalised PSIS weights and the k-hat of the
    weights (the estimates they give are trustworthy below KHAT_THRESHOLD)."""
    from skgmmvi._tf.vi.compile import TargetEvaluator

    x, _ = vi.sample(n_samples)  # uses the estimator's random_state
    rng = np.random.default_rng(seed)
    x = x[rng.permutation(len(x))]
    log_p = TargetEvaluator(vi.target_, "float64")(x)
    log_weights, k_hat = pareto_smooth(log_p - vi.score_samples(x))
    return x, np.exp(log_weights - logsumexp(log_weights)), k_hat


# --------------------------------------------------------------- seed problem
SEED = "mixture_posterior"


def _seed_fit():
    return fitted(SEED, MixtureModelPosterior)


@pytest.mark.slow
def test_seed_fit_stops_only_once_its_mixture_stopped_growing():
    # random_state 0, one thread: before the stopping rule's growing-mixture
    # veto (mixture_growing) this fit stopped as converged after 364
    # iterations (21 components, ELBO 0.99 below log Z); run on, it gains 0.29
    # nats. Another CPU's path need not plateau, so what is tested is the rule.
    vi = _seed_fit()
    sizes = vi.n_components_history_
    assert sizes.shape == (vi.n_iter_,) and sizes[-1] == vi.n_components_
    assert (not vi.converged_
            or not mixture_growing(sizes, vi.n_iter_no_change, vi.max_components))


@pytest.mark.slow
def test_seed_problem_covers_all_six_label_switching_modes():
    vi = _seed_fit()
    x, _ = vi.sample(60000)
    orderings = np.argsort(x[:, :3], axis=1)
    fractions = [np.mean(np.all(orderings == np.array(p), axis=1))
                 for p in itertools.permutations(range(3))]
    # each ordering of (mu_1, mu_2, mu_3) holds 1/6 of the posterior's mass
    assert min(fractions) > 0.1, fractions


@SEED_BAR_CPU_DEPENDENT
@pytest.mark.slow
def test_seed_problem_log_evidence_within_005_of_exact():
    vi = _seed_fit()
    exact, _ = mixture_posterior_exact(vi.target_)
    assert abs(vi.log_evidence(100000, random_state=1) - exact) < 0.05


@SEED_BARS_OPEN
@pytest.mark.slow
def test_seed_problem_co_assignment_within_002_of_exact():
    vi = _seed_fit()
    _, exact = mixture_posterior_exact(vi.target_)
    x, weights, k_hat = psis_sample(vi, 100000, seed=2)
    # with k-hat above the threshold the weighted estimate is noise (with
    # random_state 0, 1, 2 it missed by +0.11, -0.10, +0.04): passing by luck
    # is not meeting the bar
    assert k_hat < KHAT_THRESHOLD, k_hat
    estimate = vi.target_.co_assignment_probability(x, 0, 1, weights=weights)
    assert abs(estimate - exact) < 0.02


@SEED_BARS_OPEN
@pytest.mark.slow
def test_seed_problem_khat_below_threshold():
    assert _seed_fit().diagnose(random_state=3).pareto_k < KHAT_THRESHOLD


# ------------------------------------------------------- stiff shifted gaussian
def _stiff_fit():
    return fitted("stiff", lambda: stiff_shifted_gaussian()[0])


@pytest.mark.slow
def test_stiff_shifted_gaussian_mean_covariance_elbo_and_khat():
    vi = _stiff_fit()
    _, mean, covariance = stiff_shifted_gaussian()
    fitted_mean, _ = mixture_mean_and_sd(vi)
    centred = vi.means_ - fitted_mean
    covariance_q = np.einsum("k,kij->ij", vi.weights_,
                             vi.covariances_ + centred[:, :, None] * centred[:, None, :])
    assert np.linalg.norm(fitted_mean - mean) / np.linalg.norm(mean) < 0.02
    assert np.linalg.norm(covariance_q - covariance) / np.linalg.norm(covariance) < 0.02
    result = vi.diagnose(random_state=1)
    assert abs(result.elbo - 0.0) < 0.05  # log Z = 0
    assert result.pareto_k < KHAT_THRESHOLD


# ------------------------------------------- funnel and a hierarchical model
def _funnel():
    return (FunnelTarget(n_features=10),) + funnel_moments(10)


def _eight_schools():
    target = EightSchoolsCentered()
    return (target,) + target.posterior_moments()[:2]


@pytest.mark.slow
@pytest.mark.parametrize("name, problem", [
    ("funnel", _funnel),
    # eight schools: the stopping rule (tol=0.004) ends the fit after 1469, 1249
    # and 1359 iterations (random_state 0, 1, 2), with the worst coordinate
    # (log tau, the neck) 0.174, 0.187, 0.181 sd off (with tol=0.005: 0.196,
    # 0.187, 0.197; the old rule stopped after 560-620 iterations, 0.26-0.28 off)
    ("eight_schools", _eight_schools)])
def test_means_within_02_posterior_sd_and_khat(name, problem):
    target, exact_mean, exact_sd = problem()
    vi = fitted(name, lambda: target)
    mean, _ = mixture_mean_and_sd(vi)
    errors = np.abs(mean - exact_mean) / exact_sd
    assert np.max(errors) < 0.2, errors
    assert vi.diagnose(random_state=1).pareto_k < KHAT_THRESHOLD


# ------------------------------------------- the same model, non-centred
@pytest.mark.slow
def test_non_centred_eight_schools_tail_of_log_tau_and_khat():
    # the non-centred model's hard part is the left tail of log tau (density
    # ~ tau there), which the ELBO hardly sees. random_state 0, 1, 2, 3 (one
    # thread, 2026-12-07): q's mass below log tau = -3 is 0.0089, 0.0090,
    # 0.0093, 0.0110 (exact 0.0101), pareto_k_ 0.60, 0.39, 0.44, 0.35, means
    # within 0.007 sd. Before the stopping rule asked the tails (TailCheck),
    # the fits stopped at 354-504 iterations with the mixture still growing:
    # 0.0057, 0.0081, 0.0076, 0.0077, pareto_k_ 0.79 and 0.74 (PoorFitWarning)
    target = EightSchoolsNonCentered()
    exact_mean, exact_sd, log_evidence = target.posterior_moments()
    vi = fitted("eight_schools_non_centred", lambda: target)
    x, _ = vi.sample(200000)
    assert np.max(np.abs(x.mean(axis=0) - exact_mean) / exact_sd) < 0.2
    exact_tail = float(target.log_tau_cdf(-3.0))
    assert abs(np.mean(x[:, 1] < -3.0) / exact_tail - 1.0) < 0.15
    assert vi.pareto_k_ < KHAT_THRESHOLD
    result = vi.diagnose(random_state=1)
    assert result.pareto_k < KHAT_THRESHOLD
    assert abs(result.log_evidence - log_evidence) < 0.05


@pytest.mark.slow
def test_tail_checks_change_no_draw_of_the_fit_and_count_their_evaluations():
    # the same iterations without the stopping rule (so without its checks)
    # give the same mixture; the checks' FIT_CHECK_SAMPLES evaluations each
    # count in n_target_evaluations_ (random_state 0 looked several times)
    vi = fitted("eight_schools_non_centred", EightSchoolsNonCentered)
    plain = VariationalGMMTarget(EightSchoolsNonCentered(), tol=None,
                                 max_iter=vi.n_iter_, random_state=0).fit()
    np.testing.assert_array_equal(plain.means_, vi.means_)
    np.testing.assert_array_equal(plain.covariances_, vi.covariances_)
    n_looks, rest = divmod(vi.n_target_evaluations_ - plain.n_target_evaluations_,
                           FIT_CHECK_SAMPLES)
    assert n_looks >= 1 and rest == 0


# ------------------------------------------------------------------ far target
@pytest.mark.slow
def test_mass_1e4_away_from_the_start_is_found():
    vi = fitted("far", lambda: far_gaussian()[0])
    _, mean, covariance = far_gaussian()
    fitted_mean, _ = mixture_mean_and_sd(vi)
    errors = np.abs(fitted_mean - mean) / np.sqrt(np.diag(covariance))
    assert np.max(errors) < 0.2, errors
    assert vi.diagnose(random_state=1).pareto_k < KHAT_THRESHOLD


# ------------------------------------------- a kept start and the modes it misses
@pytest.mark.parametrize("seed", [0, 1])
def test_a_kept_start_gets_a_component_at_each_mode_its_samples_miss(seed):
    # three narrow modes, all within reach of a broad start (kept), none of
    # them where its samples land: each gets a component (Laplace covariance,
    # small weight) next to the start; without room for more components
    # (fixed components) the start stays as it was
    from skgmmvi.targets import GaussianMixtureTarget

    target = GaussianMixtureTarget(n_features=2, n_modes=3, random_state=seed)
    vi = VariationalGMMTarget(target, init_scale=30.0, max_iter=0, random_state=0).fit()
    assert vi.mode_search_["stopped"] == "start kept" and vi.mode_search_["n_modes"] == 3
    assert vi.n_components_ == 4
    np.testing.assert_array_equal(vi.means_[0], np.zeros(2))
    assert vi.weights_[0] > 0.99
    found = vi.means_[1:][np.argsort(vi.means_[1:, 0])]
    np.testing.assert_allclose(found, target.means[np.argsort(target.means[:, 0])], atol=0.1)
    # Laplace covariances: far narrower than the start's (30^2 I)
    assert np.max(np.linalg.eigvalsh(vi.covariances_[1:])) < 0.1 * 30.0 ** 2
    fixed = VariationalGMMTarget(target, init_scale=30.0, max_iter=0,
                                 adaptive_components=False, random_state=0).fit()
    assert fixed.n_components_ == 1


# ----------------------------------------------- the exact answers, checked
def _mixture_log_likelihood(target, mu, sigma, pi):
    """log p(data | mu, sigma, pi) per row, from the model's definition."""
    x = target.data[None, :, None]
    log_comp = (np.log(pi)[:, None, :] - np.log(sigma)[:, None, :] - 0.5 * math.log(2 * math.pi)
                - 0.5 * ((x - mu[:, None, :]) / sigma[:, None, :]) ** 2)
    return logsumexp(log_comp, axis=2).sum(axis=1), log_comp


def test_exact_mixture_answers_match_prior_monte_carlo():
    # a small model where the prior is a good enough proposal: Z = E_prior[lik]
    target = MixtureModelPosterior(data=[0.3, -0.4, 1.2, 0.9], n_components=2,
                                   mean_prior_scale=1.5)
    exact_log_z, exact_same = mixture_posterior_exact(target)
    rng = np.random.default_rng(0)
    n = 400000
    mu = 1.5 * rng.standard_normal((n, 2))
    sigma = rng.gamma(1.0, 1.0, size=(n, 2))
    pi = rng.dirichlet(np.ones(2), size=n)
    log_lik, log_comp = _mixture_log_likelihood(target, mu, sigma, pi)
    weights = np.exp(log_lik - log_lik.max())
    log_z = math.log(weights.mean()) + log_lik.max()
    se = weights.std() / (math.sqrt(n) * weights.mean())
    assert abs(log_z - exact_log_z) < 4 * se and se < 0.02
    r = np.exp(log_comp - logsumexp(log_comp, axis=2, keepdims=True))
    same = np.sum(r[:, 0, :] * r[:, 1, :], axis=1)
    estimate = np.sum(weights * same) / np.sum(weights)
    assert abs(estimate - exact_same) < 0.01


def test_exact_mixture_answers_one_component_match_the_target_by_quadrature():
    # K = 1: a 2-D integral of the target's own density over (mu, log sigma)
    from skgmmvi._tf.vi.compile import TargetEvaluator

    target = MixtureModelPosterior(n_components=1)
    exact_log_z, exact_same = mixture_posterior_exact(target)
    mu = np.linspace(-4.0, 6.0, 801)
    s = np.linspace(-5.0, 3.0, 801)
    grid = np.stack(np.meshgrid(mu, s, indexing="ij"), axis=-1).reshape(-1, 2)
    log_p = TargetEvaluator(target, "float64")(grid)
    cell = (mu[1] - mu[0]) * (s[1] - s[0])
    assert logsumexp(log_p) + math.log(cell) == pytest.approx(exact_log_z, abs=1e-4)
    assert exact_same == pytest.approx(1.0)


def test_seed_problem_exact_answers_are_label_symmetric_and_consistent():
    target = MixtureModelPosterior()
    log_z, same = mixture_posterior_exact(target)
    # the report: defaults gave -15.10, 0.66 below the exact value
    assert log_z == pytest.approx(-15.10 + 0.66, abs=0.01)
    assert 0 < same < 1
    # a relabelled data order changes nothing about the evidence
    shuffled = MixtureModelPosterior(data=target.data[::-1])
    assert mixture_posterior_exact(shuffled)[0] == pytest.approx(log_z, abs=1e-10)


def test_exact_mixture_draws_agree_with_the_enumeration_and_the_density():
    target = MixtureModelPosterior()
    n = 20000
    theta, counts = mixture_posterior_draws(target, n, seed=0)
    assert theta.shape == (n, 8) and np.all(counts.sum(axis=1) == target.data.size)
    # co-assignment from the draws' responsibilities (the model's definition,
    # not the enumeration) against the enumeration's exact value
    for pair in ((0, 1), (0, 4), (4, 5)):
        _, exact_same = mixture_posterior_exact(target, pair)
        assert target.co_assignment_probability(theta, *pair) == pytest.approx(
            exact_same, abs=0.01)
    # every ordering of the three means holds a sixth (label switching)
    orderings = np.argsort(theta[:, :3], axis=1)
    fractions = [np.mean(np.all(orderings == np.array(p), axis=1))
                 for p in itertools.permutations(range(3))]
    np.testing.assert_allclose(fractions, 1 / 6, atol=0.015)
    # the score of the target's own density has mean zero under its posterior
    _, grad = target.log_density_and_grad(theta)
    standard_error = grad.std(axis=0) / math.sqrt(n)
    assert np.all(np.abs(grad.mean(axis=0)) < 5 * standard_error), (
        grad.mean(axis=0) / standard_error)


@pytest.mark.parametrize("centred", [True, False])
def test_eight_schools_exact_moments_match_importance_sampling_from_the_prior(centred):
    target = EightSchoolsCentered() if centred else EightSchoolsNonCentered()
    means, sds, log_z = target.posterior_moments()
    rng = np.random.default_rng(1)
    n = 400000
    mu = 5.0 * rng.standard_normal(n)
    tau = np.abs(5.0 * rng.standard_cauchy(n))
    eta = rng.standard_normal((n, 8))
    theta = mu[:, None] + tau[:, None] * eta
    y, sigma = target.effects, target.standard_errors
    log_lik = np.sum(-0.5 * np.log(2 * np.pi * sigma ** 2)
                     - 0.5 * ((y - theta) / sigma) ** 2, axis=1)
    weights = np.exp(log_lik - log_lik.max())
    assert math.log(weights.mean()) + log_lik.max() == pytest.approx(log_z, abs=0.02)
    weights /= weights.sum()
    draws = np.column_stack([mu, np.log(tau), theta if centred else eta])
    estimate = weights @ draws
    ess = 1.0 / np.sum(weights ** 2)
    assert np.all(np.abs(estimate - means) < 5 * sds / math.sqrt(ess))
    for value in (-3.0, 0.0, 2.0):
        tail = weights @ (np.log(tau) < value)
        exact = target.log_tau_cdf(value)
        assert abs(tail - exact) < 5 * math.sqrt(exact * (1 - exact) / ess)


def test_stiff_shifted_gaussian_is_what_it_says():
    target, mean, covariance = stiff_shifted_gaussian()
    eigenvalues = np.linalg.eigvalsh(covariance)
    assert eigenvalues.max() / eigenvalues.min() == pytest.approx(1e4, rel=1e-6)
    assert np.linalg.norm(mean) == pytest.approx(50.0)
    np.testing.assert_allclose(target.covariance, covariance)
    assert target.log_normalizer == 0.0
    far, far_mean, _ = far_gaussian()
    assert np.linalg.norm(far_mean) == pytest.approx(1e4)


def test_poor_fit_warning_is_a_user_warning():
    assert issubclass(PoorFitWarning, UserWarning)


# ------------------------------------------------------------ the stopping rule
def _standard_normal_fit(**kwargs):
    target = GaussianTarget(np.zeros(2), np.eye(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vi = VariationalGMMTarget(target, random_state=0, **kwargs).fit()
    return vi, {w.category for w in caught}


def test_an_easy_fit_stops_before_the_old_fixed_200_iterations():
    vi, caught = _standard_normal_fit()
    assert vi.converged_
    # the start found from the target is exact here: the ELBO estimates equal log Z
    # to rounding and the rule ends the fit at its first check
    assert vi.n_iter_ == 10
    np.testing.assert_allclose(vi.elbo_history_, 0.0, rtol=0, atol=1e-12)  # normalised
    assert ConvergenceWarning not in caught and PoorFitWarning not in caught


def test_reaching_max_iter_first_raises_convergence_warning():
    # (from the broad prior start, q is not yet the target after 20 iterations)
    vi, caught = _standard_normal_fit(max_iter=20, init="prior")
    assert vi.n_iter_ == 20 and not vi.converged_
    assert ConvergenceWarning in caught


def test_tol_none_runs_max_iter_without_warning():
    vi, caught = _standard_normal_fit(max_iter=130, tol=None)
    assert vi.n_iter_ == 130 and not vi.converged_
    assert ConvergenceWarning not in caught


def _stops(curve, tol=0.005):
    """Iterations after which the rule (checked every 10) ends ``curve``, or None."""
    return next((n for n in range(10, len(curve) + 1, 10)
                 if elbo_stalled(curve[:n], 50, tol)), None)


def test_stopping_rule_goes_on_while_a_slow_gain_is_measurable():
    rng = np.random.default_rng(0)
    iterations = np.arange(2000)
    # a fast start, then 0.0075 nats per 50 iterations (as eight schools after
    # ~1000 iterations): under the old fixed 0.01 per window, and in one
    # 50-window only 1.5 standard errors of the noise (sd 0.01 per estimate);
    # over the growing span it is many, and above tol, so it never stops
    slow = (-10.0 - 2.0 * np.exp(-iterations / 30.0) + 1.5e-4 * iterations
            + 0.01 * rng.standard_normal(2000))
    assert _stops(slow) is None
    # the same gain below tol (the floor) stops, and so does a noise-free one
    assert _stops(slow, tol=0.01) is not None
    assert _stops(-10.0 + 1e-5 * iterations) == 100


def test_stopping_rule_stops_when_the_gain_is_within_the_noise():
    # a flat curve gains nothing measurable: with tol=0 only the noise test can
    # stop it, and it does at the first check (the gain is above 2 standard
    # errors by chance in about 2% of curves)
    first_check = [_stops(-10.0 + 0.5 * np.random.default_rng(seed).standard_normal(400),
                          tol=0.0) == 100 for seed in range(20)]
    assert sum(first_check) >= 17
    rng = np.random.default_rng(0)
    assert not elbo_stalled(list(rng.standard_normal(99)), 50, 0.005)  # too short to judge


def test_stopping_rule_stops_on_a_plateau_within_about_half_the_run():
    # 0.05 nats per 50 iterations up to 1000, then flat: the rule goes on while
    # the gain lasts and stops once the compared spans (a quarter of the run
    # each) have left the ramp
    rng = np.random.default_rng(0)
    ramp = -10.0 + np.minimum(np.arange(2000), 1000) * 1e-3
    assert 1000 < _stops(ramp + 0.02 * rng.standard_normal(2000)) <= 1600


def test_stopping_rule_ignores_a_wild_estimate():
    rng = np.random.default_rng(0)
    rising = -10.0 + 0.002 * np.arange(400) + 0.05 * rng.standard_normal(400)
    spiked = rising.copy()
    spiked[-3] = -1e6  # one wild estimate neither stops nor prolongs the fit
    assert not elbo_stalled(list(rising), 50, 0.005)
    assert not elbo_stalled(list(spiked), 50, 0.005)
    stalled = []
    for seed in range(20):
        flat = -10.0 + 0.05 * np.random.default_rng(seed).standard_normal(400)
        flat[-3] = 1e6  # (it moves each median by one rank at most)
        stalled.append(elbo_stalled(list(flat), 50, 0.005))
    assert sum(stalled) >= 17


def test_checking_between_chunks_does_not_change_the_fit():
    # components are added (capacity grows) during these 60 iterations; the
    # stopping-rule checks and progress lines split the run into chunks
    # (a banana: q never becomes the target exactly, so the rule does not end the run)
    target = BananaTarget()
    common = dict(max_iter=60, add_iters=5, random_state=0)
    plain = VariationalGMMTarget(target, tol=None, **common).fit()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checked = VariationalGMMTarget(target, verbose=1, verbose_interval=7,
                                       **common).fit()
    assert plain.n_components_ > 1
    np.testing.assert_array_equal(plain.elbo_history_, checked.elbo_history_)
    np.testing.assert_array_equal(plain.means_, checked.means_)
