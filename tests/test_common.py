"""What every estimator must do, tested once over all of them: clone, pickle and
joblib round trips, numpy-only fitted state, a failed fit leaves the estimator as
it was, float32 in and out, no retracing for new data sizes.

Each estimator is described by an :class:`Case`: how to build it small and how to
make a fit fail part-way (after validation has already reset fitted state).
"""

import pickle
import warnings
from dataclasses import dataclass, field
from typing import Callable

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from skgmmvi import EMGaussianMixture, MLEGaussianMixture, VariationalGMMTarget

from helpers import NanTarget, mixture_log_density

FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_")


def collapsed_rows():
    """Two features, three repeated points: three components with reg_covar=0
    collapse onto them."""
    return np.repeat([[1.0, 1.0], [2.0, 2.0], [3.0, 1.0]], 7, axis=0)


@dataclass
class Case:
    """An estimator under test: ``make(**overrides)``, and ``failure``: parameters
    and rows with which ``fit`` fails after validating the rows, and the message."""

    make: Callable
    failure: Callable
    match: str
    rows: Callable = field(default=lambda X: X)


CASES = {
    "em_numpy": Case(
        lambda **kw: EMGaussianMixture(**{"n_components": 3, "random_state": 0,
                                          "backend": "numpy", **kw}),
        lambda X: ({"reg_covar": 0}, collapsed_rows()), "ill-defined empirical"),
    "em_tensorflow": Case(
        lambda **kw: EMGaussianMixture(**{"n_components": 3, "random_state": 0,
                                          "backend": "tensorflow", **kw}),
        lambda X: ({"reg_covar": 0}, collapsed_rows()), "ill-defined empirical"),
    "mle": Case(
        lambda **kw: MLEGaussianMixture(**{"n_components": 3, "random_state": 0,
                                           "max_iter": 20, **kw}),
        lambda X: ({"optimizer": "sgd", "learning_rate": 1e12, "max_iter": 5},
                   X[:, :2] * 1e3), "smaller learning_rate"),
    "vi": Case(
        lambda **kw: VariationalGMMTarget(**{"n_components": 2, "random_state": 0,
                                             "max_iter": 20,
                                             "n_samples_per_component": 50, **kw}),
        lambda X: ({"target": NanTarget()}, X), "NaN or infinite at all",
        rows=lambda X: X[::4]),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    return CASES[request.param]


def quiet_fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits: convergence and k-hat warnings
        return model.fit(X)


@pytest.fixture(scope="module")
def fitted(case, blobs3):
    X = case.rows(blobs3)
    return quiet_fit(case.make(), X), X


def test_clone_pickle_and_joblib_round_trips(case, fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    for other in (pickle.loads(pickle.dumps(model)), joblib.load(path)):
        np.testing.assert_array_equal(other.score_samples(X), model.score_samples(X))
        np.testing.assert_array_equal(other.predict(X), model.predict(X))
    fresh = clone(model)
    assert not hasattr(fresh, "means_") and fresh.get_params() == model.get_params()
    # everything comes from random_state: a clone refits to the same model
    np.testing.assert_array_equal(quiet_fit(fresh, X).means_, model.means_)


def test_fitted_state_is_numpy_only(fitted):
    model, _ = fitted
    for name, value in vars(model).items():
        module = type(value).__module__
        assert "tensorflow" not in module and "keras" not in module, name
    for name in FITTED_ARRAYS:
        assert type(getattr(model, name)) is np.ndarray, name


def test_failed_fit_leaves_the_estimator_as_it_was(case, fitted):
    model, X = fitted
    model = pickle.loads(pickle.dumps(model))
    before = {name: np.copy(value) if isinstance(value, np.ndarray) else value
              for name, value in vars(model).items()}
    parameters, bad_rows = case.failure(X)
    params_before = model.get_params()
    model.set_params(**parameters)
    with pytest.raises(ValueError, match=case.match):
        model.fit(bad_rows)
    model.set_params(**params_before)
    assert set(vars(model)) == set(before)
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(model, name), value, err_msg=name)
    assert model.n_features_in_ == X.shape[1]
    # an unfitted estimator stays unfitted
    fresh = case.make(**parameters)
    with pytest.raises(ValueError, match=case.match):
        fresh.fit(bad_rows)
    assert not hasattr(fresh, "means_") and not hasattr(fresh, "n_features_in_")


INTEGER_ROWS = np.array([[0, 0, 0], [4, 1, -1], [-2, 5, 3], [1, -2, 2]])


def test_sample_of_no_rows_names_the_value_passed(case, fitted):
    """scikit-learn's message shows ``n_components`` as the invalid value; the
    drop-ins repeat it word for word (tests/test_em_behaviour.py), the others
    report what was passed."""
    model, _ = fitted
    shown = model.means_.shape[0] if model._SKLEARN_SAMPLE_MESSAGE else 0
    assert model._SKLEARN_SAMPLE_MESSAGE == isinstance(model, EMGaussianMixture)
    with pytest.raises(ValueError, match=f"Invalid value for 'n_samples': {shown} . The "
                                         "sampling requires at least one sample."):
        model.sample(0)


def test_integer_rows_are_scored_exactly(fitted):
    """Integer rows score as their float values (scikit-learn 1.9 scores integer
    rows of a 'full' or 'tied' model in an integer array, truncating each squared
    distance: its score_samples of [[0, 0]] can be 0.2 off)."""
    model, _ = fitted
    floats = INTEGER_ROWS.astype(np.float64)
    np.testing.assert_allclose(model.score_samples(INTEGER_ROWS),
                               mixture_log_density(floats, model.weights_, model.means_,
                                                   model.covariances_), rtol=1e-10)
    np.testing.assert_array_equal(model.predict_proba(INTEGER_ROWS), model.predict_proba(floats))


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("estimator", ["GaussianMixture", "BayesianGaussianMixture"])
def test_integer_rows_score_as_scikit_learn_scores_their_float_values(
        estimator, covariance_type, blobs3):
    import sklearn.mixture

    import skgmmvi

    ours, reference = (quiet_fit(getattr(library, estimator)(
        n_components=3, covariance_type=covariance_type, random_state=0), blobs3)
        for library in (skgmmvi, sklearn.mixture))
    floats = INTEGER_ROWS.astype(np.float64)
    np.testing.assert_allclose(ours.score_samples(INTEGER_ROWS),
                               reference.score_samples(floats), rtol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(INTEGER_ROWS),
                               reference.predict_proba(floats), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("how", ["float32 rows", "dtype='float32'"])
def test_float32_in_float32_out(case, blobs3, how):
    X = case.rows(blobs3)
    if how == "float32 rows":
        model = quiet_fit(case.make(), X.astype(np.float32))
    else:
        model = quiet_fit(case.make(dtype="float32"), X)
    for name in FITTED_ARRAYS:
        assert getattr(model, name).dtype == np.float32, name
    # dtype='float32' scores in float32; a fit on float32 rows scores float64
    # rows in float64, as scikit-learn's does
    expected = np.float32 if how == "dtype='float32'" else np.float64
    assert model.score_samples(X).dtype == expected
    assert model.predict_proba(X).dtype == expected
    assert model.score_samples(X.astype(np.float32)).dtype == np.float32


def test_float32_weights_summing_past_one_in_float64_still_sample(case, blobs3):
    # weights that sum to one in float32 (as a float32 fit leaves them) but to
    # 1 + 3e-8 once cast to float64: numpy's multinomial refused them
    model = quiet_fit(case.make(dtype="float32"), case.rows(blobs3))
    k = model.weights_.shape[0]
    assert k >= 3  # numpy checks the sum of all but the last probability
    weights = np.zeros(k, np.float32)
    weights[:2] = np.float32(1 / 3), np.float32(2 / 3)
    assert np.sum(weights) == 1 and np.sum(weights, dtype=np.float64) > 1 + 1e-12
    model.weights_ = weights
    _, labels = model.sample(30000)
    assert set(np.unique(labels)) <= {0, 1}
    assert abs(np.mean(labels == 0) - 1 / 3) < 0.01


def tracing_counts(algorithm):
    from skgmmvi._tf.compile_cache import COMPILED

    return {key: function.experimental_get_tracing_count()
            for key, function in zip(COMPILED.keys(), COMPILED.functions())
            if key[0] == algorithm
            and hasattr(function, "experimental_get_tracing_count")}


ALGORITHM = {"em_tensorflow": "em", "mle": "mle", "vi": "vi"}


@pytest.mark.parametrize("name", sorted(ALGORITHM))
def test_new_sizes_do_not_retrace(name, blobs3):
    """New numbers of rows, features and components reuse the compiled functions."""
    case = CASES[name]
    X = case.rows(blobs3)
    quiet_fit(case.make(max_iter=2), X)
    before = tracing_counts(ALGORITHM[name])
    assert before
    rng = np.random.RandomState(1)
    for n_rows, n_features, n_components in [(len(X) // 2, 2, 2), (len(X) + 37, 4, 4)]:
        rows = rng.randn(n_rows, n_features) + 4 * rng.randint(3, size=(n_rows, 1))
        quiet_fit(case.make(max_iter=2, n_components=n_components), rows)
    after = tracing_counts(ALGORITHM[name])
    assert {key: after[key] for key in before} == before

