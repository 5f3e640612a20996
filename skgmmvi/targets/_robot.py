"""Planar robot arm inverse kinematics target (the "planar robot" benchmark of VIPS/gmmvi)."""

import numpy as np

from ._base import Target
from ._utils import LOG_2PI, cast_like, check_rng, count_near, tf_module

_GOALS = {1: [[7.0, 0.0]], 4: [[7.0, 0.0], [-7.0, 0.0], [0.0, 7.0], [0.0, -7.0]]}


class PlanarRobotTarget(Target):
    """Joint angles of a planar arm whose end effector reaches one of some goals.

    The arm has ``n_links`` links of length 1 attached in a chain at the origin;
    with absolute angles ``c = cumsum(x)`` the end effector is
    ``(sum_i cos c_i, sum_i sin c_i)``. The target, as in gmmvi's
    ``PlanarRobot(num_links, num_goals)``::

        log p~(x) = log N(x; 0, diag(1, s^2, ..., s^2))
                    + max_g log N(end_effector(x); goal_g, l^2 I)

    with ``s = prior_std = 0.2`` and ``l = likelihood_std = 0.01``; both terms
    are normalised Gaussian log-densities, and the goals are combined with a
    **max** (not a log-sum-exp), exactly as gmmvi does. Goals: (7, 0) for
    ``n_goals=1``; (7, 0), (-7, 0), (0, 7), (0, -7) for ``n_goals=4``.

    Parameters
    ----------
    n_links : int, default=10
        Dimension D.
    n_goals : {1, 4}, default=4
        Number of goals (placed as above).
    prior_std : float, default=0.2
        Prior standard deviation of every joint but the first (which has 1).
    likelihood_std : float, default=0.01
        Standard deviation of the end effector's distance to the nearest goal.

    Attributes
    ----------
    goals : ndarray of shape (n_goals, 2)
    prior_stds : ndarray of shape (n_links,)
    log_normalizer : None
        Unknown.
    """

    log_normalizer = None

    def __init__(self, n_links=10, n_goals=4, prior_std=0.2, likelihood_std=0.01):
        if int(n_links) != n_links or n_links < 1:
            raise ValueError(f"n_links must be a positive integer, got {n_links!r}.")
        if n_goals not in _GOALS:
            raise ValueError(f"n_goals must be 1 or 4, got {n_goals!r}.")
        for name, value in (("prior_std", prior_std), ("likelihood_std", likelihood_std)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value!r}.")
        self.n_links = int(n_links)
        self.n_goals = int(n_goals)
        self.prior_std = float(prior_std)
        self.likelihood_std = float(likelihood_std)
        self.goals = np.array(_GOALS[self.n_goals])
        self.prior_stds = np.full(self.n_links, self.prior_std)
        self.prior_stds[0] = 1.0
        self.n_features = self.n_links

    def graph_parameters(self):
        """Prior standard deviations, goals and the likelihood's standard deviation.

        Returns
        -------
        prior_stds, goals, likelihood_std : ndarray
            Shapes (n_links,), (n_goals, 2) and a scalar, as
            :meth:`log_density_with` takes them.
        """
        return self.prior_stds, self.goals, np.float64(self.likelihood_std)

    @staticmethod
    def log_density_with(x, prior_stds, goals, likelihood_std):
        """Log prior plus best-goal log-likelihood of each row of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, n_links)
            Joint angles.
        prior_stds : tf.Tensor of shape (n_links,)
            Prior standard deviation of each joint.
        goals : tf.Tensor of shape (n_goals, 2)
            Goal positions of the end effector.
        likelihood_std : tf.Tensor
            Standard deviation of the end effector around a goal.

        Returns
        -------
        tf.Tensor of shape (n,)
            The unnormalised log-posterior of each configuration.
        """
        tf = tf_module()
        dtype = x.dtype
        prior_stds, goals, std = cast_like(x, prior_stds, goals, likelihood_std)
        log_2pi = tf.constant(LOG_2PI, dtype)
        n_links = tf.cast(tf.shape(prior_stds)[0], dtype)
        prior_const = -tf.reduce_sum(tf.math.log(prior_stds)) - 0.5 * n_links * log_2pi
        scaled = x / prior_stds
        log_prior = prior_const - 0.5 * tf.reduce_sum(scaled * scaled, axis=1)
        angles = tf.cumsum(x, axis=1)
        effector = tf.stack([tf.reduce_sum(tf.cos(angles), axis=1),
                             tf.reduce_sum(tf.sin(angles), axis=1)], axis=1)  # (n, 2)
        diff = effector[:, None, :] - goals[None, :, :]
        log_lik = (-2.0 * tf.math.log(std) - log_2pi
                   - tf.reduce_sum(diff * diff, axis=2) * (0.5 / tf.square(std)))
        return log_prior + tf.reduce_max(log_lik, axis=1)

    def end_effector(self, x):
        """End-effector positions of joint angles ``x``.

        Parameters
        ----------
        x : array-like of shape (n, n_links)
            Joint angles.

        Returns
        -------
        ndarray of shape (n, 2)
            Where the arm's tip is.
        """
        angles = np.cumsum(np.atleast_2d(np.asarray(x, dtype=np.float64)), axis=1)
        return np.stack([np.cos(angles).sum(axis=1), np.sin(angles).sum(axis=1)], axis=1)

    def joint_positions(self, x):
        """Compute the positions of the base and of every joint's end.

        Parameters
        ----------
        x : array-like of shape (n, n_links)
            Joint angles, one configuration a row.

        Returns
        -------
        ndarray of shape (n, n_links + 1, 2)
            The base (origin) first, the end effector last.
        """
        angles = np.cumsum(np.atleast_2d(np.asarray(x, dtype=np.float64)), axis=1)
        steps = np.stack([np.cos(angles), np.sin(angles)], axis=2)
        start = np.zeros((angles.shape[0], 1, 2))
        return np.concatenate([start, np.cumsum(steps, axis=1)], axis=1)

    def count_reached_goals(self, samples, tolerance=0.05):
        """Number of goals that some configuration in ``samples`` reaches.

        Parameters
        ----------
        samples : array-like of shape (m, n_links)
            Joint angles, e.g. component means or draws of an approximation.
        tolerance : float, default=0.05
            Largest Euclidean end-effector error counted as reaching a goal
            (gmmvi's threshold).

        Returns
        -------
        int
            How many goals are reached.
        """
        return count_near(self.goals, self.end_effector(samples), tolerance)

    def prior_sample(self, n, random_state=None):
        """Draw joint configurations from the prior.

        Parameters
        ----------
        n : int
            Number of configurations.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw.

        Returns
        -------
        ndarray of shape (n, n_links)
            Joint angles.
        """
        rng = check_rng(random_state)
        return rng.standard_normal((int(n), self.n_links)) * self.prior_stds

    def __repr__(self):
        return f"PlanarRobotTarget(n_links={self.n_links}, n_goals={self.n_goals})"
