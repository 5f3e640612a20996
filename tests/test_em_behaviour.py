"""Errors, dtypes, sample weights, memory chunking and failure safety."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

from skgmmvi import EMGaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def error_message(estimator, *args, method="fit", **kwargs):
    with pytest.raises(Exception) as info:
        getattr(estimator, method)(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "params",
    [dict(n_components=0), dict(covariance_type="ful"), dict(tol=-1.0),
     dict(reg_covar=-1e-6), dict(max_iter=-1), dict(n_init=0), dict(init_params="km"),
     dict(verbose_interval=0), dict(dtype="float16"), dict(batch_size=0),
     dict(warm_start="yes")],
)
def test_bad_parameters_raise_invalid_parameter_error(blobs3, params):
    with pytest.raises(InvalidParameterError):
        EMGaussianMixture(**params).fit(blobs3)


def bad_inputs(X):
    nan = X.copy()
    nan[3, 1] = np.nan
    inf = X.copy()
    inf[0, 0] = np.inf
    return {
        "nan": (nan, {}),
        "inf": (inf, {}),
        "one-dimensional": (X[:, 0], {}),
        "one sample": (X[:1], {}),
        "fewer samples than components": (X[:4], dict(n_components=5)),
        "sparse": (sp.csr_matrix(X), {}),
        "empty": (np.empty((0, 3)), {}),
        "bad weights_init shape": (X, dict(n_components=2, weights_init=[1.0])),
        "weights_init out of range": (X, dict(n_components=2, weights_init=[1.5, -0.5])),
        "weights_init not normalised": (X, dict(n_components=2,
                                                weights_init=[0.3, 0.3])),
        "bad means_init shape": (X, dict(n_components=2, means_init=np.zeros((2, 4)))),
        "bad precisions_init shape": (X, dict(n_components=2,
                                              precisions_init=np.ones((2, 3)))),
        "precisions_init not positive definite": (
            X, dict(n_components=2, precisions_init=-np.stack([np.eye(3)] * 2))),
        "diag precisions_init not positive": (
            X, dict(n_components=2, covariance_type="diag",
                    precisions_init=np.zeros((2, 3)))),
    }


@pytest.mark.parametrize("case", list(bad_inputs(np.zeros((5, 3)))))
def test_bad_input_gives_sklearn_error_and_message(blobs3, case):
    X, params = bad_inputs(blobs3)[case]
    ours = error_message(EMGaussianMixture(**params), X)
    ref = error_message(GaussianMixture(**params), X)
    assert ours[0] is ref[0]
    assert ours[1] == ref[1].replace("GaussianMixture", "EMGaussianMixture")


def test_ill_defined_covariance_message():
    X = np.vstack([np.ones((10, 2)), 2 * np.ones((10, 2))])
    for covariance_type in ["full", "tied"]:  # diag types round to tiny variances
        params = dict(n_components=2, reg_covar=0, covariance_type=covariance_type)
        ours = error_message(EMGaussianMixture(**params), X)
        ref = error_message(GaussianMixture(**params), X)
        assert ours == ref
        assert "ill-defined empirical covariance" in ours[1]
    ours = error_message(EMGaussianMixture(n_components=2, reg_covar=0),
                         X.astype(np.float32))
    assert "passing float64 data instead of float32" in ours[1]


def test_prediction_input_checks(blobs3):
    model = EMGaussianMixture(2, random_state=0).fit(blobs3)
    ours = error_message(model, blobs3[:, :2], method="predict")
    ref = error_message(GaussianMixture(2, random_state=0).fit(blobs3), blobs3[:, :2],
                        method="predict")
    assert ours[0] is ValueError and ours[1] == ref[1].replace("GaussianMixture",
                                                               "EMGaussianMixture")
    with pytest.raises(NotFittedError):
        EMGaussianMixture().score_samples(blobs3)
    ours = error_message(model, 0, method="sample")
    ref = error_message(GaussianMixture(2, random_state=0).fit(blobs3), 0, method="sample")
    assert ours == ref and "'n_samples': 2 ." in ref[1]  # scikit-learn's own wording


def test_failed_warm_start_leaves_estimator_as_it_was(blobs3):
    """(A failed fresh fit: tests/test_common.py.)"""
    X = np.vstack([np.ones((10, 3)), 2 * np.ones((10, 3))])
    fitted = EMGaussianMixture(n_components=2, reg_covar=0, warm_start=True,
                               random_state=0).fit(blobs3)
    before = {k: np.copy(v) for k, v in vars(fitted).items() if k.endswith("_")}
    with pytest.raises(ValueError):
        fitted.fit(X)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(fitted, name), value)
    with pytest.raises(ValueError, match="set warm_start=False"):
        fitted.fit(blobs3[:, :2])  # wrong n_features for a warm start
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(fitted, name), value)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_in_float32_out(blobs3, covariance_type):
    X32 = blobs3.astype(np.float32)
    model = EMGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X32)
    for name in ["weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_"]:
        assert getattr(model, name).dtype == np.float32, name
    assert model.score_samples(X32).dtype == np.float32
    assert model.predict_proba(X32).dtype == np.float32
    assert isinstance(model.lower_bound_, np.float32)
    ref = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X32)
    assert_allclose(model.means_, ref.means_, rtol=1e-4, atol=1e-4)
    # float32 compute on float64 data: float32 results close to the float64 fit.
    fast = EMGaussianMixture(3, covariance_type=covariance_type, random_state=0,
                             dtype="float32").fit(blobs3)
    exact = EMGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        blobs3)
    assert fast.means_.dtype == np.float32
    assert_allclose(fast.means_, exact.means_, rtol=1e-4, atol=1e-4)
    assert_allclose(fast.score(blobs3), exact.score(blobs3), rtol=1e-5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random",
                                         "random_from_data"])
def test_integer_weights_equal_repetition(blobs3, covariance_type, init_params):
    rng = np.random.RandomState(0)
    X = blobs3[:120]
    weights = rng.randint(0, 4, size=X.shape[0])
    repeated = np.repeat(X, weights, axis=0)
    order = rng.permutation(X.shape[0])
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  init_params=init_params, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = EMGaussianMixture(**params).fit(X[order], sample_weight=weights[order])
        plain = EMGaussianMixture(**params).fit(repeated)
    for name in ["weights_", "means_", "covariances_"]:
        assert_allclose(getattr(weighted, name), getattr(plain, name), rtol=1e-7,
                        atol=1e-10)
    assert weighted.n_iter_ == plain.n_iter_
    assert_allclose(weighted.lower_bound_, plain.lower_bound_, rtol=1e-10)


def test_unit_weights_are_sklearn(blobs3):
    ours = EMGaussianMixture(3, random_state=4).fit(blobs3, sample_weight=np.ones(500))
    ref = GaussianMixture(3, random_state=4).fit(blobs3)
    assert_allclose(ours.means_, ref.means_, rtol=1e-6)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random",
                                         "random_from_data"])
def test_equal_weights_and_zero_weights_take_sklearns_path(init_params):
    # Equal weights are no weights, and a row of weight zero is absent: before,
    # weights 3 (rescaled to 1.5) and 0/1 weights took the distinct-rows start
    # and reached another local optimum (lower bound -3.0877 against -3.0934)
    rng = np.random.RandomState(3)
    X = np.vstack([rng.randn(100, 2), rng.randn(100, 2) * 0.7 + [2.5, 0],
                   rng.randn(100, 2) * 0.5 + [0, 2.5]])
    present = np.arange(X.shape[0]) % 3 > 0
    params = dict(n_components=4, random_state=1, init_params=init_params)
    for weights, rows in ((np.full(X.shape[0], 3.0), X), (np.full(X.shape[0], 0.3), X),
                          (present * 1.0, X[present]), (present * 7.0, X[present])):
        ours = EMGaussianMixture(**params).fit(X, sample_weight=weights)
        ref = GaussianMixture(**params).fit(rows)
        for name in ("weights_", "means_", "covariances_"):
            assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-10, atol=1e-12)
        assert ours.n_iter_ == ref.n_iter_
        assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-12)
    # every row repeated alike is the same empirical distribution: the same start
    repeated = EMGaussianMixture(**params).fit(np.repeat(X, 3, axis=0))
    ref = GaussianMixture(**params).fit(X)
    assert_allclose(repeated.means_, ref.means_, rtol=1e-10, atol=1e-12)


def test_fractional_weights_are_a_weighted_likelihood(blobs3):
    rng = np.random.RandomState(1)
    weights = rng.uniform(0.1, 2.0, size=blobs3.shape[0])
    model = EMGaussianMixture(3, random_state=0, tol=1e-10, max_iter=500).fit(
        blobs3, sample_weight=weights)
    # At a fixed point of weighted EM the means are responsibility-and-weight
    # averages of the data.
    resp = model.predict_proba(blobs3) * weights[:, None]
    means = resp.T @ blobs3 / resp.sum(axis=0)[:, None]
    assert_allclose(model.means_, means, rtol=1e-6)
    with pytest.raises(ValueError, match="Negative values in data passed to "
                                         "`sample_weight`"):
        model.fit(blobs3, sample_weight=np.r_[-1.0, weights[1:]])
    with pytest.raises(ValueError, match="at least one non-zero"):
        model.fit(blobs3, sample_weight=np.zeros(blobs3.shape[0]))


@pytest.mark.parametrize("estimator", ["em", "mle", "bayesian"])
def test_fewer_weighted_rows_than_components_is_refused_as_fewer_rows(blobs3, estimator):
    from skgmmvi import BayesianGaussianMixture, MLEGaussianMixture

    make = {"em": EMGaussianMixture, "mle": MLEGaussianMixture,
            "bayesian": lambda k: BayesianGaussianMixture(n_components=k)}[estimator]
    weights = np.zeros(blobs3.shape[0])
    weights[[3, 70]] = 1.0
    # zero weights drop rows: the error scikit-learn gives for the two rows left
    with pytest.raises(ValueError, match="n_components = 3, n_samples = 2") as sklearn_error:
        GaussianMixture(3).fit(blobs3[[3, 70]])
    with pytest.raises(ValueError, match=str(sklearn_error.value) + r" \(rows with a "
                       "positive sample_weight"):
        make(3).fit(blobs3, sample_weight=weights)
    weights[100] = 1e-3
    assert np.isfinite(make(3).fit(blobs3, sample_weight=weights).score(blobs3))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_batch_size_does_not_change_the_fit(blobs3, covariance_type):
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  init_params="random")
    whole = EMGaussianMixture(**params, batch_size=10_000).fit(blobs3)
    chunked = EMGaussianMixture(**params, batch_size=37).fit(blobs3)
    assert_allclose(chunked.means_, whole.means_, rtol=1e-10)
    assert_allclose(chunked.covariances_, whole.covariances_, rtol=1e-9)
    assert chunked.n_iter_ == whole.n_iter_
    assert_allclose(chunked.score_samples(blobs3), whole.score_samples(blobs3),
                    rtol=1e-12)


def test_import_and_fit_print_no_tensorflow_noise():
    import subprocess
    import sys

    code = ("import numpy as np, skgmmvi;"
            "skgmmvi.EMGaussianMixture(2, random_state=0).fit(np.random.randn(50, 2))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == "", done.stderr
    lazy = subprocess.run([sys.executable, "-c", "import sys, skgmmvi; "
                           "print('tensorflow' in sys.modules)"],
                          capture_output=True, text=True, timeout=300)
    assert lazy.stdout.strip() == "False"


def test_float32_survives_narrow_components():
    # 16 components of ~60 rows in 16-D: some collapse to a handful of points and
    # their covariances sit at the reg_covar floor, where float32 moments break.
    rng = np.random.RandomState(0)
    n_features = n_components = 16
    centres = 3 * rng.randn(n_components, n_features)
    X = np.vstack([rng.randn(62, n_features) + c for c in centres]).astype(np.float32)
    init = dict(weights_init=np.full(n_components, 1 / n_components),
                means_init=X[rng.choice(len(X), n_components, replace=False)],
                precisions_init=np.stack([np.linalg.inv(np.cov(X.T.astype(float)))]
                                         * n_components))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = EMGaussianMixture(n_components, max_iter=10, tol=0, dtype="float32",
                                 **init).fit(X)
        exact = GaussianMixture(n_components, max_iter=10, tol=0, **init).fit(
            X.astype(np.float64))
    # float64 statistics: as close to the float64 fit as float32 outputs allow
    # (scikit-learn's own float32 fit is 1e-4 away here).
    assert_allclose(ours.score(X), exact.score(X.astype(np.float64)), rtol=1e-6)
    assert_allclose(ours.means_, exact.means_, rtol=1e-4, atol=1e-4)


def test_scores_have_the_dtype_of_rows_and_parameters_together(blobs3):
    # as scikit-learn's arithmetic gives it: a float32 fit scoring float64 rows
    # returned float32 here and float64 there
    for fit_rows, rows in ((np.float32, np.float64), (np.float64, np.float32),
                           (np.float32, np.float32)):
        ours = EMGaussianMixture(2, random_state=0).fit(blobs3.astype(fit_rows))
        ref = GaussianMixture(2, random_state=0).fit(blobs3.astype(fit_rows))
        X = blobs3.astype(rows)
        assert ours.score_samples(X).dtype == ref.score_samples(X).dtype
        assert ours.predict_proba(X).dtype == ref.predict_proba(X).dtype
