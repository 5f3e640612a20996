"""Targets with bounded support (issue 15, item 2).

A fitted q that puts mass where ``log p~ = -inf`` is reported (an
OutsideSupportWarning after the fit, ``elbo() == -inf``), and
:class:`~skgmmvi.targets.TransformedTarget` fits such targets in unconstrained
coordinates: its log-Jacobians are checked against numerical derivatives, and
fits of a Gamma, a log-normal and a Beta density against their exact moments and
normalisers.
"""

import math
import warnings

import numpy as np
import pytest
import tensorflow as tf

from skgmmvi import VariationalGMMTarget
from skgmmvi.targets import (GaussianTarget, OutsideSupportWarning, Target,
                             TransformedTarget)

ALL_KINDS = [None, "positive", "softplus", ("lower", -1.5), ("upper", 2.0),
             ("interval", -1.0, 3.0)]


class HalfNormal(Target):
    """The issue's snippet: N(0, I) restricted to x_0 > 0 (times 2: normalised)."""
    n_features = 2

    def log_density(self, x):
        inside = -0.5 * tf.reduce_sum(x * x, 1) - tf.constant(math.log(math.pi), x.dtype)
        return tf.where(x[:, 0] > 0, inside, tf.constant(-np.inf, x.dtype))


class GammaDensity(Target):
    """Unnormalised Gamma(shape, rate) on x > 0, -inf elsewhere (TensorFlow)."""
    n_features = 1

    def __init__(self, shape, rate):
        self.shape, self.rate = shape, rate

    def log_density(self, x):
        x0 = x[:, 0]
        safe = tf.where(x0 > 0, x0, tf.ones_like(x0))
        value = (self.shape - 1.0) * tf.math.log(safe) - self.rate * safe
        return tf.where(x0 > 0, value, tf.constant(-np.inf, x.dtype))

    def log_normalizer_exact(self):
        return math.lgamma(self.shape) - self.shape * math.log(self.rate)


class NumpyDensityOnInterval(Target):
    """A 1-D numpy density on ``(low, high)``, ``-inf`` outside, with its gradient."""
    n_features = 1
    uses_tensorflow = False
    low, high, inside_point = 0.0, np.inf, 0.5

    def log_density_and_grad(self, x):
        x0 = x[:, 0]
        inside = (x0 > self.low) & (x0 < self.high)
        value, grad = self.inside_value_and_grad(np.where(inside, x0, self.inside_point))
        return np.where(inside, value, -np.inf), grad[:, None]


class NumpyLogNormal(NumpyDensityOnInterval):
    """Unnormalised log-normal LN(mu, sigma^2)."""
    mu, sigma = 0.5, 0.4

    def inside_value_and_grad(self, x):
        z = (np.log(x) - self.mu) / self.sigma
        return -np.log(x) - 0.5 * z * z, (-1.0 - z / self.sigma) / x


class NumpyBeta(NumpyDensityOnInterval):
    """Unnormalised Beta(a, b) on (0, 1)."""
    high = 1.0
    a, b = 2.0, 5.0

    def inside_value_and_grad(self, x):
        value = (self.a - 1) * np.log(x) + (self.b - 1) * np.log1p(-x)
        return value, (self.a - 1) / x - (self.b - 1) / (1 - x)


def importance_moments(vi, wrapped, n_samples=200_000):
    """Self-normalised importance estimates of the constrained mean and variance
    (weights p~_u / q on samples u of the fitted q) and of log Z."""
    u = vi.sample(n_samples)[0]
    log_w = wrapped.log_density_and_grad(u)[0] - vi.score_samples(u)
    top = np.max(log_w)
    w = np.exp(log_w - top)
    x = wrapped.forward(u)[:, 0]
    mean = np.sum(w * x) / np.sum(w)
    variance = np.sum(w * (x - mean) ** 2) / np.sum(w)
    return mean, variance, top + np.log(np.mean(w))


