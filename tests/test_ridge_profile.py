"""Components for modes at the far end of a flat ridge (skgmmvi/_tf/vi/ridge_profile.py)."""

import numpy as np

from skgmmvi._tf.vi.mode_search import laplace_covariances
from skgmmvi._tf.vi.ridge_profile import ridge_components

X_ALONE = 1.1


def lone_point_ridge(x):
    """``log p~(mu, s)`` of a cluster holding one point: ``N(1.1; mu, e^s)``
    times an Exp(1) prior on ``sigma = e^s`` and its Jacobian; value, gradient,
    Hessian and evaluations. Exactly: ``sigma ~ Exp(1)`` (``s`` has mean
    ``-euler_gamma`` and variance ``pi^2 / 6``), ``mu | s ~ N(1.1, e^2s)`` (so
    ``Var mu = E sigma^2 = 2``), and the log normaliser is ``log sqrt(2 pi)``."""
    mu, s = x[:, 0], x[:, 1]
    r, inv2 = mu - X_ALONE, np.exp(-2 * s)
    value = -0.5 * r**2 * inv2 - np.exp(s)
    grad = np.stack([-r * inv2, r**2 * inv2 - np.exp(s)], axis=1)
    hess = np.empty((x.shape[0], 2, 2))
    hess[:, 0, 0] = -inv2
    hess[:, 0, 1] = hess[:, 1, 0] = 2 * r * inv2
    hess[:, 1, 1] = -2 * r**2 * inv2 - np.exp(s)
    return value, grad, hess, x.shape[0] * 3


def wide_gaussian(x):
    """``N(0, diag(1, 400))`` unnormalised: wider than a start of scale 10 along
    its second axis, its mass at its mode."""
    precision = np.diag([1.0, 1 / 400.0])
    value = -0.5 * np.einsum("nd,de,ne->n", x, precision, x)
    return value, -x @ precision, np.tile(-precision, (x.shape[0], 1, 1)), x.shape[0] * 3


def _at(function, point, variances):
    value, _, hessian, _ = function(point[None])
    covariance, _ = laplace_covariances(hessian, variances)
    return point[None], value, covariance


def test_a_ridge_end_gets_the_moments_of_the_ridge_mass():
    variances = np.full(2, 100.0)  # a start of scale 10: the floor
    end = np.array([X_ALONE, -10.0])  # where a search up the ridge stops
    means, values, covariances = _at(lone_point_ridge, end, variances)
    assert np.sqrt(covariances[0, 0, 0]) < 1e-4  # the Laplace component: a spike
    means, covariances, log_masses, used = ridge_components(
        lone_point_ridge, means, values, covariances, variances)
    assert used > 0
    np.testing.assert_allclose(means[0], [X_ALONE, -np.euler_gamma], atol=0.05)
    # the grid's rectangle rule (step 1.25 in s) is good to a few percent
    np.testing.assert_allclose(np.diag(covariances[0]), [2.0, np.pi**2 / 6], rtol=0.08)
    np.testing.assert_allclose(log_masses[0], 0.5 * np.log(2 * np.pi), atol=0.02)


def test_a_mode_whose_mass_is_at_it_keeps_its_laplace_component():
    variances = np.full(2, 100.0)
    means, values, covariances = _at(wide_gaussian, np.zeros(2), variances)
    out_means, out_covariances, log_masses, _ = ridge_components(
        wide_gaussian, means, values, covariances, variances)
    np.testing.assert_array_equal(out_means, means)
    np.testing.assert_array_equal(out_covariances, covariances)  # floored at 100
    np.testing.assert_allclose(log_masses, 0.5 * np.log(np.linalg.det(2 * np.pi * covariances)))


def test_modes_without_a_flat_direction_cost_nothing():
    variances = np.full(2, 1e4)  # the start is wider than the Gaussian everywhere
    means, values, covariances = _at(wide_gaussian, np.zeros(2), variances)
    _, _, _, used = ridge_components(wide_gaussian, means, values, covariances, variances)
    assert used == 0
