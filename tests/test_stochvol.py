"""StochasticVolatilityPosterior: the density against scipy, the Jacobians, the data."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

from skgmmvi import VariationalGMMTarget
from skgmmvi.diagnostics import PoorFitWarning
from skgmmvi.targets import StochasticVolatilityPosterior, sp500_centred_returns


def model_log_density(target, theta):
    """log p(phi, mu, sigma, h, y) in the model's variables, from scipy's distributions."""
    phi, mu, sigma, h = theta[:, 0], theta[:, 1], theta[:, 2], theta[:, 3:]
    alpha, beta = target.persistence_prior
    log_prior = (stats.beta.logpdf((phi + 1) / 2, alpha, beta) - math.log(2.0)
                 + stats.cauchy.logpdf(mu, 0.0, target.mean_prior_scale)
                 + stats.halfcauchy.logpdf(sigma, 0.0, target.shock_prior_scale))
    log_h = stats.norm.logpdf(h[:, 0], mu, sigma / np.sqrt(1 - phi ** 2))
    for t in range(1, h.shape[1]):
        log_h += stats.norm.logpdf(h[:, t], mu + phi * (h[:, t - 1] - mu), sigma)
    log_y = stats.norm.logpdf(target.returns, 0.0, np.exp(h / 2)).sum(axis=1)
    return log_prior + log_h + log_y


def reference_log_density(target, x):
    """The target in its coordinates: the model's density plus both log-Jacobians."""
    a, b = x[:, 0], x[:, 2]
    theta = target.constrain(x)
    log_jacobian = (math.log(2.0) + np.log(expit(a)) + np.log(expit(-a))  # phi = 2 sigmoid(a) - 1
                    + np.log(expit(b)))                                  # sigma = softplus(b)
    return model_log_density(target, theta) + log_jacobian


def evaluate(target, x, dtype=tf.float64):
    return target.log_density(tf.constant(x, dtype)).numpy()


def points(target, n=5, seed=0):
    """Points near and around the published posterior (and a few far out)."""
    rng = np.random.default_rng(seed)
    means, sds = target.published_moments()
    theta = means + sds * rng.normal(size=(n, target.n_features)) * np.array([1, 3, 1] + [2] * 100)
    theta[:, 0] = np.clip(theta[:, 0], -0.99, 0.995)
    theta[:, 2] = np.abs(theta[:, 2])
    return target.unconstrain(theta)


def test_data_are_the_gyms_centred_sp500_changes():
    returns = sp500_centred_returns()
    assert returns.shape == (100,)
    assert abs(returns.mean()) < 1e-9
    # the series spans the March 2020 crash: daily moves of hundreds of points
    assert 300 < np.max(np.abs(returns)) < 400
    assert StochasticVolatilityPosterior().n_features == 103


def test_log_density_matches_scipy():
    target = StochasticVolatilityPosterior()
    x = points(target)
    np.testing.assert_allclose(evaluate(target, x), reference_log_density(target, x),
                               rtol=1e-10)
    # float32: the value keeps float32 accuracy on the ~ -700 log densities
    np.testing.assert_allclose(evaluate(target, x, tf.float32), reference_log_density(target, x),
                               rtol=1e-4)


def test_log_density_other_data_and_priors():
    target = StochasticVolatilityPosterior(returns=[0.5, -1.0, 2.0, 0.1],
                                           persistence_prior=(3.0, 2.0), mean_prior_scale=1.5,
                                           shock_prior_scale=0.7)
    x = np.random.default_rng(1).normal(size=(6, 7))
    np.testing.assert_allclose(evaluate(target, x), reference_log_density(target, x),
                               rtol=1e-10)


def test_gradient_is_finite_and_matches_finite_differences():
    target = StochasticVolatilityPosterior()
    x = points(target, n=3, seed=2)
    values, grad = target.log_density_and_grad(x)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    step = 1e-6
    for column in (0, 1, 2, 3, 50, 102):
        shift = np.zeros_like(x)
        shift[:, column] = step
        numeric = (reference_log_density(target, x + shift)
                   - reference_log_density(target, x - shift)) / (2 * step)
        np.testing.assert_allclose(grad[:, column], numeric, rtol=1e-5, atol=1e-4)


def test_gradient_finite_where_sigma_underflows():
    # b far below zero: sigma = softplus(b) ~ e^b; log sigma is taken as b
    target = StochasticVolatilityPosterior(returns=[0.3, -0.2])
    x = np.array([[1.0, 0.0, -40.0, 0.0, 0.0], [1.0, 0.0, -25.0, 0.1, 0.0]])
    values, grad = target.log_density_and_grad(x)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(values[1], reference_log_density(target, x[1:])[0], rtol=1e-10)


