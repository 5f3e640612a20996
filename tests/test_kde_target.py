"""KernelDensityTarget: scipy's gaussian_kde density, chunked evaluation, pickling."""

import pickle

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from skgmmvi.targets import KernelDensityTarget
from skgmmvi.targets import kde as kde_module


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
