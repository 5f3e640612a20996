"""Parity with sklearn.mixture.GaussianMixture: same data, same random_state,
same fitted parameters to 1e-6 relative (float64), same n_iter_ and converged_.

Every test runs on both execution backends (numpy and TensorFlow)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from skgmmvi import EMGaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
INIT_PARAMS = ["kmeans", "k-means++", "random", "random_from_data"]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


@pytest.fixture(params=["numpy", "tensorflow"])
def backend(request):
    return request.param


def fit_both(X, backend, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = EMGaussianMixture(backend=backend, **params).fit(X)
        ref = GaussianMixture(**params).fit(X)
    return ours, ref


def assert_same_fit(ours, ref, rtol=1e-6):
    for name in FITTED:
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.shape == b.shape, name
        assert a.dtype == b.dtype, name
        scale = np.max(np.abs(b))
        assert_allclose(a, b, rtol=rtol, atol=rtol * scale * 1e-3, err_msg=name)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_
    # The first bound of a point-mass start (k-means++, random_from_data) is
    # about -1e6 and carries the rounding of a 1e-6 variance: 1e-8, not 1e-12.
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-8)
    assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INIT_PARAMS)
def test_parity_every_init_and_covariance(blobs3, covariance_type, init_params,
                                          backend):
    params = dict(n_components=3, covariance_type=covariance_type,
                  init_params=init_params, random_state=7, tol=1e-6, max_iter=200)
    ours, ref = fit_both(blobs3, backend, **params)
    assert_same_fit(ours, ref)
    Xtest = blobs3[::7] + 0.3
    assert_allclose(ours.score_samples(Xtest), ref.score_samples(Xtest), rtol=1e-9)
    assert_allclose(ours.predict_proba(Xtest), ref.predict_proba(Xtest), atol=1e-9)
    assert_allclose(ours.bic(Xtest), ref.bic(Xtest), rtol=1e-9)
    assert_allclose(ours.aic(Xtest), ref.aic(Xtest), rtol=1e-9)
    np.testing.assert_array_equal(ours.predict(Xtest), ref.predict(Xtest))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_n_init_keeps_best(blobs3, covariance_type, backend):
    params = dict(n_components=4, covariance_type=covariance_type, n_init=3,
                  init_params="random", random_state=3, max_iter=30)
    ours, ref = fit_both(blobs3, backend, **params)
    assert_same_fit(ours, ref)


def test_parity_not_converged_and_warning(blobs3, backend):
    params = dict(n_components=3, init_params="random", random_state=0, max_iter=3)
    with pytest.warns(ConvergenceWarning, match="Best performing initialization did "
                                                "not converge"):
        ours = EMGaussianMixture(backend=backend, **params).fit(blobs3)
    ref = GaussianMixture(**params)
    with pytest.warns(ConvergenceWarning):
        ref.fit(blobs3)
    assert not ours.converged_
    assert_same_fit(ours, ref)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_warm_start(blobs3, covariance_type, backend):
    params = dict(n_components=3, covariance_type=covariance_type, warm_start=True,
                  random_state=0, max_iter=2, init_params="random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = EMGaussianMixture(backend=backend, **params)
        ref = GaussianMixture(**params)
        for _ in range(3):
            ours.fit(blobs3)
            ref.fit(blobs3)
            assert_same_fit(ours, ref)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_user_initial_parameters(blobs3, covariance_type, backend):
    reference = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                max_iter=2).fit(blobs3)
    inits = dict(weights_init=np.array([0.2, 0.3, 0.5]),
                 means_init=reference.means_ + 0.5,
                 precisions_init=reference.precisions_)
    params = dict(n_components=3, covariance_type=covariance_type, **inits)
    ours, ref = fit_both(blobs3, backend, **params)
    assert_same_fit(ours, ref)
    # Only some of them given: the others come from the k-means initialisation.
    ours, ref = fit_both(blobs3, backend, n_components=3,
                         covariance_type=covariance_type, random_state=1,
                         means_init=inits["means_init"])
    assert_same_fit(ours, ref)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_max_iter_zero_gives_initialisation(blobs3, covariance_type, backend):
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=0,
                  random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no warning at max_iter=0
        ours = EMGaussianMixture(backend=backend, **params).fit(blobs3)
        ref = GaussianMixture(**params).fit(blobs3)
    for name in FITTED:
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-9)
    assert ours.n_iter_ == 0 and not ours.converged_
    assert ours.lower_bound_ == -np.inf and ours.lower_bounds_ == []


def test_sample_matches_sklearn(blobs3, backend):
    for covariance_type in COVARIANCE_TYPES:
        ours, ref = fit_both(blobs3, backend, n_components=3,
                             covariance_type=covariance_type,
                             random_state=5)
        X_ours, y_ours = ours.sample(50)
        X_ref, y_ref = ref.sample(50)
        assert_allclose(X_ours, X_ref, rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(y_ours, y_ref)
        assert X_ours.shape == (50, 3) and y_ours.dtype == y_ref.dtype


def test_fit_predict_equals_fit_then_predict(blobs3, backend):
    for max_iter in (1, 100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            labels = EMGaussianMixture(3, random_state=0, max_iter=max_iter,
                                       init_params="random",
                                       backend=backend).fit_predict(blobs3)
            model = EMGaussianMixture(3, random_state=0, max_iter=max_iter,
                                      init_params="random", backend=backend).fit(blobs3)
        np.testing.assert_array_equal(labels, model.predict(blobs3))


def test_verbose_output_matches_sklearn(blobs3, capsys, backend):
    params = dict(n_components=3, random_state=0, verbose=1, verbose_interval=2,
                  init_params="random", n_init=2)
    EMGaussianMixture(backend=backend, **params).fit(blobs3)
    ours = capsys.readouterr().out
    GaussianMixture(**params).fit(blobs3)
    ref = capsys.readouterr().out
    assert ours == ref
    assert "Iteration 2" in ours
    EMGaussianMixture(backend=backend, **dict(params, verbose=2)).fit(blobs3)
    assert "ll change" in capsys.readouterr().out