# ------------------------------------------------ what the fit reports
def test_q_with_mass_outside_the_support_warns_and_has_minus_inf_elbo():
    """The issue's half-normal: q keeps mass at x_0 < 0; elbo() was a finite 1.84."""
    vi = VariationalGMMTarget(HalfNormal(), max_iter=30, n_samples_per_component=50,
                              init_mean=[1.0, 0.0], init_scale=1.0, random_state=0)
    with pytest.warns(OutsideSupportWarning, match=r"\d+\.\d% of 10000 samples of the fitted "
                      r"q fall where HalfNormal has no density.*TransformedTarget"):
        vi.fit()
    assert vi.elbo() == -np.inf
    assert np.isfinite(vi.log_evidence())  # zero density outside: an honest estimate


def test_the_transformed_half_normal_fits_without_warning():
    wrapped = TransformedTarget(HalfNormal(), ["positive", None])
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideSupportWarning)
        vi = VariationalGMMTarget(wrapped, n_components=2, max_iter=60, init_scale=1.0,
                                  n_samples_per_component=100, random_state=0).fit()
    assert np.isfinite(vi.elbo())
    x = wrapped.forward(vi.sample(1000)[0])
    assert np.all(x[:, 0] > 0)


# ------------------------------------------------------ the transforms
def test_forward_and_inverse_are_inverse_and_land_in_the_support():
    wrapped = TransformedTarget(GaussianTarget(np.zeros(6), np.eye(6)), ALL_KINDS)
    u = np.random.RandomState(0).randn(50, 6) * 3
    x = wrapped.forward(u)
    np.testing.assert_allclose(wrapped.inverse(x), u, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x[:, 0], u[:, 0])
    assert np.all(x[:, 1] > 0) and np.all(x[:, 2] > 0) and np.all(x[:, 3] > -1.5)
    assert np.all(x[:, 4] < 2.0) and np.all((x[:, 5] > -1.0) & (x[:, 5] < 3.0))
    with pytest.raises(ValueError, match="strictly inside"):
        wrapped.inverse(np.full((1, 6), -2.0))


@pytest.mark.parametrize("spec", ALL_KINDS)
def test_log_jacobian_matches_the_numerical_derivative(spec):
    wrapped = TransformedTarget(GaussianTarget(np.zeros(1), np.eye(1)), [spec])
    u = np.linspace(-4.0, 4.0, 17)[:, None]
    h = 1e-6
    derivative = (wrapped.forward(u + h) - wrapped.forward(u - h))[:, 0] / (2 * h)
    np.testing.assert_allclose(wrapped.log_det_jacobian(u), np.log(np.abs(derivative)),
                               rtol=1e-7, atol=1e-8)


def test_tensorflow_and_numpy_paths_agree_with_finite_differences():
    """Value and gradient of the wrapped density: TF autodiff, the numpy chain rule
    and central differences of the value agree."""
    class NumpyGaussian(Target):
        n_features = 6
        uses_tensorflow = False

        def log_density_and_grad(self, x):
            return -0.5 * np.sum(x * x, axis=1), -x

    tf_wrapped = TransformedTarget(GaussianTarget(np.zeros(6), np.eye(6)), ALL_KINDS)
    np_wrapped = TransformedTarget(NumpyGaussian(), ALL_KINDS)
    u = np.random.RandomState(1).randn(7, 6)
    tf_value, tf_grad = tf_wrapped.log_density_and_grad(u)
    np_value, np_grad = np_wrapped.log_density_and_grad(u)
    constant = 3.0 * math.log(2.0 * math.pi)  # GaussianTarget is normalised
    np.testing.assert_allclose(tf_value + constant, np_value, rtol=1e-12)
    np.testing.assert_allclose(tf_grad, np_grad, rtol=1e-10, atol=1e-12)
    h = 1e-6
    for j in range(6):
        step = np.zeros(6)
        step[j] = h
        numerical = (np_wrapped.log_density_and_grad(u + step)[0]
                     - np_wrapped.log_density_and_grad(u - step)[0]) / (2 * h)
        np.testing.assert_allclose(np_grad[:, j], numerical, rtol=1e-6, atol=1e-6)


