"""Shared fixtures. SciPy's array-API mode is switched on before anything imports
SciPy, so scikit-learn's ``check_array_api_input`` runs instead of skipping."""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TRUE_MEANS = np.array([[4.0, 0.0, 0.0], [-2.0, -2.0, 1.0], [0.0, 5.0, 5.0]])


def make_blobs3(n_samples=500, seed=0):
    """Three well-separated 3-D Gaussian clusters with different shapes."""
    rng = np.random.RandomState(seed)
    sizes = [n_samples // 2, n_samples // 3, n_samples - n_samples // 2 - n_samples // 3]
    scales = [np.diag([1.0, 0.5, 0.8]), np.array([[1.0, 0.4, 0.0], [0.0, 1.2, 0.3],
                                                   [0.0, 0.0, 0.6]]), 0.5 * np.eye(3)]
    parts = [rng.randn(n, 3) @ s + m for n, s, m in zip(sizes, scales, TRUE_MEANS)]
    return np.vstack(parts)


@pytest.fixture(scope="session")
def blobs3():
    return make_blobs3()
