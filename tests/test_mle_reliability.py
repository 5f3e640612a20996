"""MLEGaussianMixture is never silently wrong, stops on Ctrl-C, does not retrace per
shape, and streams right (issue 15, items 5, 10, 11, 12, 14, 15, 16)."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skgmmvi import EMGaussianMixture, MLEGaussianMixture
from skgmmvi._tf import mle as backend
from skgmmvi._tf.mle_loops import cache_size, compiled

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def exact_score_samples(gm, X):
    """log p(x) of the fitted mixture, by scipy, one component at a time."""
    n_components, n_features = gm.means_.shape
    covariances = {
        "full": lambda c: c,
        "tied": lambda c: np.broadcast_to(c, (n_components, n_features, n_features)),
        "diag": lambda c: [np.diag(row) for row in c],
        "spherical": lambda c: [v * np.eye(n_features) for v in c],
    }[gm.covariance_type](gm.covariances_)
    # scipy's logpdf centres the rows on each mean itself.
    logs = [np.log(w) + multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(gm.weights_, gm.means_, covariances)]
    return logsumexp(np.reshape(logs, (len(gm.weights_), -1)), axis=0)


# ------------------------------------------------- item 5: offset data
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e4, 1e8])
def test_lower_bound_is_the_score_of_the_fitted_parameters(covariance_type, offset):
    rng = np.random.RandomState(0)
    X = offset + 1e-3 * np.vstack([rng.randn(60, 2), rng.randn(60, 2) + 5])
    # Started from a given point, so that the test is of the training only; the
    # step size suits the data's scale of 1e-3.
    precisions = {"full": np.tile(1e6 * np.eye(2), (2, 1, 1)), "tied": 1e6 * np.eye(2),
                  "diag": np.full((2, 2), 1e6), "spherical": np.full(2, 1e6)}
    kwargs = dict(n_components=2, covariance_type=covariance_type, random_state=0,
                  max_iter=20, learning_rate=1e-3, weights_init=[0.5, 0.5],
                  precisions_init=precisions[covariance_type])
    start = 1e-3 * np.array([[0.5, 0.0], [4.0, 5.5]])
    gm = quiet(MLEGaussianMixture(means_init=offset + start, **kwargs), X)
    np.testing.assert_allclose(gm.lower_bound_, gm.score(X), rtol=1e-10)
    np.testing.assert_allclose(gm.lower_bound_, exact_score_samples(gm, X).mean(),
                               rtol=1e-8)
    # The same rows about the origin (X - offset is exact in float64) give the
    # same loss curve: at 1e8 the rows' own rounding (1.5e-8, i.e. 1.5e-5 of
    # the spread) bounds the agreement.
    centred = quiet(MLEGaussianMixture(means_init=start, **kwargs), X - offset)
    np.testing.assert_allclose(gm.lower_bounds_, centred.lower_bounds_, rtol=1e-4)
    assert gm.loss_curve_ == [-value for value in gm.lower_bounds_]


@pytest.fixture(scope="module")
def two_points_far_apart():
    X = np.array([[0.0, 0.0], [1e6, 1e6]])
    return X, quiet(MLEGaussianMixture(2, random_state=0, max_iter=50), X)


def test_two_points_far_apart_lower_bound_is_exact(two_points_far_apart):
    X, gm = two_points_far_apart
    np.testing.assert_allclose(gm.lower_bound_, exact_score_samples(gm, X).mean(),
                               rtol=1e-9)


def test_two_points_far_apart_score_samples_are_exact(two_points_far_apart):
    X, gm = two_points_far_apart
    np.testing.assert_allclose(gm.score_samples(X), exact_score_samples(gm, X),
                               rtol=1e-9)


# ---------------------------------------- item 10: changed structure
@pytest.fixture(scope="module")
def fitted(blobs3):
    return MLEGaussianMixture(3, random_state=0, batch_size=100).partial_fit(blobs3)


def assert_unchanged(gm, before):
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(gm, name), value)


@pytest.mark.parametrize("change, match", [
    ({"covariance_type": "diag"}, r"covariance_type='diag', but MLEGaussianMixture "
                                  r"was fitted with covariance_type='full'"),
    ({"n_components": 4}, r"n_components=4, but .* fitted with n_components=3"),
])
def test_partial_fit_after_a_structure_change_says_what_to_do(fitted, blobs3, change,
                                                              match):
    gm = clone(fitted).set_params(**change)
    gm.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    gm._optimizer_state = fitted._optimizer_state
    before = {k: np.copy(v) for k, v in vars(gm).items() if isinstance(v, np.ndarray)}
    with pytest.raises(ValueError, match=match) as error:
        gm.partial_fit(blobs3)
    assert "start afresh" in str(error.value)
    assert_unchanged(gm, before)
    with pytest.raises(ValueError, match="X has 2 features"):
        fitted.partial_fit(blobs3[:, :2])


@pytest.mark.parametrize("change", [{"covariance_type": "spherical"},
                                    {"n_components": 2}])
def test_warm_start_after_a_structure_change_says_what_to_do(blobs3, change):
    gm = quiet(MLEGaussianMixture(3, random_state=0, max_iter=3, warm_start=True),
               blobs3)
    before = {k: np.copy(v) for k, v in vars(gm).items() if isinstance(v, np.ndarray)}
    gm.set_params(**change)
    with pytest.raises(ValueError, match="warm_start=False to start afresh"):
        gm.fit(blobs3)
    assert_unchanged(gm, before)
    gm.set_params(warm_start=False)
    quiet(gm, blobs3)  # the documented restart works
    assert gm.means_.shape[0] == gm.n_components


# ------------------------------------------------ item 11: Ctrl-C
@pytest.mark.slow
def test_ctrl_c_stops_every_kind_of_fit_within_a_second():
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    child = subprocess.Popen(
        [sys.executable, os.path.join(REPO_ROOT, "tests", "scripts", "mle_interrupt.py")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    reports = []
    try:
        for line in child.stdout:
            if line.startswith("ready"):
                time.sleep(1.5)  # well inside the fit
                sent = time.perf_counter()
                child.send_signal(signal.SIGINT)
            elif line.startswith("{"):
                report = json.loads(line)
                report["latency"] = time.perf_counter() - sent
                reports.append(report)
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert [r["mode"] for r in reports] == ["full_batch", "mini_batch", "stream"], \
        child.stderr.read()[-2000:]
    print(reports)  # shown with -s: the measured latencies
    for report in reports:
        assert report["interrupted"] and report["unchanged"], report
        assert report["latency"] < 2.0, report  # about a second, on a loaded machine


@pytest.mark.parametrize("batch_size", [None, 32])
def test_training_in_pieces_is_bit_identical(blobs3, batch_size):
    """Returning to Python between epochs (for Ctrl-C) changes nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        params = EMGaussianMixture(3, random_state=0, max_iter=1).fit(
            blobs3)._fitted_parameters()
    data = backend.TrainingData(blobs3, np.ones(len(blobs3)), "float64")
    runs = [backend.train(data, params, "full", optimizer="adam",
                          training_state=backend.TrainingState(None, None, 0.05, 2),
                          n_epochs=12, tol=1e-2, n_iter_no_change=2, reg_covar=1e-6,
                          previous_log_lik=-np.inf, batch_size=batch_size,
                          chunk_size=128, shuffle=True, seed=(3, 4), piece_seconds=seconds)
            for seconds in (0.0, 60.0)]
    for first, second in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][3].learning_rate == runs[1][3].learning_rate
    assert runs[0][4] == runs[1][4]


