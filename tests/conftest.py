"""Shared fixtures, and the environment of the test session.

SciPy's array-API mode is switched on before anything imports SciPy, so
scikit-learn's ``check_array_api_input`` runs instead of skipping.

The session runs numpy's BLAS, OpenMP (k-means) and TensorFlow's intra-op pool on
one thread each (``setdefault``: a value set outside wins). The tests' problems are
small, where a second thread only waits: on the 2-core CI machine under load,
``tests/test_em_parity.py`` took 29.7 CPU-seconds with the default threads and 20.5
with one (benchmarks keep their own settings). The pinned fits were written with
``OMP_NUM_THREADS=1``. Tests that are about threads set their own limits (e.g.
``test_single_thread_kmeans_gives_sklearns_labels``).

TensorFlow's CPU tensors come from its pooling allocator
(``TF_CPU_ALLOCATOR_USE_BFC=true``, also ``setdefault``): with the default one, every
large tensor of a VI fit is a fresh ``mmap`` of the C library whose pages fault in
again each iteration (doc/performance.rst), as system time. It matters for fits
with large tensors: the d = 100 fit of
``test_stiff_shifted_gaussian_mean_covariance_elbo_and_khat`` took 25.7 s user +
7.6 s system with the default allocator and 26.6 + 2.2 with the pool (2.6M -> 0.3M
page faults); small fits (tests/test_distributed.py, the small fits of
tests/test_vi.py) cost the same either way. The allocator changes where tensors live, not what is computed: the
pinned fits stay bit for bit. The peak-memory test runs its child with an
environment of its own, so it measures the default allocator users get.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

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
