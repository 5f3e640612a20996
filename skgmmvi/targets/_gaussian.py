"""Normalised Gaussian and Gaussian-mixture targets (exact answers known: log Z = 0)."""

import numpy as np

from ._base import Target
from ._utils import (LOG_2PI, as_mean, cast_like, check_n_modes_features, check_rng,
                     cholesky, count_near, precision_cholesky, tf_module)


def _mixture_log_density(x, log_weights, means, prec_chol):
    """Log-density of a full-covariance Gaussian mixture, as TensorFlow ops.

    Uses only its arguments, so that it serves as the one-trace
    ``log_density_with`` of both Gaussian targets.

    Parameters
    ----------
    x : tf.Tensor of shape (n, D)
        Points.
    log_weights : array-like of shape (K,)
        Log-weights of the components.
    means : array-like of shape (K, D)
        Means of the components.
    prec_chol : array-like of shape (K, D, D)
        ``P_k = L_k^{-T}`` with ``L_k`` the Cholesky factor of covariance k.

    Returns
    -------
    tf.Tensor of shape (n,)
        ``log sum_k w_k N(x_i; m_k, Sigma_k)`` for each row ``x_i``.
    """
    tf = tf_module()
    dtype = x.dtype
    log_weights, means, prec_chol = cast_like(x, log_weights, means, prec_chol)
    n_features = tf.cast(tf.shape(means)[1], dtype)
    # Per component: log w_k - D/2 log(2 pi) + sum(log diag P_k).
    const = (log_weights - 0.5 * n_features * tf.constant(LOG_2PI, dtype)
             + tf.reduce_sum(tf.math.log(tf.linalg.diag_part(prec_chol)), axis=1))
    diff = x[:, None, :] - means[None, :, :]
    white = tf.einsum("nkd,kde->nke", diff, prec_chol)
    log_comp = const - 0.5 * tf.reduce_sum(white * white, axis=2)
    return tf.reduce_logsumexp(log_comp, axis=1)


def _sample_mixture(n, weights, means, chol, rng):
    """``n`` draws of a Gaussian mixture with lower Cholesky factors ``chol``."""
    comps = rng.choice(len(weights), size=int(n), p=weights)
    noise = rng.standard_normal((int(n), means.shape[1]))
    return means[comps] + np.einsum("nde,ne->nd", chol[comps], noise)


class GaussianTarget(Target):
    """Normalised multivariate Gaussian ``N(mean, covariance)``.

    The simplest target with a known answer: the optimal one-component
    variational approximation is the target itself and ``log Z = 0``.

    Parameters
    ----------
    mean : array-like of shape (D,)
        The mean.
    covariance : array-like of shape (D, D)
        Symmetric positive definite.

    Attributes
    ----------
    n_features : int
        D, taken from ``mean``.
    log_normalizer : float
        0.0: the density is normalised.
    """

    log_normalizer = 0.0

    def __init__(self, mean, covariance):
        self.mean = as_mean(mean)
        self.covariance = np.asarray(covariance, dtype=np.float64)
        d = self.mean.shape[0]
        if self.covariance.shape != (d, d):
            raise ValueError(f"covariance must have shape ({d}, {d}), "
                             f"got {self.covariance.shape}.")
        self._chol = cholesky(self.covariance)
        self._prec_chol = precision_cholesky(self._chol)
        self.n_features = d

    def graph_parameters(self):
        """Log-weight, mean and precision factor, as a one-component mixture.

        Returns
        -------
        log_weights, means, prec_chol : ndarray
            Shapes (1,), (1, D) and (1, D, D), as :meth:`log_density_with` takes them.
        """
        return np.zeros(1), self.mean[None], self._prec_chol[None]

    log_density_with = staticmethod(_mixture_log_density)

    def sample(self, n, random_state=None):
        """Draw exact samples of the Gaussian.

        Parameters
        ----------
        n : int
            Number of points.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw.

        Returns
        -------
        ndarray of shape (n, D)
            ``mean + L z`` for standard normal ``z``, ``L L^T`` the covariance.
        """
        rng = check_rng(random_state)
        return self.mean + rng.standard_normal((int(n), self.n_features)) @ self._chol.T


class GaussianMixtureTarget(Target):
    """Random, well-separated Gaussian mixture: the "GMM" benchmark of VIPS/gmmvi.

    ``n_modes`` equally weighted components; means uniform in ``[-50, 50]^D``;
    covariance ``A^T A + I`` where ``A`` is D x D with entries ``0.1 * N(0, D^2)``
    (normal with standard deviation D, times 0.1). The density is normalised, so
    the negative ELBO of an approximation is ``KL(q || p) >= 0``.

    Generation is deterministic given ``random_state`` and draws in the same
    order as gmmvi's ``gmm.make_target``: for each component, D uniforms for
    the mean, then D*D normals for ``A``. With an integer seed ``s`` the target
    therefore equals the one gmmvi builds after ``np.random.seed(s)``.

    Parameters
    ----------
    n_features : int, default=20
        Dimension D.
    n_modes : int, default=10
        Number of components.
    random_state : int, RandomState or None, default=0
        Seeds the means and covariances.

    Attributes
    ----------
    weights : ndarray of shape (n_modes,)
    means : ndarray of shape (n_modes, n_features)
    covariances : ndarray of shape (n_modes, n_features, n_features)
    log_normalizer : float
        0.0: the density is normalised.
    """

    log_normalizer = 0.0

    def __init__(self, n_features=20, n_modes=10, random_state=0):
        d, k = check_n_modes_features(n_features, n_modes)
        self.n_features = d
        self.n_modes = k
        self.random_state = random_state
        rng = check_rng(random_state)
        self.weights = np.full(k, 1.0 / k)
        self.means = np.empty((k, d))
        self.covariances = np.empty((k, d, d))
        for i in range(k):
            self.means[i] = 100.0 * (rng.random_sample(d) - 0.5)
            a = 0.1 * rng.normal(0.0, d, d * d).reshape(d, d)
            self.covariances[i] = a.T @ a + np.eye(d)
        self._chol = cholesky(self.covariances, "covariances")
        self._prec_chol = precision_cholesky(self._chol)

    def graph_parameters(self):
        """Log-weights, means and precision factors of the mixture.

        Returns
        -------
        log_weights, means, prec_chol : ndarray
            Shapes (K,), (K, D) and (K, D, D), as :meth:`log_density_with` takes them.
        """
        return np.log(self.weights), self.means, self._prec_chol

    log_density_with = staticmethod(_mixture_log_density)

    def sample(self, n, random_state=None):
        """Draw exact samples of the mixture: a component per point, then its Gaussian.

        Parameters
        ----------
        n : int
            How many points.
        random_state : int, RandomState instance or None, default=None
            Seeds the components and the points.

        Returns
        -------
        ndarray of shape (n, D)
            The samples.
        """
        return _sample_mixture(n, self.weights, self.means, self._chol, check_rng(random_state))

    def count_found_modes(self, means):
        """Number of target modes with one of ``means`` closer than ``||6 * 1_D||``.

        Parameters
        ----------
        means : array-like of shape (m, D)
            Component means of an approximation.

        Returns
        -------
        int
            How many of the ``n_modes`` target means lie within Euclidean
            distance ``6 * sqrt(D)`` of at least one of ``means`` (the
            criterion of gmmvi's "num_detected_modes").
        """
        return count_near(self.means, means, 6.0 * np.sqrt(self.n_features))

    def __repr__(self):
        return (f"GaussianMixtureTarget(n_features={self.n_features}, "
                f"n_modes={self.n_modes}, random_state={self.random_state!r})")
