"""KernelDensityTarget: scipy's gaussian_kde density, chunked evaluation, pickling."""

import pickle

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from skgmmvi.targets import KernelDensityTarget
from skgmmvi.targets import kde as kde_module

from helpers import mixture_log_density


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    return rng.randn(60, 3) @ rng.randn(3, 3) + 2.0


def test_matches_scipy_gaussian_kde(data):
    import tensorflow as tf

    x = np.random.RandomState(1).randn(9, 3) * 2 + 2
    target = KernelDensityTarget(data)
    ours = target.log_density(tf.constant(x)).numpy()
    np.testing.assert_allclose(ours, gaussian_kde(data.T).logpdf(x.T), rtol=0, atol=1e-8)
    np.testing.assert_allclose(target.bandwidth, gaussian_kde(data.T).covariance,
                               rtol=1e-8)


def test_chunked_evaluation_equals_whole(data, monkeypatch):
    import tensorflow as tf

    x = tf.constant(np.random.RandomState(2).randn(5, 3))
    target = KernelDensityTarget(data)
    whole = target.log_density(x).numpy()
    monkeypatch.setattr(kde_module, "CHUNK_ROWS", 7)
    np.testing.assert_allclose(target.log_density(x).numpy(), whole, rtol=1e-12)


def test_gradient_matches_finite_differences(data):
    target = KernelDensityTarget(data)
    x = np.random.RandomState(3).randn(4, 3) + 2
    _, grad = target.log_density_and_grad(x)
    step = 1e-6
    for j in range(3):
        shift = np.zeros(3)
        shift[j] = step
        up, _ = target.log_density_and_grad(x + shift)
        down, _ = target.log_density_and_grad(x - shift)
        np.testing.assert_allclose(grad[:, j], (up - down) / (2 * step), rtol=1e-5,
                                   atol=1e-7)


def test_pickles_and_degenerate_data_is_proper():
    flat = np.c_[np.arange(10.0), np.zeros(10)]  # all on a line: singular covariance
    target = pickle.loads(pickle.dumps(KernelDensityTarget(flat)))
    assert target.n_features == 2
    assert np.all(np.linalg.eigvalsh(target.bandwidth) > 0)
    value, grad = target.log_density_and_grad(np.array([[1.0, 0.0]]))
    assert np.isfinite(value).all() and np.isfinite(grad).all()


def test_rejects_fewer_than_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        KernelDensityTarget(np.zeros((1, 3)))


@pytest.mark.parametrize("n_components", [60, 75])
def test_as_mixture_with_a_component_per_kernel_is_the_density(data, n_components):
    target = KernelDensityTarget(data)
    weights, means, covariances = target.as_mixture(n_components, np.random.RandomState(0))
    assert weights.shape == (n_components,) and means.shape == (n_components, 3)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-14)
    x = np.random.RandomState(1).randn(9, 3) * 2 + 2
    np.testing.assert_allclose(mixture_log_density(x, weights, means, covariances),
                               gaussian_kde(data.T).logpdf(x.T), rtol=1e-10)


def test_as_mixture_with_fewer_components_matches_the_moments(data):
    """k-means groups merged by moment matching: weights are the groups' shares, and
    the mixture keeps the density's mean and covariance (law of total covariance)."""
    target = KernelDensityTarget(data)
    weights, means, covariances = target.as_mixture(4, np.random.RandomState(0))
    assert weights.shape == (4,) and len(np.unique(means, axis=0)) == 4
    np.testing.assert_allclose(weights * data.shape[0], np.round(weights * data.shape[0]),
                               atol=1e-12)
    mean = weights @ means
    outer = means[:, :, None] * means[:, None]
    second = np.einsum("k,kde->de", weights, covariances + outer)
    np.testing.assert_allclose(mean, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(second - np.outer(mean, mean),
                               np.cov(data, rowvar=False, ddof=0) + target.bandwidth,
                               rtol=1e-10)
    for covariance in covariances:  # each group is at least as wide as one kernel
        assert np.linalg.eigvalsh(covariance - target.bandwidth)[0] > -1e-12


def test_as_mixture_of_repeated_rows_has_the_components_asked_for():
    rows = np.repeat([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]], 10, axis=0)
    target = KernelDensityTarget(rows)
    weights, means, _ = target.as_mixture(5, np.random.RandomState(0))
    assert weights.shape == (5,)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-14)
    for row in rows[::10]:  # each distinct row keeps its share, 1/3
        at_row = np.all(means == row, axis=1)
        np.testing.assert_allclose(weights[at_row].sum(), 1.0 / 3.0, rtol=1e-12)


# ----------------------------------------- VariationalGMMTarget starts from the density
def test_default_fit_starts_from_the_kernels(data):
    from skgmmvi import VariationalGMMTarget

    rows = data[:20]
    bandwidth = KernelDensityTarget(rows).bandwidth
    start = VariationalGMMTarget(max_iter=0).fit(rows)
    np.testing.assert_allclose(start.weights_, np.full(20, 1 / 20), rtol=1e-14)
    np.testing.assert_array_equal(np.unique(start.means_, axis=0), np.unique(rows, axis=0))
    np.testing.assert_allclose(start.covariances_, np.broadcast_to(bandwidth, (20, 3, 3)),
                               rtol=1e-10)
    assert start.mode_search_ is None  # no mode search ran
    diagonal = VariationalGMMTarget(max_iter=0, covariance_type="diag").fit(rows)
    # the diagonal Gaussian closest to a kernel in KL(q || kernel): its precisions' diagonal
    np.testing.assert_allclose(diagonal.covariances_[0],
                               1.0 / np.diag(np.linalg.inv(bandwidth)), rtol=1e-10)


def test_fixed_components_start_from_merged_kernels(data):
    from skgmmvi import VariationalGMMTarget

    start = VariationalGMMTarget(n_components=3, adaptive_components=False, max_iter=0,
                                 random_state=0).fit(data)
    weights, means, covariances = KernelDensityTarget(data).as_mixture(
        3, np.random.RandomState(0))
    np.testing.assert_allclose(start.weights_, weights, rtol=1e-14)
    np.testing.assert_allclose(start.means_, means, rtol=1e-14)
    np.testing.assert_allclose(start.covariances_, covariances, rtol=1e-10)


def test_default_fit_of_a_small_data_set_is_the_density_and_stops_early(data):
    """Started from the density itself, the fit has nothing to gain: its ELBO estimates
    equal log Z = 0 up to rounding, the stopping rule ends it at its first check, and q
    is the kernel density estimate."""
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.vi import STOP_CHECK_INTERVAL

    rows = data[:20]
    vi = VariationalGMMTarget(random_state=0).fit(rows)
    assert vi.converged_ and vi.n_iter_ == STOP_CHECK_INTERVAL
    np.testing.assert_allclose(vi.elbo_history_, 0.0, atol=1e-10)
    # (components added on the way keep weights near 1e-30: they show only far out)
    x = rows + 0.5 * np.random.RandomState(1).randn(20, 3)
    np.testing.assert_allclose(vi.score_samples(x), gaussian_kde(rows.T).logpdf(x.T),
                               rtol=0, atol=1e-9)


def test_only_the_kernel_density_itself_is_started_from_its_kernels(data):
    import tensorflow as tf

    class Shifted(KernelDensityTarget):
        def log_density(self, x):
            return super().log_density(x - tf.constant(1.0, x.dtype))

    assert kde_module.is_kernel_density(KernelDensityTarget(data))
    assert not kde_module.is_kernel_density(Shifted(data))