def test_bad_transforms_are_refused_clearly():
    gaussian = GaussianTarget(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"transforms\[1\] is 'log'"):
        TransformedTarget(gaussian, [None, "log"])
    with pytest.raises(ValueError, match="low < high"):
        TransformedTarget(gaussian, [None, ("interval", 1.0, 0.0)])
    # was numpy's "only 0-dimensional arrays can be converted to Python scalars"
    with pytest.raises(ValueError, match=r"transforms\[1\] = .* needs numbers as bounds"):
        TransformedTarget(gaussian, [None, ("interval", np.array([0.0, 1.0]), 2.0)])
    with pytest.raises(ValueError, match="transforms has 3 entries, but GaussianTarget "
                       "has 2 coordinates"):
        TransformedTarget(gaussian, [None, None, None])


# ---------------------------------------------------- fits, exact answers
def test_lognormal_is_fitted_exactly_in_log_space():
    """log x ~ N(mu, sigma^2): the optimal Gaussian in u is exact; log Z is known."""
    wrapped = TransformedTarget(NumpyLogNormal(), ["positive"])
    vi = VariationalGMMTarget(wrapped, max_iter=100, adaptive_components=False,
                              n_samples_per_component=100, init_scale=1.0,
                              random_state=0).fit()
    np.testing.assert_allclose(vi.means_[0, 0], NumpyLogNormal.mu, atol=0.01)
    np.testing.assert_allclose(vi.covariances_[0, 0, 0], NumpyLogNormal.sigma ** 2,
                               rtol=0.03)
    log_z = 0.5 * math.log(2 * math.pi * NumpyLogNormal.sigma ** 2)
    assert abs(vi.log_evidence(20000) - log_z) < 0.01
    x = wrapped.forward(vi.sample(200_000)[0])[:, 0]
    exact_mean = math.exp(NumpyLogNormal.mu + 0.5 * NumpyLogNormal.sigma ** 2)
    assert abs(np.mean(x) / exact_mean - 1) < 0.01


def test_gamma_moments_and_normaliser_through_the_positive_transform():
    target = GammaDensity(3.0, 2.0)  # mean 1.5, variance 0.75
    wrapped = TransformedTarget(target, ["positive"])
    vi = VariationalGMMTarget(wrapped, max_iter=100, adaptive_components=False,
                              n_samples_per_component=100, init_scale=1.0,
                              random_state=0).fit()
    mean, variance, log_z = importance_moments(vi, wrapped)
    assert abs(mean / 1.5 - 1) < 0.01
    assert abs(variance / 0.75 - 1) < 0.03
    assert abs(log_z - target.log_normalizer_exact()) < 0.01


def test_beta_moments_through_the_interval_transform():
    wrapped = TransformedTarget(NumpyBeta(), [("interval", 0.0, 1.0)])
    vi = VariationalGMMTarget(wrapped, max_iter=100, adaptive_components=False,
                              n_samples_per_component=100, init_scale=1.0,
                              random_state=0).fit()
    a, b = NumpyBeta.a, NumpyBeta.b
    mean, variance, log_z = importance_moments(vi, wrapped)
    assert abs(mean / (a / (a + b)) - 1) < 0.01
    assert abs(variance / (a * b / ((a + b) ** 2 * (a + b + 1))) - 1) < 0.03
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    assert abs(log_z - log_beta) < 0.01


def test_a_wrong_number_of_transforms_is_named():
    # was: "GaussianTarget is a density on R^5, but the data or init_mean have 3 features"
    for transforms in (["positive", "softplus", ("lower", -2.0)], ["identity"] * 6):
        with pytest.raises(ValueError, match=f"transforms has {len(transforms)} entries, "
                           "but GaussianTarget has 5 coordinates"):
            TransformedTarget(GaussianTarget(np.zeros(5), np.eye(5)), transforms)
