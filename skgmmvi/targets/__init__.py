"""Target densities for :class:`~skgmmvi.VariationalGMMTarget`.

Normalised targets (``log_normalizer == 0``): :class:`GaussianTarget`,
:class:`GaussianMixtureTarget`, :class:`StudentTMixtureTarget`,
:class:`BananaTarget`, :class:`FunnelTarget`. Unnormalised posteriors
(``log_normalizer is None``): :class:`LogisticRegressionPosterior` (and
:func:`breast_cancer_posterior`), :class:`PlanarRobotTarget`,
:class:`MixtureModelPosterior`, :class:`EightSchoolsCentered`,
:class:`EightSchoolsNonCentered`, :class:`StochasticVolatilityPosterior`. Bounded or
positive coordinates: :class:`TransformedTarget`.

Importing this package does not import TensorFlow.
"""

from ._banana import BananaTarget
from ._eight_schools import EightSchoolsCentered, EightSchoolsNonCentered
from ._base import Target
from ._funnel import FunnelTarget
from ._gaussian import GaussianMixtureTarget, GaussianTarget
from .kde import KernelDensityTarget
from ._logistic import (LogisticRegressionPosterior, breast_cancer_design,
                        breast_cancer_posterior)
from ._mixture_posterior import MixtureModelPosterior
from ._robot import PlanarRobotTarget
from ._stochastic_volatility import StochasticVolatilityPosterior, sp500_centred_returns
from ._student_t import StudentTMixtureTarget
from ._transformed import OutsideSupportWarning, TransformedTarget

__all__ = [
    "Target",
    "GaussianTarget",
    "GaussianMixtureTarget",
    "StudentTMixtureTarget",
    "LogisticRegressionPosterior",
    "breast_cancer_design",
    "breast_cancer_posterior",
    "PlanarRobotTarget",
    "BananaTarget",
    "FunnelTarget",
    "MixtureModelPosterior",
    "EightSchoolsCentered",
    "EightSchoolsNonCentered",
    "StochasticVolatilityPosterior",
    "sp500_centred_returns",
    "KernelDensityTarget",
    "TransformedTarget",
    "OutsideSupportWarning",
]
