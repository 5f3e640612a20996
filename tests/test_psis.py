"""Pareto smoothed importance sampling (skgmmvi.diagnostics) against known behaviour,
and the diagnostics of a fitted VariationalGMMTarget."""

import warnings

import numpy as np
import pytest
from scipy import stats

from skgmmvi import VariationalGMMTarget
from skgmmvi.diagnostics import (KHAT_THRESHOLD, PoorFitWarning, advice, diagnose_samples,
                                 fit_generalized_pareto, pareto_smooth, relative_spread,
                                 tail_length)
from skgmmvi.targets import GaussianTarget, StudentTMixtureTarget


@pytest.mark.parametrize("shape", [-0.2, 0.3, 0.7, 1.2])
def test_gpd_fit_recovers_a_known_shape(shape):
    # 4000 draws: the standard error of the shape estimate is about
    # (1 + k) / sqrt(n) < 0.04; the prior's pull (10 pseudo-observations at 0.5)
    # moves it by less than 0.002
    x = stats.genpareto.rvs(shape, scale=2.0, size=4000, random_state=1)
    k, sigma = fit_generalized_pareto(x)
    assert abs(k - shape) < 0.1
    assert abs(sigma / 2.0 - 1.0) < 0.1


def test_tail_length_follows_the_psis_rule():
    assert tail_length(100) == 20      # n / 5
    assert tail_length(10000) == 300   # 3 sqrt(n)


@pytest.mark.parametrize("nu", [1.0, 2.0])
def test_khat_of_a_gaussian_proposal_for_a_student_t_target_exceeds_the_threshold(nu):
    # the ratios t_nu / N(0, 1) grow like exp(x^2 / 2): no finite moments of
    # order > 1 (Vehtari et al. 2024), so k-hat must flag them
    rng = np.random.default_rng(3)
    values = []
    for _ in range(5):
        x = rng.normal(scale=0.8, size=10000)
        values.append(diagnose_samples(stats.t.logpdf(x, nu),
                                       stats.norm.logpdf(x, scale=0.8)).pareto_k)
    assert np.median(values) > KHAT_THRESHOLD


@pytest.mark.parametrize("scale", [0.5, 0.7, 0.9])
def test_khat_of_a_too_narrow_gaussian_proposal_follows_the_closed_form(scale):
    # proposal N(0, s^2), target N(0, 1): log w = z^2 (1 - s^2) / 2 with z ~ N(0, 1),
    # so P(w > t) ~ t^(-1 / (1 - s^2)): a Pareto tail of shape k = 1 - s^2
    # (0.75, 0.51, 0.19). With 100 000 draws the tail has 949 of them, a
    # standard error of about (1 + k) / sqrt(949) < 0.06 per estimate; the
    # median of five estimates is compared
    rng = np.random.default_rng(11)
    values = []
    for _ in range(5):
        x = rng.normal(scale=scale, size=100000)
        values.append(diagnose_samples(stats.norm.logpdf(x),
                                       stats.norm.logpdf(x, scale=scale)).pareto_k)
    assert abs(np.median(values) - (1.0 - scale ** 2)) < 0.08


def test_khat_of_a_heavier_tailed_proposal_is_small():
    # bounded ratios (a Student-t proposal for a Gaussian target): k-hat < 0.5
    x = stats.t.rvs(4, size=10000, random_state=5)
    result = diagnose_samples(stats.norm.logpdf(x), stats.t.logpdf(x, 4))
    assert result.pareto_k < 0.5


def test_exact_proposal_gives_equal_weights_and_the_normaliser():
    x = np.random.default_rng(0).normal(size=5000)
    result = diagnose_samples(stats.norm.logpdf(x) + 2.5, stats.norm.logpdf(x))
    assert result.pareto_k < 0.5
    assert result.ess == pytest.approx(5000)
    assert result.log_evidence == pytest.approx(2.5, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_psis_log_evidence_of_a_known_normaliser_within_a_few_standard_errors(seed):
    # proposal N(0.3, 1.2^2) for p~ = exp(1.7) N(0, 1): log Z = 1.7
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 1.2, size=20000)
    result = diagnose_samples(stats.norm.logpdf(x) + 1.7, stats.norm.logpdf(x, 0.3, 1.2))
    assert result.pareto_k < 0.5
    assert 0 < result.log_evidence_se < 0.02
    assert abs(result.log_evidence - 1.7) < 4 * result.log_evidence_se


def test_smoothing_truncates_at_the_largest_raw_weight_and_keeps_order():
    rng = np.random.default_rng(2)
    log_ratios = stats.t.logpdf(rng.normal(size=2000), 1) - stats.norm.logpdf(0)
    smoothed, k = pareto_smooth(log_ratios)
    assert np.max(smoothed) <= np.max(log_ratios)
    n_tail = tail_length(2000)
    tail = np.argsort(log_ratios)[-n_tail:]
    assert np.all(np.diff(smoothed[tail]) >= 0)
    body = np.argsort(log_ratios)[:-n_tail]
    np.testing.assert_array_equal(smoothed[body], log_ratios[body])


