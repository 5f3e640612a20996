"""BayesianGaussianMixture: parity with sklearn.mixture.BayesianGaussianMixture
(same data and random_state: fitted posterior to 1e-6 relative in float64, same
n_iter_, converged_ and lower bounds), scikit-learn's messages, exact sample
weights and scikit-learn's estimator checks."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgmmvi import BayesianGaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "mean_precision_", "degrees_of_freedom_", "covariance_prior_", "mean_prior_"]
PRIORS = ["weight_concentration_prior_", "mean_precision_prior_",
          "degrees_of_freedom_prior_"]
BACKENDS = ["numpy", "tensorflow"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def small_blobs():
    """150 rows of three 3-D clusters: enough for 4 components, cheap to fit."""
    from conftest import make_blobs3

    return make_blobs3(n_samples=150, seed=1)


def fit_both(X, backend, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(backend=backend, **params).fit(X)
        ref = SklearnBGM(**params).fit(X)
    return ours, ref


def assert_same_fit(ours, ref, rtol=1e-6):
    for name in FITTED:
        a, b = np.asarray(getattr(ours, name)), np.asarray(getattr(ref, name))
        assert a.shape == b.shape, name
        scale = np.max(np.abs(b))
        assert_allclose(a, b, rtol=rtol, atol=rtol * scale * 1e-3, err_msg=name)
    assert type(ours.weight_concentration_) is type(ref.weight_concentration_)
    assert_allclose(np.asarray(ours.weight_concentration_),
                    np.asarray(ref.weight_concentration_), rtol=rtol)
    for name in PRIORS:
        assert getattr(ours, name) == pytest.approx(getattr(ref, name), rel=1e-12)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_
    # scikit-learn's 'tied' bound is an array of shape (1,): compare the values.
    assert_allclose(np.ravel(ours.lower_bound_), np.ravel(ref.lower_bound_), rtol=1e-9)
    assert_allclose(np.ravel(ours.lower_bounds_), np.ravel(ref.lower_bounds_),
                    rtol=1e-9)


# Every init method on numpy; on TensorFlow (whose loop starts from the same
# initial responsibilities) one per covariance and prior type, to stay cheap.
PARITY_CASES = [(backend, covariance_type, prior_type, init_params)
                for backend in BACKENDS
                for covariance_type in COVARIANCE_TYPES
                for prior_type in PRIOR_TYPES
                for init_params in (INIT_PARAMS if backend == "numpy"
                                    else ["k-means++"])]


@pytest.mark.parametrize("backend, covariance_type, prior_type, init_params",
                         PARITY_CASES)
def test_parity_every_covariance_prior_and_init(small_blobs, covariance_type,
                                                prior_type, init_params, backend):
    params = dict(n_components=4, covariance_type=covariance_type,
                  weight_concentration_prior_type=prior_type, init_params=init_params,
                  random_state=3, tol=1e-6, max_iter=300)
    ours, ref = fit_both(small_blobs, backend, **params)
    assert_same_fit(ours, ref)
    Xtest = small_blobs[::5] + 0.3
    assert_allclose(ours.score_samples(Xtest), ref.score_samples(Xtest), rtol=1e-9)
    assert_allclose(ours.predict_proba(Xtest), ref.predict_proba(Xtest), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(Xtest), ref.predict(Xtest))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_user_priors(small_blobs, covariance_type, backend):
    n_features = small_blobs.shape[1]
    covariance_prior = {"full": 2.0 * np.eye(n_features) + 0.1,
                        "tied": 2.0 * np.eye(n_features) + 0.1,
                        "diag": np.array([0.5, 1.0, 2.0]), "spherical": 0.7}
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  weight_concentration_prior=1e-3, mean_precision_prior=0.3,
                  mean_prior=np.array([1.0, -1.0, 0.5]), degrees_of_freedom_prior=4.5,
                  covariance_prior=covariance_prior[covariance_type], tol=1e-6)
    ours, ref = fit_both(small_blobs, backend, **params)
    assert_same_fit(ours, ref)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_n_init_keeps_best(small_blobs, covariance_type, backend):
    params = dict(n_components=4, covariance_type=covariance_type, n_init=3,
                  init_params="random", random_state=3, max_iter=30)
    ours, ref = fit_both(small_blobs, backend, **params)
    assert_same_fit(ours, ref)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_warm_start(small_blobs, covariance_type, backend):
    params = dict(n_components=3, covariance_type=covariance_type, warm_start=True,
                  random_state=0, max_iter=2, init_params="random",
                  weight_concentration_prior_type="dirichlet_distribution")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(backend=backend, **params)
        ref = SklearnBGM(**params)
        for _ in range(3):
            ours.fit(small_blobs)
            ref.fit(small_blobs)
            assert_same_fit(ours, ref)


def test_parity_not_converged_warns(small_blobs, backend):
    params = dict(n_components=3, init_params="random", random_state=0, max_iter=3)
    with pytest.warns(ConvergenceWarning, match="Best performing initialization did "
                                                "not converge"):
        ours = BayesianGaussianMixture(backend=backend, **params).fit(small_blobs)
    with pytest.warns(ConvergenceWarning):
        ref = SklearnBGM(**params).fit(small_blobs)
    assert not ours.converged_
    assert_same_fit(ours, ref)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_max_iter_zero_gives_initialisation(small_blobs, covariance_type,
                                                   backend):
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=0,
                  random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = BayesianGaussianMixture(backend=backend, **params).fit(small_blobs)
        ref = SklearnBGM(**params).fit(small_blobs)
    for name in FITTED:
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-9)
    assert ours.n_iter_ == 0 and not ours.converged_
    assert ours.lower_bound_ == -np.inf and ours.lower_bounds_ == []


def test_sample_and_fit_predict(small_blobs, backend):
    ours, ref = fit_both(small_blobs, backend, n_components=3, random_state=5)
    X_ours, y_ours = ours.sample(40)
    X_ref, y_ref = ref.sample(40)
    assert_allclose(X_ours, X_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(y_ours, y_ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=2,
                                         backend=backend).fit_predict(small_blobs)
        model = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=2,
                                        backend=backend).fit(small_blobs)
    np.testing.assert_array_equal(labels, model.predict(small_blobs))


BAD_PARAMETERS = [
    dict(degrees_of_freedom_prior=1.5),
    dict(mean_prior=[0.0, 1.0]),
    dict(covariance_prior=np.eye(2)),
    dict(covariance_prior=np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),
    dict(covariance_type="tied", covariance_prior=-np.eye(3)),
    dict(covariance_type="diag", covariance_prior=[1.0, 2.0]),
    dict(covariance_type="diag", covariance_prior=[1.0, -2.0, 1.0]),
    dict(weight_concentration_prior=0.0),
    dict(mean_precision_prior=-1.0),
    dict(covariance_type="spherical", covariance_prior=-1.0),
    dict(weight_concentration_prior_type="dirichlet"),
    dict(n_components=0),
]


@pytest.mark.parametrize("bad", BAD_PARAMETERS)
def test_bad_parameters_give_sklearns_message(small_blobs, bad):
    with pytest.raises(Exception) as ref_error:
        SklearnBGM(**bad).fit(small_blobs)
    with pytest.raises(type(ref_error.value)) as our_error:
        BayesianGaussianMixture(**bad).fit(small_blobs)
    assert str(our_error.value) == str(ref_error.value)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_integer_sample_weight_equals_repetition(small_blobs, covariance_type,
                                                 prior_type, backend):
    rng = np.random.RandomState(0)
    counts = rng.randint(0, 4, size=small_blobs.shape[0])
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  weight_concentration_prior_type=prior_type, tol=1e-8,
                  backend=backend)
    weighted = BayesianGaussianMixture(**params).fit(small_blobs,
                                                     sample_weight=counts)
    repeated = BayesianGaussianMixture(**params).fit(np.repeat(small_blobs, counts,
                                                               axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    for name in FITTED + ["lower_bounds_"]:
        assert_allclose(np.asarray(getattr(weighted, name)),
                        np.asarray(getattr(repeated, name)), rtol=1e-9, atol=1e-12,
                        err_msg=name)


def test_weight_scale_matters_through_the_priors(small_blobs):
    """Doubling every weight is doubling the data: the posterior sharpens."""
    model = BayesianGaussianMixture(n_components=2, random_state=0)
    once = model.fit(small_blobs, sample_weight=np.ones(len(small_blobs)))
    once_precision = once.mean_precision_.copy()
    twice = model.fit(small_blobs, sample_weight=np.full(len(small_blobs), 2.0))
    assert_allclose(np.sum(twice.mean_precision_) - 1.0 * 2,
                    2 * (np.sum(once_precision) - 1.0 * 2), rtol=1e-9)


def test_tiny_total_weight_needs_explicit_covariance_prior(small_blobs):
    weights = np.full(len(small_blobs), 0.5 / len(small_blobs))
    with pytest.raises(ValueError, match="needs a total sample weight above 1"):
        BayesianGaussianMixture(n_components=2).fit(small_blobs, sample_weight=weights)
    model = BayesianGaussianMixture(n_components=2, covariance_prior=np.eye(3))
    assert np.all(np.isfinite(model.fit(small_blobs, sample_weight=weights).means_))


def test_float32_input_gives_float32_fit(small_blobs, backend):
    model = BayesianGaussianMixture(n_components=2, random_state=0, backend=backend)
    model.fit(small_blobs.astype(np.float32))
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_",
                 "mean_precision_", "degrees_of_freedom_"]:
        assert getattr(model, name).dtype == np.float32, name
    assert model.weight_concentration_[0].dtype == np.float32
    # float64 rows are scored in float64, as scikit-learn's are
    reference = SklearnBGM(n_components=2, random_state=0).fit(small_blobs.astype(np.float32))
    assert (model.score_samples(small_blobs[:3]).dtype
            == reference.score_samples(small_blobs[:3]).dtype == np.float64)


@parametrize_with_checks([BayesianGaussianMixture(),
                          BayesianGaussianMixture(n_components=3)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_numpy_and_tensorflow_backends_agree_with_weights(small_blobs, covariance_type):
    weight = np.tile([1.0, 2.5, 0.5], len(small_blobs) // 3)
    params = dict(n_components=4, covariance_type=covariance_type, random_state=1,
                  tol=1e-8, max_iter=60, weight_concentration_prior=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [BayesianGaussianMixture(backend=backend, **params).fit(
            small_blobs, sample_weight=weight) for backend in ("numpy", "tensorflow")]
    assert fits[0].n_iter_ == fits[1].n_iter_
    for name in FITTED + ["lower_bounds_"]:
        assert_allclose(np.asarray(getattr(fits[1], name)),
                        np.asarray(getattr(fits[0], name)), rtol=1e-10, atol=1e-13,
                        err_msg=name)


@pytest.fixture(scope="module")
def tf():
    from skgmmvi._tf._runtime import tensorflow

    return tensorflow()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_dataset_input_equals_in_memory_fit(tf, small_blobs, covariance_type, weighted):
    weight = np.tile([1.0, 2.0, 0.5], len(small_blobs) // 3) if weighted else None
    source = small_blobs if weight is None else (small_blobs, weight)
    dataset = tf.data.Dataset.from_tensor_slices(source).batch(32)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  tol=1e-10, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_memory = BayesianGaussianMixture(**params).fit(small_blobs,
                                                          sample_weight=weight)
        streamed = BayesianGaussianMixture(**params).fit(dataset)
    assert streamed.n_iter_ == in_memory.n_iter_
    for name in FITTED + ["lower_bounds_"]:
        assert_allclose(np.asarray(getattr(streamed, name)),
                        np.asarray(getattr(in_memory, name)), rtol=1e-9, atol=1e-12,
                        err_msg=name)


def test_strategy_fit_equals_single_device(tf, small_blobs):
    params = dict(n_components=3, random_state=0, tol=1e-10, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = BayesianGaussianMixture(**params).fit(small_blobs)
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        distributed = BayesianGaussianMixture(strategy=strategy, **params).fit(
            small_blobs)
    assert distributed.n_iter_ == single.n_iter_
    for name in FITTED:
        assert_allclose(np.asarray(getattr(distributed, name)),
                        np.asarray(getattr(single, name)), rtol=1e-9, err_msg=name)


def test_verbose_output_matches_sklearn(small_blobs, capsys, backend):
    params = dict(n_components=3, random_state=0, verbose=1, verbose_interval=2,
                  init_params="random", n_init=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        BayesianGaussianMixture(backend=backend, **params).fit(small_blobs)
        ours = capsys.readouterr().out
        SklearnBGM(**params).fit(small_blobs)
        ref = capsys.readouterr().out
    assert ours == ref
    assert "Iteration 2" in ours


def test_pickle_and_failed_fit_leaves_the_model_as_it_was(small_blobs):
    import pickle

    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(small_blobs)
    restored = pickle.loads(pickle.dumps(model))
    assert_allclose(restored.score_samples(small_blobs), model.score_samples(small_blobs))
    means = model.means_.copy()
    model.set_params(degrees_of_freedom_prior=0.5)
    with pytest.raises(ValueError, match="degrees_of_freedom_prior"):
        model.fit(small_blobs + 1.0)
    np.testing.assert_array_equal(model.means_, means)
    assert model.degrees_of_freedom_prior_ == small_blobs.shape[1]


def test_switched_off_components_give_no_warning_and_sklearns_fit(small_blobs,
                                                                   backend):
    """A tiny concentration prior drives E[log pi_k] of unused components to about
    -1e300: their responsibilities are 0, with no log(0) warnings."""
    params = dict(n_components=6, weight_concentration_prior=1e-300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = BayesianGaussianMixture(backend=backend, **params).fit(small_blobs)
        scores = ours.score_samples(small_blobs)
    ref = SklearnBGM(**params).fit(small_blobs)
    assert np.sum(ref.weights_ > 1e-6) == 3
    assert_same_fit(ours, ref)
    assert_allclose(scores, ref.score_samples(small_blobs), rtol=1e-9)


def test_batch_size_changes_no_result(small_blobs, backend):
    params = dict(n_components=3, random_state=0, tol=1e-8, backend=backend)
    whole = BayesianGaussianMixture(**params).fit(small_blobs)
    chunked = BayesianGaussianMixture(batch_size=16, **params).fit(small_blobs)
    assert chunked.n_iter_ == whole.n_iter_
    for name in FITTED + ["lower_bounds_"]:
        assert_allclose(np.asarray(getattr(chunked, name)),
                        np.asarray(getattr(whole, name)), rtol=1e-10, atol=1e-13,
                        err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bic_and_aic_are_those_of_the_fitted_mixture(covariance_type):
    # scikit-learn's BayesianGaussianMixture has none; ours used n * score(X),
    # whose expected log-weights and log-densities are no density (2526.8
    # against 2487.4 for the mixture itself in the first report)
    rng = np.random.RandomState(3)
    X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) * 0.7 + [2.5, 0],
                   rng.randn(100, 2) * 0.5 + [0, 2.5]])
    fitted = BayesianGaussianMixture(n_components=6, covariance_type=covariance_type,
                                     random_state=0).fit(X)
    same = SklearnGaussianMixture(6, covariance_type=covariance_type)
    same.weights_, same.means_ = fitted.weights_, fitted.means_
    same.covariances_, same.precisions_cholesky_ = (fitted.covariances_,
                                                    fitted.precisions_cholesky_)
    assert fitted.bic(X) == pytest.approx(same.bic(X), rel=1e-13)
    assert fitted.aic(X) == pytest.approx(same.aic(X), rel=1e-13)
    assert fitted.bic(X) != pytest.approx(
        -2 * fitted.score(X) * len(X) + same._n_parameters() * np.log(len(X)), rel=1e-3)


@pytest.mark.parametrize("init_params", ["kmeans", "random", "random_from_data", "k-means++"])
def test_equal_and_zero_integer_weights_equal_repetition(init_params):
    # the priors count rows, so weights 2 are every row twice, and 0/3 weights
    # the rows of weight 3 three times: same start (scikit-learn's draws on the
    # rows present), same fit
    rng = np.random.RandomState(3)
    X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) * 0.7 + [2.5, 0],
                   rng.randn(100, 2) * 0.5 + [0, 2.5]])
    params = dict(n_components=4, random_state=0, init_params=init_params)
    for weights in (np.full(len(X), 2.0), (np.arange(len(X)) % 3 > 0) * 3.0):
        weighted = BayesianGaussianMixture(**params).fit(X, sample_weight=weights)
        repeated = BayesianGaussianMixture(**params).fit(
            np.repeat(X, weights.astype(int), axis=0))
        assert weighted.n_iter_ == repeated.n_iter_
        assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-12)
        assert_allclose(weighted.means_, repeated.means_, rtol=1e-9, atol=1e-12)
