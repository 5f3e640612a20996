"""The numpy and TensorFlow EM backends: same fits, same errors, and the choice of
``backend="auto"``; the far-apart rule of the numpy path against scikit-learn."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skgmmvi import BayesianGaussianMixture, EMGaussianMixture
from skgmmvi.em import NUMPY_MAX_WORK

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def fit_on_both(X, fit_kwargs=None, repeat=1, **params):
    """The same estimator fitted ``repeat`` times on each backend."""
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for backend in ("numpy", "tensorflow"):
            model = EMGaussianMixture(backend=backend, **params)
            for _ in range(repeat):
                model.fit(X, **(fit_kwargs or {}))
            models.append(model)
    return models


def assert_same_backends(ours_np, ours_tf, rtol=1e-10):
    for name in FITTED:
        a, b = getattr(ours_np, name), getattr(ours_tf, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)) * 1e-3,
                        err_msg=name)
    assert ours_np.n_iter_ == ours_tf.n_iter_
    assert ours_np.converged_ == ours_tf.converged_
    assert_allclose(ours_np.lower_bound_, ours_tf.lower_bound_, rtol=rtol)
    # The first bound of a point-mass start (k-means++, random_from_data: variances
    # at reg_covar) inherits the initial moments' rounding, eps * rho with rho about
    # 1e7 here: 1e-9, on either backend, in a different summation order.
    assert_allclose(ours_np.lower_bounds_, ours_tf.lower_bounds_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INIT_PARAMS)
def test_backends_agree_every_init_and_covariance(blobs3, covariance_type, init_params):
    models = fit_on_both(blobs3, n_components=3, covariance_type=covariance_type,
                         init_params=init_params, random_state=7, tol=1e-8,
                         max_iter=60)
    assert_same_backends(*models)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_backends_agree_sample_weight_warm_start_n_init(blobs3, covariance_type):
    weights = np.random.RandomState(1).uniform(0.0, 3.0, size=blobs3.shape[0])
    weighted = fit_on_both(blobs3, fit_kwargs=dict(sample_weight=weights),
                           n_components=3, covariance_type=covariance_type,
                           random_state=0, tol=1e-8)
    assert_same_backends(*weighted)
    warm = fit_on_both(blobs3, repeat=3, n_components=3, warm_start=True,
                       covariance_type=covariance_type, random_state=0, max_iter=3,
                       init_params="random")
    assert_same_backends(*warm)
    several = fit_on_both(blobs3, n_components=4, n_init=3, init_params="random",
                          covariance_type=covariance_type, random_state=3, max_iter=20)
    assert_same_backends(*several)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_backends_agree_float32_and_batches(blobs3, covariance_type):
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    np32, tf32 = fit_on_both(blobs3.astype(np.float32), **params)
    for name in FITTED:
        assert getattr(np32, name).dtype == np.float32
        assert_allclose(getattr(np32, name), getattr(tf32, name), rtol=2e-5,
                        atol=1e-6, err_msg=name)
    whole = EMGaussianMixture(backend="numpy", batch_size=10_000, **params).fit(blobs3)
    chunked = EMGaussianMixture(backend="numpy", batch_size=37, **params).fit(blobs3)
    for name in FITTED:
        assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-10,
                        err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("estimator", [EMGaussianMixture, BayesianGaussianMixture])
def test_numpy_chunk_workers_and_kept_features_give_the_same_bits(
        blobs3, covariance_type, estimator, monkeypatch):
    """Chunks handed to worker threads are summed in order, and features kept from
    the first pass are those a pass builds: the fit is bit for bit the fit in one
    thread that builds them every pass (here on one BLAS thread, as the workers
    run)."""
    from threadpoolctl import threadpool_limits

    from skgmmvi._numpy import _chunk_workers
    from skgmmvi._numpy import em as numpy_em

    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  batch_size=37, max_iter=8, tol=0, backend="numpy",
                  init_params="random")
    for variable in _chunk_workers.THREAD_LIMIT_VARIABLES:  # the session sets them to 1
        monkeypatch.delenv(variable, raising=False)
    fits = []
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for min_work, cores, kept_bytes in ((float("inf"), 1, 0), (0, 3, 2**28)):
            monkeypatch.setattr(numpy_em, "FEATURE_CACHE_BYTES", kept_bytes)
            monkeypatch.setattr(_chunk_workers, "MIN_PARALLEL_WORK", min_work)
            monkeypatch.setattr(_chunk_workers, "available_cores", lambda: cores)
            fits.append(estimator(**params).fit(blobs3))
    assert _chunk_workers.n_workers(1.0, 14) == 3
    for name in FITTED + ["lower_bounds_"]:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name),
                                      err_msg=name)


@pytest.mark.parametrize("covariance_type,estimator,batch_size", [
    ("full", EMGaussianMixture, 37), ("full", BayesianGaussianMixture, 40),
    ("diag", EMGaussianMixture, 40), ("spherical", EMGaussianMixture, 37)])
def test_tensorflow_kept_features_give_the_same_bits(blobs3, covariance_type, estimator,
                                                     batch_size, monkeypatch):
    """The TensorFlow loop reads the feature rows it kept before the loop (whole
    chunks without a copy where ``batch_size`` is a multiple of 8, else a copy):
    the fit is bit for bit the fit that builds them in every pass."""
    from skgmmvi._numpy import em as numpy_em
    from skgmmvi._tf import em as tf_em

    original, sizes = tf_em.kept_features, []

    def recording(*args):
        store = original(*args)
        sizes.append(int(store.shape[0]))
        return store

    monkeypatch.setattr(tf_em, "kept_features", recording)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  batch_size=batch_size, max_iter=6, tol=0, backend="tensorflow",
                  init_params="random")
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for kept_bytes in (0, 2**28):
            monkeypatch.setattr(numpy_em, "FEATURE_CACHE_BYTES", kept_bytes)
            fits.append(estimator(**params).fit(blobs3))
    assert sizes[0] == 0 and sizes[-1] >= blobs3.shape[0] * (blobs3.shape[1] + 2)
    for name in FITTED + ["lower_bounds_"]:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name),
                                      err_msg=name)


def test_numpy_chunk_workers_honour_a_thread_limit_in_the_environment(monkeypatch):
    """OMP_NUM_THREADS and its kin (set by users, and by joblib in its worker
    processes) cap the worker threads, the smallest positive one winning; without
    them there is one worker per core."""
    from skgmmvi._numpy import _chunk_workers

    monkeypatch.setattr(_chunk_workers, "available_cores", lambda: 4)
    for variable in _chunk_workers.THREAD_LIMIT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    work = 10 * _chunk_workers.MIN_PARALLEL_WORK
    assert _chunk_workers.n_workers(work, 10) == 4
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert _chunk_workers.n_workers(work, 10) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _chunk_workers.n_workers(work, 10) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert _chunk_workers.n_workers(work, 10) == 3


def error_of(model, X):
    with pytest.raises(Exception) as info:
        model.fit(X)
    return type(info.value), str(info.value)


def test_backends_raise_the_same_errors(blobs3):
    nan = blobs3.copy()
    nan[3, 1] = np.nan
    collapsed = np.vstack([np.ones((10, 3)), 2 * np.ones((10, 3))])
    cases = [(nan, {}), (blobs3[:1], {}), (blobs3[:4], dict(n_components=5)),
             (blobs3, dict(n_components=2, weights_init=[0.3, 0.3])),
             (collapsed, dict(n_components=2, reg_covar=0)),
             (collapsed, dict(n_components=2, reg_covar=0, covariance_type="tied")),
             (collapsed.astype(np.float32), dict(n_components=2, reg_covar=0))]
    for X, params in cases:
        on_numpy = error_of(EMGaussianMixture(backend="numpy", **params), X)
        on_tf = error_of(EMGaussianMixture(backend="tensorflow", **params), X)
        ref = error_of(GaussianMixture(**params), X)
        assert on_numpy == on_tf
        assert on_numpy[0] is ref[0]
        if X.dtype == np.float64:
            assert on_numpy[1] == ref[1].replace("GaussianMixture", "EMGaussianMixture")


def test_numpy_failure_leaves_estimator_as_it_was(blobs3):
    collapsed = np.vstack([np.ones((10, 3)), 2 * np.ones((10, 3))])
    fitted = EMGaussianMixture(2, reg_covar=0, warm_start=True, random_state=0,
                               backend="numpy").fit(blobs3)
    before = {k: np.copy(v) for k, v in vars(fitted).items() if k.endswith("_")}
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        fitted.fit(collapsed)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(fitted, name), value)


def test_numpy_backend_refuses_streams_and_strategies(blobs3):
    class FakeStrategy:  # satisfies the parameter check; never used
        def run(self):
            pass

        def reduce(self):
            pass

        def scope(self):
            pass

    model = EMGaussianMixture(2, backend="numpy", strategy=FakeStrategy())
    with pytest.raises(ValueError, match="backend='numpy' fits in-memory arrays only"):
        model.fit(blobs3)
    assert not hasattr(model, "means_")


def test_auto_backend_choice():
    small = EMGaussianMixture(5)
    assert small._fit_backend(10_000, 10, streamed=False) == "numpy"
    assert small._fit_backend(10_000, 10, streamed=True) == "tensorflow"
    big = EMGaussianMixture(16)
    n_rows = int(NUMPY_MAX_WORK // (16 * (16 * 17 // 2 + 17))) + 1
    assert big._fit_backend(n_rows, 16, streamed=False) == "tensorflow"
    assert EMGaussianMixture(16, backend="numpy")._fit_backend(
        n_rows, 16, streamed=False) == "numpy"
    assert EMGaussianMixture(2, backend="tensorflow")._fit_backend(
        100, 2, streamed=False) == "tensorflow"


@pytest.mark.parametrize("estimator", [EMGaussianMixture, BayesianGaussianMixture])
def test_auto_picks_numpy_at_the_speed_goal_cell(blobs3, estimator):
    """At 100 000 x 16, K=16, full (the EM and BayesianGaussianMixture speed goal)
    the numpy backend was measured the faster with one thread each, warm or not
    (``doc/performance.rst``); TensorFlow above NUMPY_MAX_WORK. A compiled
    TensorFlow loop in the process does not change the choice."""
    estimator(n_components=2, backend="tensorflow", max_iter=1).fit(blobs3)
    model = estimator(n_components=16)
    assert model._fit_backend(100_000, 16, streamed=False) == "numpy"
    n_rows = int(NUMPY_MAX_WORK // (16 * (16 * 17 // 2 + 17))) + 1
    assert model._fit_backend(n_rows, 16, streamed=False) == "tensorflow"


def test_auto_small_fit_and_scoring_never_import_tensorflow():
    code = ("import sys, pickle, numpy as np, skgmmvi;"
            "X = np.random.RandomState(0).randn(1000, 2);"
            "m = skgmmvi.GaussianMixture(3, random_state=0).fit(X);"
            "m.predict(X[:10]); m.score(X); m.bic(X); m.sample(5);"
            "pickle.loads(pickle.dumps(m)).predict_proba(X[:10]);"
            "print('tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False" and done.stderr == ""


def exact_two_cluster_fit(A, B, covariance_type, reg_covar=1e-6):
    """The EM fixed point for two clusters too far apart to share any row."""
    covs = [np.cov(part.T, bias=True) for part in (A, B)]
    if covariance_type == "tied":
        return (covs[0] + covs[1]) / 2 + reg_covar * np.eye(A.shape[1])
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covs]) + reg_covar
    if covariance_type == "spherical":
        return np.array([np.trace(c) / A.shape[1] for c in covs]) + reg_covar
    return np.array(covs) + reg_covar * np.eye(A.shape[1])


@pytest.mark.parametrize("separation", [1e5, 1e6, 1e7, 1e8])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_apart_components_are_exact(separation, covariance_type):
    rng = np.random.RandomState(0)
    A, B = rng.randn(100, 2), rng.randn(100, 2) + separation
    X = np.vstack([A, B])
    params = dict(n_components=2, random_state=0, covariance_type=covariance_type)
    ours = EMGaussianMixture(backend="numpy", **params).fit(X)
    order = np.argsort(ours.means_[:, 0])
    covariances = ours.covariances_ if covariance_type == "tied" else \
        ours.covariances_[order]
    assert_allclose(covariances, exact_two_cluster_fit(A, B, covariance_type),
                    rtol=1e-9, atol=1e-12)
    assert_allclose(ours.means_[order], [A.mean(0), B.mean(0)], rtol=1e-12)
    if covariance_type != "full":
        # scikit-learn centres per component only for 'full'; its other M-steps
        # use raw moments and lose about 1e-16 * separation**2 (4e-6 at 1e5,
        # 'ill-defined' for tied at 1e8), so the exact fit above is the reference.
        return
    ref = GaussianMixture(**params).fit(X)
    for name in ["weights_", "means_", "covariances_"]:
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6,
                        err_msg=name)
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-6)
    assert ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_backends_agree_on_far_apart_data(covariance_type):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) + 1e6,
                   rng.randn(50, 2) * 3 + [1e6, -1e6]])
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    models = fit_on_both(X, fit_kwargs=dict(sample_weight=weights), n_components=3,
                         covariance_type=covariance_type, random_state=0)
    assert_same_backends(*models)
    from skgmmvi._numpy.em import log_prob_resp as numpy_scores
    from skgmmvi._tf.em import log_prob_resp as tensorflow_scores

    Xtest = X[::10] + 0.5
    params = models[1]._fitted_parameters()
    on_numpy = numpy_scores(Xtest, params, covariance_type, 64)
    on_tf = tensorflow_scores(Xtest, params, covariance_type, 64, "float64")
    for a, b in zip(on_numpy, on_tf):
        assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_two_points_far_apart_give_sklearns_bound():
    X = [[0.0, 0.0], [1e6, 1e6]]
    ours = EMGaussianMixture(2, random_state=0, backend="numpy").fit(X)
    ref = GaussianMixture(2, random_state=0).fit(X)
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-6)
    assert_allclose(ours.lower_bound_, 11.2845, rtol=1e-5)
    assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.score(X), ref.score(X), rtol=1e-6)
