"""The estimator as a scikit-learn citizen: pipelines, search, persistence, pandas."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgmmvi import EMGaussianMixture


def test_pipeline_with_scaler(blobs3):
    X = blobs3 * [1.0, 100.0, 0.01] + [0.0, 1e3, -5.0]
    pipe = make_pipeline(StandardScaler(), EMGaussianMixture(3, random_state=0)).fit(X)
    labels = pipe.predict(X)
    assert len(np.unique(labels)) == 3
    direct = EMGaussianMixture(3, random_state=0).fit(StandardScaler().fit_transform(X))
    assert_allclose(pipe.score_samples(X), direct.score_samples(
        StandardScaler().fit_transform(X)), rtol=1e-10)


def test_grid_search_picks_true_number_of_components(blobs3):
    search = GridSearchCV(EMGaussianMixture(random_state=0),
                          {"n_components": [1, 2, 3, 4, 5]}, cv=3).fit(blobs3)
    assert search.best_params_ == {"n_components": 3}
    bic = [EMGaussianMixture(k, random_state=0).fit(blobs3).bic(blobs3)
           for k in range(1, 6)]
    assert int(np.argmin(bic)) + 1 == 3


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_clone_pickle_joblib_round_trips(blobs3, tmp_path, covariance_type):
    model = EMGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        blobs3)
    fresh = clone(model)
    assert not hasattr(fresh, "means_") and fresh.get_params() == model.get_params()
    restored = pickle.loads(pickle.dumps(model))
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    loaded = joblib.load(path)
    for other in (restored, loaded):
        assert_allclose(other.score_samples(blobs3), model.score_samples(blobs3))
        np.testing.assert_array_equal(other.predict(blobs3), model.predict(blobs3))
    # A clone refits to the same model: everything comes from random_state.
    assert_allclose(fresh.fit(blobs3).means_, model.means_)


def test_pandas_dataframe_input(blobs3):
    frame = pd.DataFrame(blobs3, columns=["length", "width", "depth"])
    model = EMGaussianMixture(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, ["length", "width", "depth"])
    with pytest.warns(UserWarning, match="feature names"):
        assert_allclose(model.score_samples(frame), model.score_samples(blobs3))
    renamed = frame.rename(columns={"depth": "height"})
    with pytest.raises(ValueError, match="feature names"):
        model.predict(renamed)
    weights = pd.Series(np.ones(len(frame)))
    assert_allclose(EMGaussianMixture(3, random_state=0).fit(frame, sample_weight=weights)
                    .means_, model.means_)


def test_memmap_input(blobs3, tmp_path):
    path = tmp_path / "rows.dat"
    mapped = np.memmap(path, dtype=np.float64, mode="w+", shape=blobs3.shape)
    mapped[:] = blobs3
    mapped.flush()
    readonly = np.memmap(path, dtype=np.float64, mode="r", shape=blobs3.shape)
    model = EMGaussianMixture(3, random_state=0).fit(readonly)
    assert_allclose(model.means_, EMGaussianMixture(3, random_state=0).fit(blobs3).means_)
