"""EM is never silently wrong (issue 15, items 4, 6, 7, 9, 10 and 11).

Far-apart components, sample_weight scale, float32 overflow, bad stream batches,
warm_start after a change of the model, and Ctrl-C. Numbers are compared with
scikit-learn where scikit-learn computes them accurately, and with exact per-cluster
statistics where it does not (its moment form for 'tied', 'diag' and 'spherical'
cancels at large separations).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skgmmvi import EMGaussianMixture, MLEGaussianMixture
from skgmmvi import _stream

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
SEPARATIONS = [1e5, 1e6, 1e7, 1e8]
FITTED = ["weights_", "means_", "covariances_"]


@pytest.fixture(scope="module")
def tf():
    from skgmmvi._tf._runtime import tensorflow

    return tensorflow()


def quiet_fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def two_clusters(separation, n_per_cluster=40, seed=0):
    """Two clusters of standard deviation 1 whose centres are ``separation`` apart."""
    rng = np.random.RandomState(seed)
    near = rng.randn(n_per_cluster, 2)
    far = rng.randn(n_per_cluster, 2) + separation / np.sqrt(2.0)
    return np.vstack([near, far]), n_per_cluster


def exact_cluster_fit(X, n_near, covariance_type, reg_covar=1e-6):
    """EM's fixed point when each cluster is one component: per-cluster statistics.

    Computed around each cluster's own mean, so without cancellation. Components are
    ordered by their mean's first coordinate.
    """
    clusters = [X[:n_near], X[n_near:]]
    means = np.array([c.mean(axis=0) for c in clusters])
    scatters = np.array([np.cov(c.T, bias=True) for c in clusters])
    sizes = np.array([len(c) for c in clusters], float)
    if covariance_type == "full":
        covariances = scatters + reg_covar * np.eye(2)
    elif covariance_type == "tied":
        covariances = np.tensordot(sizes, scatters, axes=1) / sizes.sum() + reg_covar * np.eye(2)
    elif covariance_type == "diag":
        covariances = np.diagonal(scatters, axis1=1, axis2=2) + reg_covar
    else:
        covariances = np.trace(scatters, axis1=1, axis2=2) / 2 + reg_covar
    return sizes / sizes.sum(), means, covariances


def by_first_mean(model):
    """(weights, means, covariances) with components ordered by their first mean."""
    order = np.argsort(model.means_[:, 0])
    covariances = model.covariances_
    if model.covariance_type != "tied":
        covariances = covariances[order]
    return model.weights_[order], model.means_[order], covariances


# ------------------------------------------------------------------ item 4
@pytest.mark.parametrize("separation", SEPARATIONS)
def test_far_apart_full_matches_sklearn(separation):
    X, _ = two_clusters(separation)
    params = dict(n_components=2, random_state=0, tol=1e-10)
    ours = quiet_fit(EMGaussianMixture(**params), X)
    ref = quiet_fit(GaussianMixture(**params), X)
    for name in FITTED:
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-6,
                        atol=1e-6 * np.max(np.abs(getattr(ref, name))) * 1e-3,
                        err_msg=name)
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("separation", [1e6, 1e8])
def test_far_apart_equals_exact_cluster_statistics(covariance_type, separation):
    X, n_near = two_clusters(separation)
    model = quiet_fit(EMGaussianMixture(2, covariance_type=covariance_type,
                                        random_state=0, tol=1e-10), X)
    for ours, exact in zip(by_first_mean(model), exact_cluster_fit(X, n_near,
                                                                   covariance_type)):
        assert_allclose(ours, exact, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_apart_stream_equals_in_memory(tf, covariance_type):
    X, _ = two_clusters(1e7)
    params = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    in_memory = quiet_fit(EMGaussianMixture(**params), X)
    streamed = quiet_fit(EMGaussianMixture(**params),
                         tf.data.Dataset.from_tensor_slices(X).batch(16))
    for name in FITTED:
        assert_allclose(getattr(streamed, name), getattr(in_memory, name), rtol=1e-10)
    assert_allclose(streamed.lower_bound_, in_memory.lower_bound_, rtol=1e-10)


def test_two_points_far_apart_lower_bound_is_sklearn_s():
    X = np.array([[0.0, 0.0], [1e6, 1e6]])
    ours = EMGaussianMixture(2, random_state=0).fit(X)
    ref = GaussianMixture(2, random_state=0).fit(X)
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-10)
    assert_allclose(ours.lower_bound_, 11.2845, atol=1e-4)
    assert_allclose(ours.covariances_, np.broadcast_to(1e-6 * np.eye(2), (2, 2, 2)),
                    rtol=1e-9, atol=1e-20)
    # The bound is the log-likelihood of the model's own parameters.
    assert_allclose(ours.score(X), ref.score(X), rtol=1e-10)


def test_far_apart_scoring_is_exact():
    X, _ = two_clusters(1e7)
    model = quiet_fit(EMGaussianMixture(2, random_state=0), X)
    Xtest = X[::5] + 0.25
    per_component = np.stack([
        np.log(w) + multivariate_normal(m, c).logpdf(Xtest)
        for w, m, c in zip(model.weights_, model.means_, model.covariances_)], axis=1)
    exact = logsumexp(per_component, axis=1)
    assert_allclose(model.score_samples(Xtest), exact, rtol=1e-10)
    assert_allclose(model.predict_proba(Xtest),
                    np.exp(per_component - exact[:, None]), atol=1e-10)


@pytest.mark.parametrize("n_components", [1, 2])
def test_tied_identical_rows_far_from_origin(n_components):
    X = np.full((10, 2), 1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means: fewer distinct points than clusters
        model = EMGaussianMixture(n_components, covariance_type="tied",
                                  random_state=0).fit(X)
    # The exact answer: every mean on the point, the covariance reg_covar * I.
    # (scikit-learn's moment form gives about 2e-4 here, its own rounding.)
    assert_allclose(model.means_, np.full((n_components, 2), 1e6), rtol=1e-15)
    assert_allclose(model.covariances_, 1e-6 * np.eye(2), rtol=1e-9, atol=1e-15)


# ------------------------------------------------------------------ item 6
@pytest.fixture(scope="module")
def weighted_data():
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(60, 2), rng.randn(60, 2) * 0.5 + 4])
    return X, rng.uniform(0.2, 3.0, size=len(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_weight_scale_invariance(weighted_data, covariance_type):
    X, weight = weighted_data
    params = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    reference = quiet_fit(EMGaussianMixture(**params), X, sample_weight=weight)
    for factor in [1e-30, 1e-7, 3.3e12, 1e30]:
        scaled = quiet_fit(EMGaussianMixture(**params), X, sample_weight=weight * factor)
        for name in FITTED:
            assert_allclose(getattr(scaled, name), getattr(reference, name), rtol=1e-10,
                            err_msg=f"{name} at factor {factor}")
        assert_allclose(scaled.lower_bound_, reference.lower_bound_, rtol=1e-10)
        assert scaled.n_iter_ == reference.n_iter_


def test_uniform_tiny_weights_equal_no_weights(weighted_data):
    X, _ = weighted_data
    plain = quiet_fit(EMGaussianMixture(2, random_state=0), X)
    tiny = quiet_fit(EMGaussianMixture(2, random_state=0), X,
                     sample_weight=np.full(len(X), 1e-30))
    for name in FITTED:
        assert_allclose(getattr(tiny, name), getattr(plain, name), rtol=1e-12)
    assert np.all(tiny.covariances_[:, 0, 0] > 1e-2)  # not collapsed to reg_covar


def test_mle_sample_weight_scale_invariance(weighted_data):
    X, weight = weighted_data
    params = dict(n_components=2, random_state=0, max_iter=20)
    reference = quiet_fit(MLEGaussianMixture(**params), X, sample_weight=weight)
    # A power-of-two factor is undone exactly: the same fit, bit for bit.
    exact = quiet_fit(MLEGaussianMixture(**params), X, sample_weight=weight * 2.0**-100)
    for name in FITTED:
        np.testing.assert_array_equal(getattr(exact, name), getattr(reference, name))
    # Any other factor rounds each weight (1e-16 relative); 20 Adam steps amplify
    # that to about 1e-10 (measured 1.5e-10), far from the collapse to reg_covar.
    scaled = quiet_fit(MLEGaussianMixture(**params), X, sample_weight=weight * 1e-30)
    for name in FITTED:
        assert_allclose(getattr(scaled, name), getattr(reference, name), rtol=1e-9)


def test_stream_sample_weight_scale_invariance(tf, weighted_data):
    X, weight = weighted_data
    params = dict(n_components=2, random_state=0)
    reference = quiet_fit(EMGaussianMixture(**params), X, sample_weight=weight)
    stream = tf.data.Dataset.from_tensor_slices((X, weight * 1e-30)).batch(32)
    scaled = quiet_fit(EMGaussianMixture(**params), stream)
    for name in FITTED:
        assert_allclose(getattr(scaled, name), getattr(reference, name), rtol=1e-10)


# ------------------------------------------------------------------ item 7
def test_float32_overflow_is_an_error_and_keeps_the_estimator():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(50, 2), rng.randn(50, 2) + 5]) * 1e37
    model = EMGaussianMixture(2, dtype="float32", random_state=0)
    with pytest.raises(ValueError, match="not finite in float32.*Rescale the data"):
        model.fit(X)
    assert not hasattr(model, "covariances_")
    fitted = quiet_fit(EMGaussianMixture(2, dtype="float32", random_state=0), X / 1e37)
    before = {k: np.copy(v) for k, v in vars(fitted).items() if k.endswith("_")
              and isinstance(v, np.ndarray)}
    with pytest.raises(ValueError, match="not finite in float32"):
        fitted.fit(X)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(fitted, name), value)
    # In float64 the same data fit, with finite parameters.
    assert np.all(np.isfinite(quiet_fit(EMGaussianMixture(2, random_state=0),
                                        X).covariances_))


# ------------------------------------------------------------------ item 9
def in_memory_message(estimator, X, sample_weight=None):
    with pytest.raises(ValueError) as error:
        estimator.fit(X, sample_weight=sample_weight)
    return str(error.value)


@pytest.mark.parametrize("estimator_class, method", [(EMGaussianMixture, "fit"),
                                                     (MLEGaussianMixture, "fit"),
                                                     (MLEGaussianMixture, "partial_fit")])
@pytest.mark.parametrize("bad", ["nan", "inf", "negative_weight"])
def test_stream_batches_past_the_head_are_validated(tf, monkeypatch, estimator_class,
                                                    method, bad):
    """A bad batch after the rows read for the start gets scikit-learn's message
    (the in-memory one) and leaves the model as it was: fit and partial_fit."""
    monkeypatch.setattr(_stream, "STREAM_INIT_ROWS", 40)
    monkeypatch.setattr("skgmmvi._base.STREAM_INIT_ROWS", 40)
    monkeypatch.setattr("skgmmvi.mle.STREAM_INIT_ROWS", 40)
    rng = np.random.RandomState(0)
    X = rng.randn(120, 2)
    weight = np.ones(len(X))
    if bad == "negative_weight":
        weight[100] = -1.0
    else:
        X[100, 1] = np.nan if bad == "nan" else np.inf
    expected = in_memory_message(estimator_class(2, random_state=0), X, weight)
    model = estimator_class(2, random_state=0, max_iter=3)
    stream = tf.data.Dataset.from_tensor_slices((X, weight)).batch(20)
    with pytest.raises(ValueError) as error:
        getattr(model, method)(stream)
    assert str(error.value) == expected
    assert not hasattr(model, "means_")


# ----------------------------------------------------------------- item 10
@pytest.mark.parametrize("change", [dict(covariance_type="diag"),
                                    dict(covariance_type="tied"),
                                    dict(n_components=3)])
def test_warm_start_after_changing_the_model(weighted_data, change):
    X, _ = weighted_data
    model = quiet_fit(EMGaussianMixture(2, warm_start=True, random_state=0), X)
    means = model.means_.copy()
    model.set_params(**change)
    key, value = next(iter(change.items()))
    with pytest.raises(ValueError, match=f"{key} is {value!r}.*warm_start=False"):
        model.fit(X)
    np.testing.assert_array_equal(model.means_, means)
    model.set_params(warm_start=False)
    assert quiet_fit(model, X).means_.shape[0] == model.n_components


# ----------------------------------------------------------------- item 11
INTERRUPTED_FIT = """
import signal, sys, time
# A shell's background job starts with SIGINT ignored, and Python then installs no
# KeyboardInterrupt handler: the endless fit would never stop. Install it.
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from skgmmvi import EMGaussianMixture
X = np.random.RandomState(0).randn(20000, 3)
data = X
if sys.argv[1] == "stream":
    from skgmmvi._tf._runtime import tensorflow
    data = tensorflow().data.Dataset.from_tensor_slices(X).batch(4096)
EMGaussianMixture(3, max_iter=2, tol=0, random_state=0).fit(data)  # traced before
model = EMGaussianMixture(3, max_iter=10**7, tol=0, random_state=0)
print("fitting", flush=True)
try:
    model.fit(data)
except KeyboardInterrupt:
    print("interrupted", time.time(), hasattr(model, "means_"), flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("source", ["memory", "stream"])
def test_ctrl_c_stops_an_em_fit(source):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED_FIT, source],
                             cwd=Path(__file__).parents[1], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout.readline().strip() == "fitting"
        time.sleep(2.0)  # well inside the endless fit (tol=0, max_iter=1e7)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        words = child.stdout.readline().split()
        child.wait(timeout=30)
    finally:
        child.kill()
    assert words[0] == "interrupted"
    latency = float(words[1]) - sent
    assert words[2] == "False"  # the estimator is left as it was (unfitted)
    # "Within about a second": slices last SLICE_SECONDS (0.25 s); the margin is
    # for a loaded machine.
    assert latency < 2.0, latency
