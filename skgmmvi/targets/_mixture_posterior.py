"""Posterior over the parameters of a 1-D Gaussian mixture model (label switching)."""

import numpy as np

from ._base import Target
from ._utils import LOG_2PI, as_points, cast_like, check_rng, tf_module

DEFAULT_DATA = (1.1, 2.1, 2.0, 1.9, 0.0, -0.1, -0.05)


def _log_softmax_last_zero(z):
    """``log softmax([z, 0])`` along the last axis, numpy."""
    ext = np.concatenate([z, np.zeros(z.shape[:-1] + (1,))], axis=-1)
    top = np.max(ext, axis=-1, keepdims=True)
    return ext - top - np.log(np.sum(np.exp(ext - top), axis=-1, keepdims=True))


class MixtureModelPosterior(Target):
    """Posterior of a K-component 1-D Gaussian mixture, in unconstrained coordinates.

    Model: ``pi ~ Dirichlet(concentration * 1_K)``, ``mu_k ~ N(0, mean_prior_scale^2)``,
    ``sigma_k ~ Gamma(shape=sigma_shape, rate=sigma_rate)``, and each data point
    ``x_n ~ sum_k pi_k N(mu_k, sigma_k^2)`` (assignments summed out).

    Coordinates (dimension ``3K - 1``)::

        theta = (mu_1..mu_K, s_1..s_K, z_1..z_{K-1}),
        sigma_k = exp(s_k),  pi = softmax([z_1, ..., z_{K-1}, 0])

    ``pi`` uses the additive log-ratio map (last logit fixed at 0), a bijection
    from R^(K-1) onto the open simplex with ``log|det Jacobian| = sum_k log pi_k``
    (over all K weights); ``sigma = exp(s)`` adds ``s_k``. So::

        log p~(theta) = sum_k [log N(mu_k; 0, mean_prior_scale^2)
                               + log Gamma(sigma_k; sigma_shape, sigma_rate) + s_k]
                        + log Dirichlet(pi; concentration) + sum_k log pi_k
                        + sum_n logsumexp_k [log pi_k + log N(x_n; mu_k, sigma_k^2)]

    The prior part is a normalised density on R^(3K-1); the normaliser of the
    target is the evidence ``p(data)``. The density is invariant under the K!
    relabellings of the components (with z recomputed as
    ``log pi_k - log pi_K`` after permuting pi), since the Jacobian term is
    symmetric in pi; the posterior has K! symmetric copies of every mode.

    Parameters
    ----------
    data : array-like of shape (N,), default=None
        The observations; None uses ``[1.1, 2.1, 2.0, 1.9, 0.0, -0.1, -0.05]``.
    n_components : int, default=3
        K (>= 1).
    mean_prior_scale : float, default=10.0
        Standard deviation of the means' Gaussian prior.
    sigma_shape : float, default=1.0
        Shape of the standard deviations' Gamma prior.
    sigma_rate : float, default=1.0
        Rate of the standard deviations' Gamma prior.
    concentration : float, default=1.0
        Symmetric Dirichlet parameter.

    Attributes
    ----------
    n_features : int
        ``3 * n_components - 1``.
    log_normalizer : None
        Unknown (the log evidence).
    """

    log_normalizer = None

    def __init__(self, data=None, n_components=3, mean_prior_scale=10.0, sigma_shape=1.0,
                 sigma_rate=1.0, concentration=1.0):
        data = np.asarray(DEFAULT_DATA if data is None else data, dtype=np.float64)
        if data.ndim != 1 or data.size == 0 or not np.all(np.isfinite(data)):
            raise ValueError("data must be a non-empty, finite 1-D array.")
        if int(n_components) != n_components or n_components < 1:
            raise ValueError(f"n_components must be a positive integer, got {n_components!r}.")
        for name, value in (("mean_prior_scale", mean_prior_scale), ("sigma_shape", sigma_shape),
                            ("sigma_rate", sigma_rate), ("concentration", concentration)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value!r}.")
        self.data = data
        self.n_components = int(n_components)
        self.mean_prior_scale = float(mean_prior_scale)
        self.sigma_shape = float(sigma_shape)
        self.sigma_rate = float(sigma_rate)
        self.concentration = float(concentration)
        self.n_features = 3 * self.n_components - 1

    # -- the density -------------------------------------------------------

    def graph_parameters(self):
        """The data, K and the prior's four parameters.

        Returns
        -------
        tuple
            ``(data, n_components, mean_prior_scale, sigma_shape, sigma_rate,
            concentration)`` as :meth:`log_density_with` takes them.
        """
        return (self.data, np.int32(self.n_components), np.float64(self.mean_prior_scale),
                np.float64(self.sigma_shape), np.float64(self.sigma_rate),
                np.float64(self.concentration))

    @staticmethod
    def log_density_with(x, data, n_components, mean_prior_scale, sigma_shape, sigma_rate,
                         concentration):
        """Unnormalised log-posterior of each row of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, 3K - 1)
            Points ``theta`` (see the class docstring).
        data : tf.Tensor of shape (N,)
            The observations.
        n_components : tf.Tensor
            K, an int32 scalar.
        mean_prior_scale, sigma_shape, sigma_rate, concentration : tf.Tensor
            The prior's parameters (see the class's parameters).

        Returns
        -------
        tf.Tensor of shape (n,)
            The log prior, Jacobian and log-likelihood of each row.
        """
        tf = tf_module()
        dtype = x.dtype
        data, scale, a, b, c = cast_like(
            x, data, mean_prior_scale, sigma_shape, sigma_rate, concentration)
        k = tf.cast(n_components, tf.int32)
        k_real = tf.cast(k, dtype)
        mu, s, z = x[:, :k], x[:, k:2 * k], x[:, 2 * k:]
        log_pi = tf.nn.log_softmax(tf.concat([z, tf.zeros_like(x[:, :1])], axis=1), axis=1)
        sigma = tf.exp(s)
        # Normalising constants of the prior's factors: mu, sigma, Dirichlet.
        prior_const = (-k_real * (tf.constant(0.5 * LOG_2PI, dtype) + tf.math.log(scale))
                       + k_real * (a * tf.math.log(b) - tf.math.lgamma(a))
                       + tf.math.lgamma(k_real * c) - k_real * tf.math.lgamma(c))
        # Prior of mu; Gamma prior of sigma with the exp Jacobian (a log sigma = a s);
        # Dirichlet with the log-ratio Jacobian: (c - 1 + 1) sum log pi.
        log_prior = (prior_const - tf.reduce_sum(tf.square(mu), axis=1) * (0.5 / tf.square(scale))
                     + tf.reduce_sum(a * s - b * sigma, axis=1)
                     + c * tf.reduce_sum(log_pi, axis=1))
        data = data[None, :, None]  # (1, N, 1)
        white = (data - mu[:, None, :]) / sigma[:, None, :]  # (n, N, K)
        log_comp = (log_pi[:, None, :] - s[:, None, :]
                    - tf.constant(0.5 * LOG_2PI, dtype=dtype) - 0.5 * tf.square(white))
        log_lik = tf.reduce_sum(tf.reduce_logsumexp(log_comp, axis=2), axis=1)
        return log_prior + log_lik

    # -- numpy helpers -----------------------------------------------------

    def unpack(self, theta):
        """Model parameters of ``theta``.

        Parameters
        ----------
        theta : array-like of shape (3K - 1,) or (n, 3K - 1)
            Points in the target's coordinates.

        Returns
        -------
        dict
            ``"mu"``, ``"sigma"`` and ``"pi"``, each of shape (K,) or (n, K).
        """
        theta = as_points(theta, self.n_features, "theta")
        k = self.n_components
        return {"mu": theta[..., :k].copy(), "sigma": np.exp(theta[..., k:2 * k]),
                "pi": np.exp(_log_softmax_last_zero(theta[..., 2 * k:]))}

    def pack(self, mu, sigma, pi):
        """Inverse of :meth:`unpack`: ``theta`` from ``mu``, ``sigma`` and ``pi``.

        Parameters
        ----------
        mu, sigma, pi : array-like of shape (K,) or (n, K)
            ``sigma > 0``; ``pi > 0`` (normalised here).

        Returns
        -------
        ndarray of shape (3K - 1,) or (n, 3K - 1)
            The points in the target's coordinates.
        """
        mu, sigma, pi = (np.asarray(a, dtype=np.float64) for a in (mu, sigma, pi))
        log_pi = np.log(pi)
        z = log_pi[..., :-1] - log_pi[..., -1:]
        return np.concatenate([mu, np.log(sigma), z], axis=-1)

    def prior_sample(self, n, random_state=None):
        """Draw parameter vectors from the prior, in the target's coordinates.

        Parameters
        ----------
        n : int
            Number of parameter vectors.
        random_state : int, RandomState instance or None, default=None
            Seeds the means, standard deviations and weights.

        Returns
        -------
        ndarray of shape (n, 3K - 1)
            The parameter vectors ``theta``.
        """
        rng = check_rng(random_state)
        n, k = int(n), self.n_components
        mu = self.mean_prior_scale * rng.standard_normal((n, k))
        sigma = rng.gamma(self.sigma_shape, 1.0 / self.sigma_rate, size=(n, k))
        # Dirichlet through normalised gammas, kept in log space: log-ratios need
        # no normalisation, and tiny weights do not underflow to log 0.
        log_g = np.log(rng.gamma(self.concentration, 1.0, size=(n, k)))
        return np.concatenate([mu, np.log(sigma), log_g[:, :-1] - log_g[:, -1:]], axis=1)

    def responsibilities(self, theta, points=None):
        """Posterior component probabilities of data points under each ``theta``.

        Parameters
        ----------
        theta : array-like of shape (n, 3K - 1)
            Parameter vectors.
        points : array-like of int, default=None
            Indices into ``data``; None means all points.

        Returns
        -------
        ndarray of shape (n, len(points), K)
            ``r[s, i, k]``: the probability that point i belongs to component k
            under ``theta[s]``.
        """
        theta = np.atleast_2d(as_points(theta, self.n_features, "theta"))
        k = self.n_components
        x = self.data if points is None else self.data[np.asarray(points)]
        mu, s = theta[:, None, :k], theta[:, None, k:2 * k]
        log_pi = _log_softmax_last_zero(theta[:, 2 * k:])[:, None, :]
        log_comp = log_pi - s - 0.5 * ((x[None, :, None] - mu) / np.exp(s)) ** 2
        log_comp -= np.max(log_comp, axis=2, keepdims=True)
        r = np.exp(log_comp)
        return r / np.sum(r, axis=2, keepdims=True)

    def co_assignment_probability(self, theta_samples, i, j, weights=None):
        """Posterior probability that data points ``i`` and ``j`` share a component.

        Estimated as the (importance-)weighted average over ``theta_samples`` of
        ``sum_k r_ik r_jk``, with ``r`` the responsibilities under each sample.
        Unlike the mixture's parameters, this is invariant to label switching.

        Parameters
        ----------
        theta_samples : array-like of shape (n, 3K - 1)
            Samples of the posterior (or of a proposal, with ``weights``).
        i, j : int
            Indices into ``data``.
        weights : array-like of shape (n,), default=None
            Non-negative (e.g. self-normalised importance) weights; None means
            equal weights.

        Returns
        -------
        float
            The estimated probability.
        """
        r = self.responsibilities(theta_samples, [i, j])
        same = np.sum(r[:, 0, :] * r[:, 1, :], axis=1)
        if weights is None:
            return float(np.mean(same))
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != same.shape or np.any(weights < 0) or not np.sum(weights) > 0:
            raise ValueError("weights must be non-negative, not all zero, one per sample.")
        return float(np.sum(weights * same) / np.sum(weights))

    def __repr__(self):
        return (f"MixtureModelPosterior(n_data={self.data.size}, "
                f"n_components={self.n_components})")
