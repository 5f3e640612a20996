"""scikit-learn's own estimator checks for VariationalGMMTarget, no expected failures.

``VariationalGMMTarget()`` fits the kernel density estimate of the data it is
given; the second instance has a dimension-agnostic target (the funnel), whose
dimension comes from the X of each check.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgmmvi import VariationalGMMTarget
from skgmmvi.targets import FunnelTarget

ESTIMATORS = [VariationalGMMTarget(),
              VariationalGMMTarget(FunnelTarget(n_features=None), max_iter=50)]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
