"""The eight-schools hierarchical model, centred parameterisation."""

import math

import numpy as np

from ._base import Target
from ._utils import LOG_2PI, tf_module

#: Estimated coaching effects and their standard errors (Rubin 1981; Gelman et
#: al., Bayesian Data Analysis, 3rd ed., sec. 5.5).
EFFECTS = (28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0)
STANDARD_ERRORS = (15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0)


class EightSchoolsCentered(Target):
    """Posterior of the centred eight-schools model, in unconstrained coordinates.

    Model (posteriordb's ``eight_schools_centered``)::

        mu ~ N(0, mean_prior_scale^2),   tau ~ half-Cauchy(0, tau_prior_scale),
        theta_j ~ N(mu, tau^2),          y_j ~ N(theta_j, sigma_j^2),  j = 1..8.

    Coordinates ``(mu, log tau, theta_1, ..., theta_8)`` (D = 10), with the
    log-Jacobian ``log tau`` of ``tau = exp(s)``. For small ``tau`` the thetas
    are squeezed around ``mu``: a funnel, the classic hard case for samplers.
    The prior is normalised, so the normaliser is the evidence ``p(y)``.

    Given ``tau``, ``(mu, theta)`` is Gaussian, so exact posterior moments
    follow from a 1-D quadrature over ``tau``: :meth:`posterior_moments`.

    Parameters
    ----------
    mean_prior_scale : float, default=5.0
        Standard deviation ``m`` of the Gaussian prior of ``mu``.
    tau_prior_scale : float, default=5.0
        Scale of the half-Cauchy prior of ``tau``.

    Attributes
    ----------
    n_features : int
        10.
    log_normalizer : None
        The log evidence (see :meth:`posterior_moments`).
    """

    log_normalizer = None
    n_features = 10

    def __init__(self, mean_prior_scale=5.0, tau_prior_scale=5.0):
        for name, value in (("mean_prior_scale", mean_prior_scale),
                            ("tau_prior_scale", tau_prior_scale)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value!r}.")
        self.mean_prior_scale = float(mean_prior_scale)
        self.tau_prior_scale = float(tau_prior_scale)
        self.effects = np.asarray(EFFECTS)
        self.standard_errors = np.asarray(STANDARD_ERRORS)

    def _log_tau_prior(self, s, exp, log1p_square):
        """Half-Cauchy log-density of ``tau = e^s`` plus the Jacobian ``s``."""
        a = self.tau_prior_scale
        return math.log(2.0 / (math.pi * a)) - log1p_square(exp(s) / a) + s

    def log_density(self, x):
        """Unnormalised log-posterior of each row of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, 10)
            Points ``(mu, log tau, theta_1, ..., theta_8)``.

        Returns
        -------
        tf.Tensor of shape (n,)
            The log prior (with the Jacobian of ``log tau``) plus the
            log-likelihood of each row.
        """
        tf = tf_module()
        mu, s, theta = x[:, 0], x[:, 1], x[:, 2:]
        log_mu, log_tau, log_y = self._shared_log_terms(mu, s, theta)
        white = (theta - mu[:, None]) * tf.exp(-s)[:, None]
        log_theta = tf.reduce_sum(-0.5 * LOG_2PI - s[:, None] - 0.5 * tf.square(white),
                                  axis=1)
        return log_mu + log_tau + log_theta + log_y

    def _shared_log_terms(self, mu, s, theta):
        """The terms both parameterisations share (TensorFlow, shape (n,) each):
        the log priors of ``mu`` and of ``s = log tau`` (with its Jacobian),
        and the log-likelihood of ``y`` given the effects ``theta`` (n, 8)."""
        tf = tf_module()
        dtype = theta.dtype
        y = tf.constant(self.effects, dtype)
        sigma = tf.constant(self.standard_errors, dtype)
        log_mu = (-0.5 * LOG_2PI - math.log(self.mean_prior_scale)
                  - 0.5 * tf.square(mu / self.mean_prior_scale))
        log_tau = self._log_tau_prior(s, tf.exp, lambda t: tf.math.log1p(tf.square(t)))
        log_y = tf.reduce_sum(-0.5 * LOG_2PI - tf.math.log(sigma)
                              - 0.5 * tf.square((y - theta) / sigma), axis=1)
        return log_mu, log_tau, log_y

    def _posterior_grid(self, n_grid):
        """The posterior over a grid of ``s = log tau`` in ``[-12, 8]`` and the
        Gaussian ``(mu, theta) | y, tau`` at each point (see
        :meth:`posterior_moments`): a dict of ``s``, trapezoid ``weights``
        (summing to one), ``log_evidence``, ``mu_mean``, ``mu_var`` (G,),
        ``theta_mean`` (G, 8; ``mu`` marginalised), ``theta_noise_var`` (G, 8:
        the variance of ``theta_j`` given ``mu``) and ``shrink`` (G, 8:
        ``theta_j``'s weight on ``mu``)."""
        s = np.linspace(-12.0, 8.0, n_grid)
        tau2 = np.exp(2.0 * s)[:, None]
        y, var_y, m2 = self.effects, self.standard_errors ** 2, self.mean_prior_scale ** 2
        marginal_var = var_y[None, :] + tau2  # (G, 8): y_j | mu, tau
        # mu | y, tau: Gaussian with precision 1/m2 + sum 1/marginal_var
        mu_precision = 1.0 / m2 + np.sum(1.0 / marginal_var, axis=1)
        mu_var = 1.0 / mu_precision
        mu_mean = mu_var * np.sum(y / marginal_var, axis=1)
        # log p(y | tau): the Gaussian integral over mu
        log_lik = (-0.5 * np.sum(LOG_2PI + np.log(marginal_var) + y ** 2 / marginal_var,
                                 axis=1)
                   - 0.5 * math.log(m2) - 0.5 * np.log(mu_precision)
                   + 0.5 * mu_mean ** 2 * mu_precision)
        log_post = self._log_tau_prior(s, np.exp, lambda t: np.log1p(t ** 2)) + log_lik
        step = s[1] - s[0]
        top = np.max(log_post)
        weights = np.exp(log_post - top)
        weights[[0, -1]] *= 0.5
        log_evidence = float(top + math.log(np.sum(weights) * step))
        # theta_j | mu, y, tau: precision 1/tau^2 + 1/sigma_j^2; linear in mu
        shrink = var_y[None, :] / marginal_var  # weight of mu
        return {"s": s, "weights": weights / np.sum(weights), "log_evidence": log_evidence,
                "mu_mean": mu_mean, "mu_var": mu_var, "shrink": shrink,
                "theta_mean": shrink * mu_mean[:, None] + (1.0 - shrink) * y[None, :],
                "theta_noise_var": 1.0 / (1.0 / tau2 + 1.0 / var_y[None, :])}

    def _group_moments(self, grid):
        """Means and second moments of the eight group coordinates at each grid
        point, ``(G, 8)`` each: here ``theta_j``."""
        variance = grid["theta_noise_var"] + grid["shrink"] ** 2 * grid["mu_var"][:, None]
        return grid["theta_mean"], variance + grid["theta_mean"] ** 2

    def posterior_moments(self, n_grid=20001):
        """Exact posterior means and standard deviations, and the log evidence.

        For each ``tau`` on a grid over ``s = log tau`` (trapezoid rule), ``y``
        is marginally ``N(0, diag(sigma^2 + tau^2) + m^2 1 1^T)`` and
        ``(mu, theta) | y, tau`` Gaussian, so the moments of ``mu`` and ``theta``
        are mixtures over the grid of closed forms.

        Parameters
        ----------
        n_grid : int, default=20001
            Points of the grid over ``log tau`` in ``[-12, 8]``.

        Returns
        -------
        means, sds : ndarray of shape (10,)
            In the target's coordinates (``mu``, ``log tau``, then the eight
            group coordinates).
        log_evidence : float
            The log normaliser of the target.
        """
        grid = self._posterior_grid(n_grid)
        weights, s, mu_mean = grid["weights"], grid["s"], grid["mu_mean"]
        group_mean, group_second = self._group_moments(grid)
        means = np.concatenate([[weights @ mu_mean, weights @ s], weights @ group_mean])
        second = np.concatenate([[weights @ (grid["mu_var"] + mu_mean ** 2),
                                  weights @ s ** 2], weights @ group_second])
        return means, np.sqrt(second - means ** 2), grid["log_evidence"]

    def log_tau_cdf(self, values, n_grid=20001):
        """Exact posterior probability that ``log tau`` is at most each value.

        Parameters
        ----------
        values : array-like of float
            Points of ``s = log tau``.
        n_grid : int, default=20001
            Points of the quadrature grid over ``log tau`` in ``[-12, 8]``.

        Returns
        -------
        ndarray of the shape of ``values``
            ``P(log tau <= v | y)`` for each value ``v`` (trapezoid weights,
            linearly interpolated between grid points).
        """
        grid = self._posterior_grid(n_grid)
        cumulative = np.cumsum(grid["weights"])
        return np.interp(np.asarray(values, dtype=np.float64), grid["s"], cumulative,
                         left=0.0, right=1.0)

    def __repr__(self):
        return (f"EightSchoolsCentered(mean_prior_scale={self.mean_prior_scale:g}, "
                f"tau_prior_scale={self.tau_prior_scale:g})")


