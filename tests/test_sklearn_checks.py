"""scikit-learn's own estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgmmvi import EMGaussianMixture, MLEGaussianMixture


@parametrize_with_checks([EMGaussianMixture(), EMGaussianMixture(n_components=3),
                          MLEGaussianMixture(), MLEGaussianMixture(n_components=3)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
