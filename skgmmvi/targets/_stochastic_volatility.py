"""A stochastic-volatility time-series posterior (the Inference Gym's S&P 500 problem)."""

import functools
import math
from importlib import resources

import numpy as np
from scipy.special import expit

from ._base import Target
from ._utils import LOG_2PI, as_points, cast_like, tf_module

#: Bundled files (in ``skgmmvi/targets/data``): 101 closing prices, and the
#: published posterior moments of the model on their 100 centred differences.
PRICES_FILE = "sp500_closing_prices_2020.txt"
MOMENTS_FILE = "stochastic_volatility_sp500_small_moments.txt"

#: Below this, ``log softplus(b)`` is ``b`` to double precision (the error is e^b / 2).
_SOFTPLUS_LOG_CUTOFF = -30.0


def _read_data_file(name):
    """The numbers of one bundled text file (``#`` lines are comments)."""
    with resources.files(__package__).joinpath("data", name).open("r") as handle:
        return np.loadtxt(handle, dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _sp500_centred_returns():
    prices = _read_data_file(PRICES_FILE)
    returns = np.diff(prices)
    return returns - returns.mean()


def sp500_centred_returns():
    """The data of the Inference Gym's ``StochasticVolatilitySP500Small``.

    The 100 daily changes of the S&P 500 closing price (in index points) up to
    2020-06-24, minus their mean. The 101 closing prices are bundled with the
    package (``skgmmvi/targets/data``), copied from the Inference Gym
    (TensorFlow Probability's ``spinoffs/inference_gym``, which took them from
    finance.yahoo.com on 2020-06-25); nothing is downloaded.

    Returns
    -------
    ndarray of shape (100,)
        The centred returns, oldest first.
    """
    return _sp500_centred_returns().copy()


class StochasticVolatilityPosterior(Target):
    """Posterior of a stochastic-volatility model of daily returns (D = T + 3).

    The model of the Inference Gym's ``StochasticVolatilitySP500Small``
    (after the Stan users' guide), on centred returns ``y_1..y_T``::

        (phi + 1) / 2 ~ Beta(20, 1.5),   mu ~ Cauchy(0, 5),   sigma ~ half-Cauchy(0, 2),
        h_1 ~ N(mu, sigma^2 / (1 - phi^2)),
        h_t ~ N(mu + phi (h_{t-1} - mu), sigma^2),   t = 2..T,
        y_t ~ N(0, exp(h_t))                          (standard deviation exp(h_t / 2)).

    ``h_t`` is the log-variance of day t, ``mu`` its long-run level, ``phi`` its
    persistence and ``sigma`` the scale of its daily shocks. The default data
    are the Gym's: the last 100 daily changes of the S&P 500 up to 2020-06-24,
    centred (:func:`sp500_centred_returns`), so D = 103.

    **Coordinates.** The log-volatilities enter as they are (the *centred*
    parameterisation, as in the Gym's model; a hard geometry, since the
    scale of ``h`` given ``sigma`` changes with ``sigma``), and the three
    parameters through the Gym's default bijectors::

        x = (a, mu, b, h_1, ..., h_T),
        phi = 2 sigmoid(a) - 1,   sigma = softplus(b) = log(1 + e^b),

    with the log-Jacobian ``log 2 + log sigmoid(a) + log sigmoid(-a)`` of
    ``phi`` and ``log sigmoid(b)`` of ``sigma`` added. The prior is normalised,
    so the target's normaliser is the evidence ``p(y)``. The density has no
    maximum: with ``h`` on a noiseless AR(1) path it grows like
    ``-(T - 1) log sigma`` as ``sigma -> 0`` (a funnel's neck), so a search for
    modes finds none; the posterior mass lies at ``sigma`` near 0.5.

    **Reference answer.** The Gym publishes posterior means and standard
    deviations of ``(phi, mu, sigma, h_1..h_100)`` for the default data (Stan
    NUTS, 50000 draws; Stan ran a non-centred version of the same model, which
    changes the sampler's coordinates, not the posterior of these
    variables): :meth:`published_moments`. They are moments of the model's
    variables, so compare them with moments of ``constrain(samples)``; for
    ``mu`` and ``h`` these are the coordinates themselves.

    Parameters
    ----------
    returns : array-like of shape (T,), default=None
        The centred returns ``y`` (used as given: centre them yourself); None
        uses the S&P 500 data above. T >= 2.
    persistence_prior : (float, float), default=(20.0, 1.5)
        The Beta parameters ``(alpha, beta)`` of ``(phi + 1) / 2``.
    mean_prior_scale : float, default=5.0
        Scale of the Cauchy prior of ``mu`` (location 0).
    shock_prior_scale : float, default=2.0
        Scale of the half-Cauchy prior of ``sigma``.

    Attributes
    ----------
    returns : ndarray of shape (T,)
        The data.
    n_features : int
        ``T + 3``.
    log_normalizer : None
        Unknown (the log evidence).

    References
    ----------
    The Inference Gym, TensorFlow Probability: ``spinoffs/inference_gym``,
    targets ``stochastic_volatility.py`` and the ground truth
    ``ground_truth/stochastic_volatility_sp500_small.py``. Stan users' guide,
    "Stochastic volatility models".

    Examples
    --------
    >>> from skgmmvi.targets import StochasticVolatilityPosterior
    >>> target = StochasticVolatilityPosterior()
    >>> target.n_features
    103
    """

    log_normalizer = None

    def __init__(self, returns=None, persistence_prior=(20.0, 1.5), mean_prior_scale=5.0,
                 shock_prior_scale=2.0):
        returns = (_sp500_centred_returns() if returns is None
                   else np.asarray(returns, dtype=np.float64))
        if returns.ndim != 1 or returns.size < 2 or not np.all(np.isfinite(returns)):
            raise ValueError("returns must be a finite 1-D array of at least 2 values, got "
                             f"shape {returns.shape}.")
        alpha, beta = (float(value) for value in persistence_prior)
        for name, value in (("persistence_prior[0]", alpha), ("persistence_prior[1]", beta),
                            ("mean_prior_scale", mean_prior_scale),
                            ("shock_prior_scale", shock_prior_scale)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value!r}.")
        self.returns = returns.copy()
        self.persistence_prior = (alpha, beta)
        self.mean_prior_scale = float(mean_prior_scale)
        self.shock_prior_scale = float(shock_prior_scale)
        self.n_features = self.returns.size + 3

    # -- the density -------------------------------------------------------

    def graph_parameters(self):
        """The returns and the four numbers of the prior.

        Returns
        -------
        tuple
            ``(returns, alpha, beta, mean_prior_scale, shock_prior_scale)`` as
            :meth:`log_density_with` takes them.
        """
        alpha, beta = self.persistence_prior
        return (self.returns, np.float64(alpha), np.float64(beta),
                np.float64(self.mean_prior_scale), np.float64(self.shock_prior_scale))

    @staticmethod
    def log_density_with(x, returns, alpha, beta, mean_prior_scale, shock_prior_scale):
        """Unnormalised log-posterior of each row of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, T + 3)
            Points ``(a, mu, b, h_1, ..., h_T)`` (see the class docstring).
        returns : tf.Tensor of shape (T,)
            The centred returns.
        alpha, beta : tf.Tensor
            The Beta prior of ``(phi + 1) / 2``.
        mean_prior_scale, shock_prior_scale : tf.Tensor
            The scales of the priors of ``mu`` and ``sigma``.

        Returns
        -------
        tf.Tensor of shape (n,)
            The log prior (with the log-Jacobians of ``phi`` and ``sigma``)
            plus the log-likelihood of each row.
        """
        tf = tf_module()
        dtype = x.dtype
        y, alpha, beta, mean_scale, shock_scale = cast_like(
            x, returns, alpha, beta, mean_prior_scale, shock_prior_scale)
        a, mu, b, h = x[:, 0], x[:, 1], x[:, 2], x[:, 3:]
        log_z, log_one_minus_z = tf.math.log_sigmoid(a), tf.math.log_sigmoid(-a)
        phi = tf.math.tanh(0.5 * a)  # = 2 sigmoid(a) - 1
        # Beta density of z = sigmoid(a) times dz/da = z (1 - z); the factor 2 of
        # phi = 2z - 1 cancels between the density of phi and the Jacobian.
        log_phi = (alpha * log_z + beta * log_one_minus_z
                   - (tf.math.lgamma(alpha) + tf.math.lgamma(beta)
                      - tf.math.lgamma(alpha + beta)))
        log_mu = -tf.math.log(math.pi * mean_scale) - tf.math.log1p(tf.square(mu / mean_scale))
        sigma = tf.nn.softplus(b)
        low = b < _SOFTPLUS_LOG_CUTOFF
        log_sigma = tf.where(low, b, tf.math.log(tf.nn.softplus(
            tf.where(low, tf.zeros_like(b), b))))
        log_sigma_prior = (tf.math.log(2.0 / (math.pi * shock_scale))
                           - tf.math.log1p(tf.square(sigma / shock_scale))
                           + tf.math.log_sigmoid(b))
        # 1 - phi^2 = 4 z (1 - z): the stationary variance of h_1 is sigma^2 / (1 - phi^2).
        log_one_minus_phi2 = math.log(4.0) + log_z + log_one_minus_z
        inverse_sigma = tf.exp(-log_sigma)
        centred = h - mu[:, None]
        first = centred[:, 0] * tf.exp(0.5 * log_one_minus_phi2) * inverse_sigma
        shocks = (centred[:, 1:] - phi[:, None] * centred[:, :-1]) * inverse_sigma[:, None]
        n_steps = tf.cast(tf.shape(h)[1], dtype)
        log_h = (-0.5 * n_steps * LOG_2PI - n_steps * log_sigma + 0.5 * log_one_minus_phi2
                 - 0.5 * tf.square(first) - 0.5 * tf.reduce_sum(tf.square(shocks), axis=1))
        log_y = tf.reduce_sum(-0.5 * LOG_2PI - 0.5 * h - 0.5 * tf.square(y) * tf.exp(-h),
                              axis=1)
        return log_phi + log_mu + log_sigma_prior + log_h + log_y

    # -- coordinates and the reference answer ------------------------------

    def constrain(self, x):
        """The model's variables ``(phi, mu, sigma, h_1..h_T)`` of points ``x``.

        Parameters
        ----------
        x : array-like of shape (n, T + 3)
            Points in the target's coordinates ``(a, mu, b, h)``.

        Returns
        -------
        ndarray of shape (n, T + 3)
            ``phi = 2 sigmoid(a) - 1`` and ``sigma = softplus(b)`` in place of
            ``a`` and ``b``; ``mu`` and ``h`` unchanged.
        """
        x = as_points(x, self.n_features, "x", rows_only=True).copy()
        x[:, 0] = 2.0 * expit(x[:, 0]) - 1.0
        x[:, 2] = np.logaddexp(0.0, x[:, 2])
        return x

    def unconstrain(self, theta):
        """The target's coordinates of the model's variables (the inverse of :meth:`constrain`).

        Parameters
        ----------
        theta : array-like of shape (n, T + 3) or (T + 3,)
            ``(phi, mu, sigma, h_1..h_T)`` with ``-1 < phi < 1`` and ``sigma > 0``.

        Returns
        -------
        ndarray of the shape of ``theta``
            ``a = logit((phi + 1) / 2)`` and ``b = log(e^sigma - 1)`` in place of
            ``phi`` and ``sigma``.
        """
        theta = as_points(theta, self.n_features, "theta").copy()
        phi, sigma = theta[..., 0], theta[..., 2]
        if np.any(np.abs(phi) >= 1.0) or np.any(sigma <= 0.0):
            raise ValueError("theta needs -1 < phi < 1 (column 0) and sigma > 0 (column 2).")
        theta[..., 0] = np.log1p(phi) - np.log1p(-phi)
        theta[..., 2] = sigma + np.log(-np.expm1(-sigma))
        return theta

    def published_moments(self):
        """The Inference Gym's posterior means and standard deviations (default data only).

        From ``ground_truth/stochastic_volatility_sp500_small.py`` of the
        Inference Gym (Stan NUTS, 50000 draws), bundled with the package. The
        Monte Carlo standard errors published with them are at most 0.005 for
        ``mu`` and 0.002 for the other means.

        Returns
        -------
        means, sds : ndarray of shape (103,)
            Of ``(phi, mu, sigma, h_1..h_100)``: the model's variables (see
            :meth:`constrain`), not the target's coordinates.

        Raises
        ------
        ValueError
            When the target was built with other returns or another prior.
        """
        if not (self.returns.shape == (100,)
                and np.array_equal(self.returns, _sp500_centred_returns())
                and self.persistence_prior == (20.0, 1.5) and self.mean_prior_scale == 5.0
                and self.shock_prior_scale == 2.0):
            raise ValueError("published_moments() holds for the default target only (the "
                             "S&P 500 returns and the default priors).")
        table = _read_data_file(MOMENTS_FILE)
        return table[:, 0].copy(), table[:, 1].copy()

    def __repr__(self):
        alpha, beta = self.persistence_prior
        return (f"StochasticVolatilityPosterior(T={self.returns.size}, "
                f"persistence_prior=({alpha:g}, {beta:g}), "
                f"mean_prior_scale={self.mean_prior_scale:g}, "
                f"shock_prior_scale={self.shock_prior_scale:g})")
