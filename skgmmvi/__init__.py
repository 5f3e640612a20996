"""skgmmvi: Gaussian mixture models with the scikit-learn API on TensorFlow.

Importing the package is cheap: TensorFlow is imported on the first fit that
needs it (small EM fits and the scoring of fitted models run in numpy and never
import it); :func:`warm_up` pays its start-up and tracing up front.
"""

from ._warm_up import warm_up
from .bayesian import BayesianGaussianMixture
from .em import EMGaussianMixture, GaussianMixture
from .mle import MLEGaussianMixture
from .vi import VariationalGMMTarget

__all__ = ["BayesianGaussianMixture", "EMGaussianMixture", "GaussianMixture", "MLEGaussianMixture",
           "VariationalGMMTarget", "warm_up"]
__version__ = "0.1.0"
