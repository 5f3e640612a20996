"""MLEGaussianMixture and VariationalGMMTarget as scikit-learn citizens."""

import pickle
import warnings

import numpy as np
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgmmvi import MLEGaussianMixture, VariationalGMMTarget


def test_mle_grid_search_and_pipeline(blobs3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(MLEGaussianMixture(random_state=0),
                              {"n_components": [1, 2, 3, 4]}, cv=3).fit(blobs3)
    assert search.best_params_ == {"n_components": 3}
    pipe = make_pipeline(StandardScaler(), MLEGaussianMixture(3, random_state=0))
    pipe.fit(blobs3)
    assert len(np.unique(pipe.predict(blobs3))) == 3


def test_vi_on_data_in_a_pipeline_and_grid_search(blobs3):
    X = blobs3[::4]  # 125 rows: the KDE target is cheap
    small = dict(max_iter=30, n_samples_per_component=50, random_state=0)
    pipe = make_pipeline(StandardScaler(), VariationalGMMTarget(**small)).fit(X)
    assert np.isfinite(pipe.score(X))
    search = GridSearchCV(VariationalGMMTarget(adaptive_components=False, **small),
                          {"n_components": [1, 3]}, cv=2).fit(X)
    assert search.best_params_["n_components"] in (1, 3)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    model = search.best_estimator_
    restored = pickle.loads(pickle.dumps(model))
    assert_allclose(restored.score_samples(X), model.score_samples(X))
    assert_allclose(clone(model).fit(X).means_, model.means_)