class EightSchoolsNonCentered(EightSchoolsCentered):
    """Posterior of the non-centred eight-schools model, in unconstrained coordinates.

    The model of :class:`EightSchoolsCentered` (posteriordb's
    ``eight_schools_noncentered``), with each school's effect written as
    ``theta_j = mu + tau * eta_j``, ``eta_j ~ N(0, 1)``. Coordinates
    ``(mu, log tau, eta_1, ..., eta_8)`` (D = 10). The funnel between ``tau``
    and the thetas is gone, and the left tail of ``log tau`` (where the data
    say little and the half-Cauchy prior makes the density fall off only like
    ``tau``) is what remains hard for a Gaussian.

    The normaliser (the evidence ``p(y)``) and the moments of ``mu`` and
    ``log tau`` are those of the centred model; :meth:`posterior_moments`
    gives those of the ``eta_j`` too, by the same quadrature.

    Parameters
    ----------
    mean_prior_scale : float, default=5.0
        Standard deviation ``m`` of the Gaussian prior of ``mu``.
    tau_prior_scale : float, default=5.0
        Scale of the half-Cauchy prior of ``tau``.

    Attributes
    ----------
    n_features : int
        10.
    log_normalizer : None
        The log evidence (see :meth:`posterior_moments`).
    """

    def log_density(self, x):
        """Unnormalised log-posterior of each row of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, 10)
            Points ``(mu, log tau, eta_1, ..., eta_8)``.

        Returns
        -------
        tf.Tensor of shape (n,)
            The log prior (with the Jacobian of ``log tau``) plus the
            log-likelihood of each row.
        """
        tf = tf_module()
        mu, s, eta = x[:, 0], x[:, 1], x[:, 2:]
        log_mu, log_tau, log_y = self._shared_log_terms(
            mu, s, mu[:, None] + tf.exp(s)[:, None] * eta)
        log_eta = tf.reduce_sum(-0.5 * LOG_2PI - 0.5 * tf.square(eta), axis=1)
        return log_mu + log_tau + log_eta + log_y

    def _group_moments(self, grid):
        """Means and second moments of ``eta_j = (theta_j - mu) / tau`` at each
        grid point: ``theta_j - mu = (shrink - 1) mu + (1 - shrink) y_j + noise``
        given ``tau``, with the noise independent of ``mu``."""
        tau = np.exp(grid["s"])[:, None]
        shrink = grid["shrink"]
        mean = (grid["theta_mean"] - grid["mu_mean"][:, None]) / tau
        var = (grid["theta_noise_var"]
               + (shrink - 1.0) ** 2 * grid["mu_var"][:, None]) / tau ** 2
        return mean, var + mean ** 2

    def __repr__(self):
        return super().__repr__().replace("Centered", "NonCentered", 1)
