"""What several test files share: small test targets and VI module fixtures.

Test files import from here, never from each other.
"""

import numpy as np

from skgmmvi.targets import Target


def vi_hyperparameters():
    """The hyperparameters the VI modules read in the unit tests (temperature 1)."""
    import tensorflow as tf

    return {"temperature": tf.constant(1.0, tf.float64)}


def mixture_log_density(x, weights, means, covariances):
    """Log-density of a full-covariance Gaussian mixture at the rows of ``x``, by
    scipy (an independent reference for the package's own densities)."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    parts = [np.log(w) + multivariate_normal(m, c).logpdf(x)
             for w, m, c in zip(weights, means, covariances)]
    return logsumexp(parts, axis=0)


def random_spd(rng, d, scale=1.0):
    """A random symmetric positive definite d x d matrix."""
    a = rng.randn(d, d)
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


def state_of(means, covariances, weights=None):
    """Mixture state of the VI backend (tensors) with these components."""
    import tensorflow as tf

    from skgmmvi._tf.vi import mixture

    state = mixture.initial_mixture(np.asarray(means), np.asarray(covariances),
                                    len(means), np.float64)
    if weights is not None:
        state["log_weights"] = np.log(np.asarray(weights, float))
    return {k: tf.constant(v) for k, v in state.items()}


def gaussian_batch(state, x, target_mean, target_precision, counts):
    """Batch of samples of a Gaussian target with its exact values and gradients."""
    import tensorflow as tf

    diff = x - target_mean
    log_density = -0.5 * np.einsum("ni,ij,nj->n", diff, target_precision, diff)
    grad = -diff @ target_precision
    total = np.sum(counts)
    with np.errstate(divide="ignore"):  # a count of 0: that component drew nothing
        background = np.log(np.asarray(counts) / total)
    return {
        "x": tf.constant(x), "log_density": tf.constant(log_density),
        "grad": tf.constant(grad), "valid": tf.constant(np.ones(len(x), bool)),
        "background_log_weights": tf.constant(background),
    }


class GaussianTestTarget(Target):
    """Unnormalised N(mean, covariance): log p~ = -1/2 (x-m)^T P (x-m)."""

    def __init__(self, mean, covariance):
        self.mean = np.asarray(mean, float)
        self.covariance = np.asarray(covariance, float)
        self.n_features = len(self.mean)

    def log_z(self):
        return 0.5 * np.linalg.slogdet(2 * np.pi * self.covariance)[1]

    def _graph_parameters(self):
        return self.mean, np.linalg.inv(self.covariance)

    @staticmethod
    def _log_density_with(x, mean, precision):
        import tensorflow as tf

        diff = x - tf.cast(mean, x.dtype)
        return -0.5 * tf.reduce_sum(tf.matmul(diff, tf.cast(precision, x.dtype)) * diff,
                                    axis=1)

    def log_density(self, x):
        return self._log_density_with(x, *self._graph_parameters())


class GaussianMixtureTestTarget(Target):
    """Normalised Gaussian mixture (so -ELBO = KL(q || p))."""

    def __init__(self, weights, means, covariances):
        self.weights = np.asarray(weights, float)
        self.means = np.asarray(means, float)
        self.covariances = np.asarray(covariances, float)
        self.n_features = self.means.shape[1]

    def _graph_parameters(self):
        chol = np.linalg.cholesky(self.covariances)
        log_norm = (np.log(self.weights) - 0.5 * np.linalg.slogdet(self.covariances)[1]
                    - 0.5 * self.n_features * np.log(2 * np.pi))
        return self.means, chol, log_norm

    @staticmethod
    def _log_density_with(x, means, chol, log_norm):
        import tensorflow as tf

        dtype = x.dtype
        diff = x[None] - tf.cast(means, dtype)[:, None]
        z = tf.linalg.triangular_solve(tf.cast(chol, dtype),
                                       tf.linalg.matrix_transpose(diff), lower=True)
        return tf.reduce_logsumexp(-0.5 * tf.reduce_sum(z**2, axis=1)
                                   + tf.cast(log_norm, dtype)[:, None], axis=0)

    def log_density(self, x):
        return self._log_density_with(x, *self._graph_parameters())


class NanTarget(Target):
    """NaN everywhere, in any dimension."""

    def _graph_parameters(self):
        return (np.zeros(1),)

    @staticmethod
    def _log_density_with(x, unused):
        import tensorflow as tf

        return tf.fill(tf.shape(x)[:1], tf.constant(np.nan, x.dtype))