@pytest.mark.parametrize("column, constrained_range", [(0, (-1.0, 1.0)), (2, (0.0, np.inf))])
def test_jacobian_terms(column, constrained_range):
    # Integrating the target over one unconstrained coordinate (a for phi, b for
    # sigma), the others fixed, must give the integral of the model's density
    # over phi (or sigma): true only with the right log-Jacobian.
    target = StochasticVolatilityPosterior(returns=[0.4, -0.3, 0.8])
    x = np.array([[2.0, 0.1, -0.5, -0.2, 0.3, -0.1]])
    theta = target.constrain(x)

    def constrained(v):
        row = theta.copy()
        row[0, column] = v
        return math.exp(model_log_density(target, row)[0])

    a, b = x[0, 0], x[0, 2]
    # the Jacobian of the other coordinate, held fixed, is a constant factor
    other = expit(b) if column == 0 else 2 * expit(a) * expit(-a)
    # the trapezoid rule on a fine grid: spectrally accurate for this smooth,
    # fast-decaying integrand, and one TensorFlow call
    grid = np.linspace(-60.0, 60.0, 24001)
    rows = np.repeat(x, grid.size, axis=0)
    rows[:, column] = grid
    lhs = np.trapezoid(np.exp(evaluate(target, rows)), grid)
    rhs = other * integrate.quad(constrained, *constrained_range, limit=200)[0]
    np.testing.assert_allclose(lhs, rhs, rtol=1e-7)


def test_constrain_and_unconstrain_invert_each_other():
    target = StochasticVolatilityPosterior()
    x = points(target, n=4, seed=3)
    np.testing.assert_allclose(target.unconstrain(target.constrain(x)), x, rtol=1e-10,
                               atol=1e-10)
    theta = target.constrain(x)
    assert np.all(np.abs(theta[:, 0]) < 1) and np.all(theta[:, 2] > 0)
    np.testing.assert_array_equal(theta[:, 3:], x[:, 3:])
    with pytest.raises(ValueError, match="phi"):
        target.unconstrain(np.r_[1.0, np.zeros(102)])


def test_published_moments():
    means, sds = StochasticVolatilityPosterior().published_moments()
    assert means.shape == sds.shape == (103,)
    assert np.all(sds > 0)
    # the Gym's figures: phi, mu, sigma
    np.testing.assert_allclose(means[:3], [0.92498, 7.91517, 0.50045], atol=1e-5)
    with pytest.raises(ValueError, match="default target only"):
        StochasticVolatilityPosterior(mean_prior_scale=1.0).published_moments()
    with pytest.raises(ValueError, match="default target only"):
        StochasticVolatilityPosterior(returns=np.ones(100)).published_moments()


@pytest.mark.parametrize("kwargs, message", [
    ({"returns": [1.0]}, "at least 2"),
    ({"returns": [[1.0, 2.0]]}, "1-D"),
    ({"returns": [1.0, np.nan]}, "finite"),
    ({"persistence_prior": (0.0, 1.0)}, "persistence_prior"),
    ({"shock_prior_scale": -1.0}, "shock_prior_scale")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StochasticVolatilityPosterior(**kwargs)


# ------------------------------------------------------------ fits with defaults
@pytest.mark.slow
def test_default_start_is_finite_and_a_short_fit_is_flagged():
    # Issue 12's first case: the old default start (init_scale 10 at the origin)
    # put every sample where log p~ is about -1e18, and a fit "succeeded" with
    # an ELBO of -4e18 and no warning. The default start must now give ELBO
    # estimates of the order of the target's values at the start (about -4e5
    # at the origin), and a fit stopped long before convergence must say so.
    target = StochasticVolatilityPosterior()
    with pytest.warns(PoorFitWarning), pytest.warns(ConvergenceWarning):
        vi = VariationalGMMTarget(target, random_state=0, max_iter=5).fit()
    assert np.all(np.isfinite(vi.elbo_history_))
    assert np.min(vi.elbo_history_) > -1e7, vi.elbo_history_
    assert not vi.converged_


@pytest.mark.skip(reason=(
    "The default fit takes about 55 minutes, far beyond a test's minute: measured at "
    "7cbb350 (2026-12-07, one thread, load 1-2), 2000 iterations (max_iter, "
    "ConvergenceWarning; 50 components, 2.7 s an iteration at the end), 3333 s wall, "
    "3289 s CPU; it then meets this bar (largest mean error 0.053 posterior sd, the "
    "fit's k-hat 0.45). benchmarks/bench_vi_posteriors.py --problems stochvol runs it."))
def test_default_fit_means_within_02_sd_of_published():
    target = StochasticVolatilityPosterior()
    vi = VariationalGMMTarget(target, random_state=0).fit()
    means, sds = target.published_moments()
    theta = target.constrain(vi.sample(20000)[0])
    errors = np.abs(theta.mean(axis=0) - means) / sds
    assert np.max(errors) < 0.2, errors
