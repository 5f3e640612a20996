"""Haario's twisted Gaussian ("banana") target."""

import numpy as np

from ._base import Target
from ._dimension_free import AnyDimension, sample_dimension
from ._utils import LOG_2PI, cast_like, check_rng, tf_module


class BananaTarget(AnyDimension, Target):
    """Twisted Gaussian of Haario, Saksman and Tamminen, normalised.

    Draw ``u`` with ``u_1 ~ N(0, 10^2)`` and the other coordinates ``N(0, 1)``,
    then bend the second coordinate: ``x_2 = u_2 + curvature * (u_1^2 - 100)``,
    ``x_i = u_i`` otherwise. The bend has unit Jacobian, so::

        log p(x) = log N(x_1; 0, 100) + log N(x_2 - curvature (x_1^2 - 100); 0, 1)
                   + sum_{i >= 3} log N(x_i; 0, 1)

    is normalised (``log Z = 0``), with mean 0 and known covariance.

    Parameters
    ----------
    n_features : int >= 2 or None, default=2
        Dimension D. None means any dimension: :meth:`log_density` then reads D
        from its input, and an estimator takes D from its data at fit time.
    curvature : float, default=0.1
        The twist ``b``; 0 gives the Gaussian ``N(0, diag(100, 1, ..., 1))``.

    Attributes
    ----------
    log_normalizer : float
        0.0: the density is normalised.
    """

    log_normalizer = 0.0
    _x1_scale = 10.0

    def __init__(self, n_features=2, curvature=0.1):
        self.n_features = self._validate_dimension(n_features)
        if not np.isfinite(curvature):
            raise ValueError(f"curvature must be finite, got {curvature!r}.")
        self.curvature = float(curvature)

    def graph_parameters(self):
        """The twist ``b`` and the scale of the first coordinate.

        Returns
        -------
        curvature, scale : numpy.float64
            The arrays :meth:`log_density_with` takes after ``x``.
        """
        return np.float64(self.curvature), np.float64(self._x1_scale)

    @staticmethod
    def log_density_with(x, curvature, scale):
        """Normalised log-density of each row of ``x`` (TensorFlow); D read from ``x``.

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points.
        curvature : tf.Tensor
            The twist ``b``.
        scale : tf.Tensor
            The standard deviation of the first coordinate.

        Returns
        -------
        tf.Tensor of shape (n,)
            The log-density of each row, normalised.
        """
        tf = tf_module()
        dtype = x.dtype
        curvature, scale, d = cast_like(x, curvature, scale, tf.shape(x)[1])
        x1, x2 = x[:, 0], x[:, 1]
        z1 = x1 / scale
        z2 = x2 - curvature * (tf.square(x1) - tf.square(scale))
        rest = tf.reduce_sum(tf.square(x[:, 2:]), axis=1)
        const = -0.5 * d * tf.constant(LOG_2PI, dtype=dtype) - tf.math.log(scale)
        return const - 0.5 * (tf.square(z1) + tf.square(z2) + rest)

    def sample(self, n, random_state=None, n_features=None):
        """Draw exact samples of the target.

        Parameters
        ----------
        n : int
            How many points to draw from the banana.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw.
        n_features : int, default=None
            The dimension D; needed only when the target was built with None.

        Returns
        -------
        ndarray of shape (n, D)
            The points.
        """
        d = sample_dimension(self, n_features)
        rng = check_rng(random_state)
        u = rng.standard_normal((int(n), d))
        u[:, 0] *= self._x1_scale
        u[:, 1] += self.curvature * (u[:, 0] ** 2 - self._x1_scale ** 2)
        return u

    def covariance(self, n_features=None):
        """Exact covariance of the target.

        ``Var(x_2) = 1 + 2 b^2 * 100^2`` (since ``Var(u_1^2) = 2 * 100^2``); all
        covariances between coordinates are 0 (odd moments of ``u_1`` vanish).

        Parameters
        ----------
        n_features : int, default=None
            The dimension D, when the target was built with None.

        Returns
        -------
        ndarray of shape (D, D)
            The covariance, diagonal.
        """
        d = sample_dimension(self, n_features)
        cov = np.eye(d)
        cov[0, 0] = self._x1_scale ** 2
        cov[1, 1] = 1.0 + 2.0 * self.curvature ** 2 * self._x1_scale ** 4
        return cov

    def __repr__(self):
        return f"BananaTarget(n_features={self.n_features}, curvature={self.curvature:g})"
