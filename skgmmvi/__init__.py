"""skgmmvi: Gaussian mixture models with the scikit-learn API on TensorFlow.

Importing the package is cheap: TensorFlow is imported on the first fit.
"""

from .em import EMGaussianMixture

__all__ = ["EMGaussianMixture"]
__version__ = "0.1.0"
