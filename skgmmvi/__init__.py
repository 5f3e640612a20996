"""skgmmvi: Gaussian mixture models with the scikit-learn API on TensorFlow.

Importing the package is cheap: TensorFlow is imported on the first fit.
"""

from .em import EMGaussianMixture
from .mle import MLEGaussianMixture
from .vi import VariationalGMMTarget

__all__ = ["EMGaussianMixture", "MLEGaussianMixture", "VariationalGMMTarget"]
__version__ = "0.1.0"
