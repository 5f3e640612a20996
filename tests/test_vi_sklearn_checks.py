"""scikit-learn's own estimator checks for VariationalGMMTarget, no expected failures.

``VariationalGMMTarget()`` fits the kernel density estimate of the data it is given.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgmmvi import VariationalGMMTarget


@parametrize_with_checks([VariationalGMMTarget()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