# ------------------------------------------------ item 12: no shape keys
def test_one_trace_serves_every_shape():
    rng = np.random.RandomState(0)
    quiet(MLEGaussianMixture(2, covariance_type="diag", random_state=0, max_iter=2),
          rng.randn(50, 2))
    train = compiled("train", "adam", "diag", "float64")
    traces, cached = train.experimental_get_tracing_count(), cache_size()
    for n_components, n_features in [(1, 1), (3, 2), (5, 4), (2, 7)]:
        X = rng.randn(60, n_features)
        quiet(MLEGaussianMixture(n_components, covariance_type="diag", random_state=0,
                                 max_iter=2), X)
        quiet(MLEGaussianMixture(n_components, covariance_type="diag", random_state=0,
                                 max_iter=2, batch_size=16), X)
    assert train.experimental_get_tracing_count() == traces
    assert cache_size() == cached


def test_mle_sample_weight_scale_invariance_in_training(blobs3):
    """The training itself has no epsilon: weights times 1e-30 give the same fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        params = EMGaussianMixture(3, random_state=0, max_iter=1).fit(
            blobs3)._fitted_parameters()
    weight = np.random.RandomState(0).uniform(0.5, 2, len(blobs3))
    runs = [backend.train(backend.TrainingData(blobs3, weight * scale, "float64"),
                          params, "full", optimizer="adam",
                          training_state=backend.TrainingState(None, None, 0.05, 0),
                          n_epochs=5, tol=0.0, n_iter_no_change=10, reg_covar=1e-6,
                          previous_log_lik=-np.inf, batch_size=batch, chunk_size=128,
                          shuffle=True, seed=(0, 0))
            for batch in (None, 50) for scale in (1.0, 1e-30)]
    for one, tiny in [(runs[0], runs[1]), (runs[2], runs[3])]:
        for first, second in zip(one[0], tiny[0]):
            np.testing.assert_allclose(first, second, rtol=1e-10)


# --------------------------------- item 14: streams in natural order
def natural_order_stream():
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    return np.vstack([rng.randn(300, 2) * [1.0, 0.5] + c for c in centres])


@pytest.mark.slow
def test_stream_in_natural_order_reaches_the_full_batch_fit():
    X = natural_order_stream()
    full = MLEGaussianMixture(3, random_state=0).fit(X)
    streamed = MLEGaussianMixture(3, random_state=0, batch_size=100)
    for _ in range(30):  # passes, each cluster by cluster
        for chunk in np.array_split(X, 10):
            streamed.partial_fit(chunk)
    assert abs(streamed.score(X) - full.score(X)) < 1e-2


def test_reseeding_moves_a_starved_component_to_an_unexplained_cluster():
    X = natural_order_stream()
    chunks = np.array_split(X, 10)
    kept = MLEGaussianMixture(3, random_state=0, reassignment_ratio=0.0)
    reseeded = MLEGaussianMixture(3, random_state=0)
    for chunk in chunks[:5]:  # cluster A, then the start of cluster B
        kept.partial_fit(chunk)
        reseeded.partial_fit(chunk)
    near_b = [np.min(np.linalg.norm(gm.means_ - [6.0, 0.0], axis=1))
              for gm in (kept, reseeded)]
    assert near_b[0] > 3.0  # without re-seeding no component reaches B
    assert near_b[1] < 0.5  # with it, one sits on B


# -------------------------------------- item 15: plateau schedule
@pytest.mark.slow
def test_mini_batch_defaults_reach_em():
    from test_mle import five_component_1d

    X = five_component_1d()
    em = EMGaussianMixture(5, random_state=0, tol=1e-9, max_iter=3000).fit(X)
    mle = MLEGaussianMixture(5, random_state=0, batch_size=256).fit(X)
    assert mle.converged_
    assert abs(mle.score(X) - em.score(X)) < 1e-3


def test_plateau_decays_the_learning_rate(blobs3):
    kwargs = dict(n_components=3, random_state=0, batch_size=64, max_iter=60)
    adaptive = quiet(MLEGaussianMixture(**kwargs), blobs3)
    constant = quiet(MLEGaussianMixture(learning_rate_schedule="constant", **kwargs),
                     blobs3)
    assert adaptive._optimizer_state["state"].learning_rate < 0.05
    assert constant._optimizer_state["state"].learning_rate == 0.05
    assert constant.n_iter_ < adaptive.n_iter_ or not adaptive.converged_


# ---------------------------------------- item 16: Keras instances
def test_keras_optimizer_instance_equals_its_name(blobs3):
    keras = pytest.importorskip("keras")
    optimizer = keras.optimizers.Adam(learning_rate=0.05)
    kwargs = dict(n_components=3, random_state=0, max_iter=5, tol=0)
    by_instance = quiet(MLEGaussianMixture(optimizer=optimizer, **kwargs), blobs3)
    by_name = quiet(MLEGaussianMixture(
        learning_rate=optimizer.get_config()["learning_rate"], **kwargs), blobs3)
    np.testing.assert_array_equal(by_instance.means_, by_name.means_)
    assert not optimizer.built  # read through its config, never used
    assert clone(by_instance).get_params()["optimizer"].get_config()["learning_rate"] \
        == optimizer.get_config()["learning_rate"]
    again = pickle.loads(pickle.dumps(by_instance))
    np.testing.assert_array_equal(again.means_, by_instance.means_)
    with pytest.raises(ValueError, match="Adagrad instance is not supported"):
        MLEGaussianMixture(optimizer=keras.optimizers.Adagrad()).fit(blobs3)
    with pytest.raises(ValueError, match="clipnorm"):
        MLEGaussianMixture(optimizer=keras.optimizers.Adam(clipnorm=1.0)).fit(blobs3)


@pytest.mark.parametrize("name, config", [
    ("Adam", {}), ("Adam", {"amsgrad": True, "beta_1": 0.8}), ("SGD", {}),
    ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.5, "centered": True})])
def test_optimizer_updates_equal_keras(name, config):
    """Our state-tensor optimisers take Keras' steps, term for term."""
    keras = pytest.importorskip("keras")
    from skgmmvi._tf._runtime import tensorflow
    from skgmmvi._tf.mle_optimizers import apply_update, initial_state, optimizer_spec

    tf = tensorflow()
    rng = np.random.RandomState(0)
    start = [rng.randn(3).astype(np.float32), rng.randn(3, 2).astype(np.float32)]
    reference = getattr(keras.optimizers, name)(learning_rate=0.1, **config)
    variables = [tf.Variable(v) for v in start]
    spec = optimizer_spec(reference)
    params = tuple(tf.constant(v) for v in start)
    state = initial_state(params)
    hyper = tf.constant(spec.hyper, tf.float32)
    for step in range(4):
        grads = [tf.constant(rng.randn(*v.shape).astype(np.float32)) for v in start]
        reference.apply_gradients(zip(grads, variables))
        params, state = apply_update(spec.kind, hyper, params, tuple(grads), state,
                                     tf.constant(spec.learning_rate, tf.float32))
    for ours, theirs in zip(params, variables):
        # Four steps of size about 0.1: a wrong term would differ by ~0.1; Keras'
        # float32 step bookkeeping leaves ~1e-6.
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-5)


