"""scikit-learn's own estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgmmvi import EMGaussianMixture


@parametrize_with_checks([EMGaussianMixture(), EMGaussianMixture(n_components=3)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
