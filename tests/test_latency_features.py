"""Latency features: scikit-learn's class name, numpy scoring of fitted models,
scoring far outside the data, quiet TensorFlow calls, warm_up, small k-means."""

import logging
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skgmmvi
from skgmmvi import EMGaussianMixture, GaussianMixture
from skgmmvi._initialization import initial_responsibilities

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def test_gaussian_mixture_is_em_under_sklearns_name(blobs3):
    assert GaussianMixture.__name__ == SklearnGaussianMixture.__name__
    assert issubclass(GaussianMixture, EMGaussianMixture)
    ours = GaussianMixture(3, random_state=0).fit(blobs3)
    em = EMGaussianMixture(3, random_state=0).fit(blobs3)
    for name in ["weights_", "means_", "covariances_"]:
        assert_array_equal(getattr(ours, name), getattr(em, name))
    assert clone(ours).get_params() == GaussianMixture(3, random_state=0).get_params()
    with pytest.raises(ValueError) as ours_error:
        ours.predict(blobs3[:, :2])
    with pytest.raises(ValueError) as ref_error:
        SklearnGaussianMixture(3, random_state=0).fit(blobs3).predict(blobs3[:, :2])
    assert str(ours_error.value) == str(ref_error.value)


def test_gaussian_mixture_in_pipeline_and_grid_search(blobs3):
    pipe = make_pipeline(StandardScaler(), GaussianMixture(random_state=0))
    assert list(pipe.named_steps) == ["standardscaler", "gaussianmixture"]
    search = GridSearchCV(pipe, {"gaussianmixture__n_components": [1, 2, 3]}, cv=3)
    search.fit(blobs3)
    reference = GridSearchCV(
        make_pipeline(StandardScaler(), SklearnGaussianMixture(random_state=0)),
        {"gaussianmixture__n_components": [1, 2, 3]}, cv=3).fit(blobs3)
    assert search.best_params_ == reference.best_params_
    assert_allclose(search.cv_results_["mean_test_score"],
                    reference.cv_results_["mean_test_score"], rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_numpy_scoring_equals_tensorflow_scoring(blobs3, covariance_type):
    from skgmmvi._numpy.em import log_prob_resp as numpy_scores
    from skgmmvi._tf.em import log_prob_resp as tensorflow_scores

    model = EMGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        blobs3)
    X = np.vstack([blobs3[::5] + 0.3, [[30.0, -20.0, 40.0]]])
    params = model._fitted_parameters()
    on_numpy = numpy_scores(X, params, covariance_type, 37)
    on_tf = tensorflow_scores(X, params, covariance_type, 37, "float64")
    assert_allclose(on_numpy[0], on_tf[0], rtol=1e-11)
    assert_allclose(on_numpy[1], on_tf[1], rtol=1e-9, atol=1e-10)
    assert_allclose(model.score_samples(X), on_tf[0], rtol=1e-11)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rows_beyond_the_float_range_score_as_sklearn(blobs3, covariance_type):
    params = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    ours = EMGaussianMixture(**params).fit(blobs3)
    ref = SklearnGaussianMixture(**params).fit(blobs3)
    X = np.array([[1e155, 1e155, 0.0], [1e160, -1e160, 1.0], [1e300, 0.0, 0.0],
                  [0.0, 1.0, 2.0], [1e100, 0.0, 0.0]])
    with np.errstate(all="ignore"):
        expected = (ref.score_samples(X), ref.predict(X), ref.predict_proba(X))
    scores = ours.score_samples(X)
    assert np.all(scores[:3] == -np.inf)
    assert_allclose(scores, expected[0], rtol=1e-10)
    assert_array_equal(ours.predict(X), expected[1])
    assert_allclose(ours.predict_proba(X), expected[2], rtol=1e-9, equal_nan=True)


def test_predict_on_strings_gives_sklearns_message(blobs3):
    ours = EMGaussianMixture(2, random_state=0).fit(blobs3)
    ref = SklearnGaussianMixture(2, random_state=0).fit(blobs3)
    strings = np.array([["a", "b", "c"], ["d", "e", "f"]])
    for method in ["predict", "predict_proba", "score_samples", "score"]:
        with pytest.raises(ValueError) as ours_error:
            getattr(ours, method)(strings)
        with pytest.raises(ValueError) as ref_error:
            getattr(ref, method)(strings)
        assert str(ours_error.value) == str(ref_error.value)


def test_scoring_integer_and_float32_rows(blobs3):
    model = EMGaussianMixture(2, random_state=0).fit(blobs3)
    as_int = np.rint(blobs3[:20]).astype(np.int64)
    assert_allclose(model.score_samples(as_int), model.score_samples(
        as_int.astype(np.float64)), rtol=0)
    assert model.score_samples(blobs3[:5].astype(np.float32)).dtype == np.float64