def test_a_fit_that_ends_below_its_start_is_not_converged_and_says_why():
    # A constant feature (variance reg_covar) makes Adam's steps on the tied
    # covariance overshoot: the log-likelihood fell from 2.8 to -378 and
    # climbed back to 0.50 only, every epoch below the best counting as a
    # stall, and the fit reported converged_ = True without a warning
    rng = np.random.RandomState(0)
    X = np.hstack([rng.randn(100, 2), np.full((100, 1), 3.0)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MLEGaussianMixture(2, covariance_type="tied", random_state=0).fit(X)
    start = model.lower_bounds_[0]
    assert model.lower_bound_ < start - 1.0 and not model.converged_
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert any(f"below the {start:.4g} of its first epoch" in m and "learning_rate" in m
               for m in messages), messages
    # a fit that does not fall keeps its plateau's verdict, without that warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MLEGaussianMixture(2, covariance_type="full", random_state=0).fit(X[:, :2])
    assert model.converged_ and not caught


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_unexplained_rows_that_span_no_component_are_not_reseeded(covariance_type):
    # with reg_covar=0, two far rows have a singular covariance: the re-seed
    # raised numpy's LinAlgError ('full') or made the optimiser 'diverge'
    rng = np.random.RandomState(0)
    model = MLEGaussianMixture(2, reg_covar=0.0, covariance_type=covariance_type,
                               random_state=0).partial_fit(rng.randn(200, 2) - 2)
    far = [[50.0, 50.0], [50.0, 50.0]] if covariance_type != "full" else [[50, 50], [51, 51]]
    model.partial_fit(np.vstack([rng.randn(98, 2) - 2, far]))
    assert np.all(np.isfinite(model.covariances_)) and np.isfinite(model.lower_bound_)