def test_ratios_spanning_more_than_double_precision_have_infinite_khat():
    # ratios whose tail spans more than e^700 cannot be fitted (its smaller
    # weights underflow next to the largest); before this check such ratios
    # (a fit stuck where log p~ ~ -1e17) came out with k-hat 0.04
    z = np.random.default_rng(3).normal(size=2000)
    for scale in (1e3, 1e17):
        _, k = pareto_smooth(scale * z - 4e18 * (scale > 1e16))
        assert k == np.inf
    result = diagnose_samples(1e17 * z, np.zeros(2000))
    assert result.pareto_k == np.inf and result.ess < 2
    assert "init='auto'" in advice(result) and "init_scale" in advice(result)
    assert "infinite mass" in advice(result) and "normalisable" in advice(result)
    # just inside the resolvable span the fit still works, and says "very heavy"
    _, k = pareto_smooth(100.0 * z)
    assert KHAT_THRESHOLD < k < np.inf


def test_zero_weights_are_honest():
    log_p = np.array([-np.inf] * 3 + list(np.linspace(-1, 0, 97)))
    result = diagnose_samples(log_p, np.zeros(100))
    assert result.n_zero_weight == 3
    assert result.elbo == -np.inf
    assert np.isfinite(result.log_evidence)
    everywhere = diagnose_samples(np.full(10, -np.inf), np.zeros(10))
    assert everywhere.log_evidence == -np.inf
    undefined = diagnose_samples(np.array([0.0, np.nan, np.inf, 1.0]), np.zeros(4))
    assert (undefined.n_samples, undefined.n_undefined) == (2, 2)
    assert undefined.elbo == pytest.approx(0.5)
    with pytest.raises(ValueError, match="NaN or \\+inf at every sample"):
        diagnose_samples(np.array([np.nan, np.inf]), np.zeros(2))


# ------------------------------------------------------------- the estimator
def test_diagnose_of_a_fit_to_a_gaussian():
    target = GaussianTarget(mean=[1.0, -2.0], covariance=[[2.0, 0.3], [0.3, 0.5]])
    vi = VariationalGMMTarget(target, max_iter=150, random_state=0).fit()
    result = vi.diagnose(n_samples=4000, random_state=1)
    assert result.pareto_k < 0.5
    assert abs(result.log_evidence) < 4 * result.log_evidence_se + 1e-3
    assert abs(result.elbo) < 0.05  # KL(q || p) for a normalised target
    assert vi.log_evidence(4000, random_state=1) == pytest.approx(result.log_evidence)
    assert vi.pareto_k_ < 0.5


def test_a_single_gaussian_fitted_to_a_heavy_tailed_target_warns():
    # a 1-D Student t with nu = 1.5: no Gaussian covers its tails
    target = StudentTMixtureTarget(n_features=1, n_modes=1, df=1.5)
    vi = VariationalGMMTarget(target, adaptive_components=False, random_state=0,
                              max_iter=150)
    with pytest.warns(PoorFitWarning, match="n_components"):
        vi.fit()
    assert vi.pareto_k_ > KHAT_THRESHOLD
    assert vi.diagnose(random_state=3).pareto_k > KHAT_THRESHOLD


def _needle_target():
    """A stand-in for a start far from a narrow posterior (a 103-D stochastic
    volatility model started at init_scale 10 had log p~ ~ -1e18 at every
    sample of q): q's samples at scale 10 sit where log p~ ~ -1e17."""
    return GaussianTarget(mean=np.zeros(3), covariance=1e-16 * np.eye(3))


def test_a_fit_stuck_where_the_target_is_astronomically_low_warns():
    vi = VariationalGMMTarget(_needle_target(), init="prior", max_iter=10, tol=None,
                              random_state=0)
    with pytest.warns(PoorFitWarning, match="init='auto'.*init_scale"):
        vi.fit()
    assert vi.elbo_history_[-1] < -1e10
    assert vi.pareto_k_ == np.inf


def test_the_same_target_started_from_its_mode_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vi = VariationalGMMTarget(_needle_target(), random_state=0).fit()
    assert vi.pareto_k_ < KHAT_THRESHOLD
    assert abs(vi.diagnose(2000, random_state=1).elbo) < 0.05  # log Z = 0


def test_relative_spread_of_the_ratios():
    assert relative_spread(np.log([2.0, 1.0, 1.5, 0.0])) == pytest.approx(1.0)
    assert relative_spread([0.3, 0.3, -np.inf]) == 0.0
    assert relative_spread([0.3, -np.inf]) == np.inf


def test_a_nearly_exact_fit_is_not_flagged_for_the_clustering_of_its_ratios():
    # three equal modes fitted to about 1e-3 (log-ratios of sd 5e-4, all within
    # 1 % of each other): the 10 000 check samples gave k-hat 1.63 and a
    # PoorFitWarning saying q misses mass; 100 000 give 0.03 to 0.09
    from skgmmvi.targets import GaussianMixtureTarget

    target = GaussianMixtureTarget(n_features=2, n_modes=3, random_state=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vi = VariationalGMMTarget(target, max_iter=40, n_samples_per_component=40,
                                  random_state=0).fit()
    assert not [w for w in caught if w.category is PoorFitWarning]
    assert vi.pareto_k_ < 0.5
    result = vi.diagnose(random_state=0)  # the fit check's size: the clustering shows
    assert abs(result.log_evidence) < 3 * result.log_evidence_se + 1e-12  # log Z = 0