def test_unpickled_models_score_without_tensorflow(blobs3, tmp_path):
    models = {ct: EMGaussianMixture(3, covariance_type=ct, random_state=0).fit(blobs3)
              for ct in COVARIANCE_TYPES}
    path = tmp_path / "models.pkl"
    path.write_bytes(pickle.dumps(models))
    expected = {ct: m.score_samples(blobs3[:10]) for ct, m in models.items()}
    code = (f"import sys, pickle, numpy as np; models = pickle.load(open({str(path)!r}, "
            "'rb')); X = np.load(sys.argv[1]);"
            "print(repr({ct: m.score_samples(X).tolist() for ct, m in models.items()}));"
            "[m.predict(X) for m in models.values()];"
            "print('tensorflow' in sys.modules)")
    np.save(tmp_path / "rows.npy", blobs3[:10])
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "rows.npy")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "False"
    scores = eval(lines[0])  # noqa: S307 - our own repr of floats
    for ct in COVARIANCE_TYPES:
        assert_allclose(scores[ct], expected[ct], rtol=0)


def test_quiet_tensorflow_restores_the_users_logger_level():
    from skgmmvi._tf._runtime import quiet_tensorflow, tensorflow

    logger = tensorflow().get_logger()
    before = logger.level
    try:
        logger.setLevel(logging.DEBUG)
        with quiet_tensorflow():
            assert logger.level == logging.ERROR
            with quiet_tensorflow():  # nested: still quiet, restored by the outer one
                assert logger.level == logging.ERROR
            assert logger.level == logging.ERROR
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def test_public_methods_that_run_tensorflow_are_quiet():
    for cls in (skgmmvi.EMGaussianMixture, skgmmvi.MLEGaussianMixture,
                skgmmvi.VariationalGMMTarget, GaussianMixture):
        assert getattr(cls.fit, "quiet_tensorflow", False), cls


@pytest.mark.slow
def test_no_tensorflow_noise_after_the_user_imported_tensorflow():
    code = (
        "import sys, numpy as np, tensorflow as tf, skgmmvi;"
        "from skgmmvi.targets import GaussianTarget;"
        "print('MARKER', file=sys.stderr, flush=True);"
        "X = np.random.RandomState(0).randn(200, 2);"
        "skgmmvi.MLEGaussianMixture(2, random_state=0, max_iter=2).fit(X);"
        "skgmmvi.VariationalGMMTarget(GaussianTarget(np.zeros(2), np.eye(2)), max_iter=3,"
        " random_state=0).fit()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    after = done.stderr.split("MARKER", 1)[1]
    # Only Python's own warning from our fit (MLE did not converge in 2 epochs).
    lines = [line for line in after.strip().splitlines() if line.strip()]
    assert lines and all("ConvergenceWarning" in line or "warnings.warn" in line
                         for line in lines), after


def test_warm_up_checks_its_arguments():
    with pytest.raises(ValueError, match="unknown values \\['fulll'\\]"):
        skgmmvi.warm_up(covariance_types=("fulll",))
    # a single name is a name, not its characters ('fulll' was ['f', 'l', 'u'])
    with pytest.raises(ValueError, match="unknown values \\['fulll'\\]"):
        skgmmvi.warm_up(covariance_types="fulll")
    with pytest.raises(ValueError, match="names or sequences of names"):
        skgmmvi.warm_up(dtypes=np.float64)


def test_warm_up_traces_what_a_later_fit_uses(blobs3):
    from skgmmvi._tf import em as backend

    seconds = skgmmvi.warm_up(covariance_types=("diag",))
    assert seconds > 0
    kernel = backend._compiled("em_steps", "diag", "float64")
    traces = kernel.experimental_get_tracing_count()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        EMGaussianMixture(4, covariance_type="diag", backend="tensorflow",
                          random_state=0).fit(blobs3)
    assert kernel.experimental_get_tracing_count() == traces


def test_warm_up_traces_bayesian_loops(blobs3):
    from skgmmvi._tf import em as backend

    skgmmvi.warm_up(covariance_types=("spherical",), estimators=("bayesian",))
    for prior_type in ("dirichlet_process", "dirichlet_distribution"):
        kernel = backend._compiled("em_steps:" + prior_type, "spherical", "float64")
        traces = kernel.experimental_get_tracing_count()
        assert traces == 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            skgmmvi.BayesianGaussianMixture(
                n_components=3, covariance_type="spherical", backend="tensorflow",
                weight_concentration_prior_type=prior_type, random_state=0).fit(blobs3)
        assert kernel.experimental_get_tracing_count() == traces


@pytest.mark.parametrize("n_components", [2, 5])
def test_single_thread_kmeans_gives_sklearns_labels(blobs3, n_components):
    labels, _ = initial_responsibilities("kmeans", blobs3, None, n_components,
                                         np.random.RandomState(3))
    reference = KMeans(n_components, n_init=1, random_state=np.random.RandomState(3))
    with threadpool_limits(limits=2, user_api="openmp"):  # the session runs on one
        assert_array_equal(labels, reference.fit(blobs3).labels_)
