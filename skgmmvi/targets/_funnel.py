"""Neal's funnel target."""

import numpy as np

from ._base import Target
from ._dimension_free import AnyDimension, sample_dimension
from ._utils import LOG_2PI, check_rng, tf_module


class FunnelTarget(AnyDimension, Target):
    """Neal's funnel, normalised.

    ``v = x_1 ~ N(0, scale^2)`` and, given v, ``x_i ~ N(0, exp(v))`` (variance
    ``exp(v)``) independently for ``i >= 2``::

        log p(x) = log N(x_1; 0, scale^2) + sum_{i >= 2} log N(x_i; 0, exp(x_1))

    The density is normalised (``log Z = 0``). Its neck (very negative v) has
    scales differing by orders of magnitude, which defeats a single Gaussian.

    Parameters
    ----------
    n_features : int >= 2 or None, default=10
        Dimension D, or None for any dimension (read from the input of
        :meth:`log_density`, and from the data at fit time).
    scale : float, default=3.0
        Standard deviation of ``v``.

    Attributes
    ----------
    log_normalizer : float
        0.0: the density is normalised.
    """

    log_normalizer = 0.0

    def __init__(self, n_features=10, scale=3.0):
        self.n_features = self._validate_dimension(n_features)
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be positive, got {scale!r}.")
        self.scale = float(scale)

    def graph_parameters(self):
        """The standard deviation of ``v``.

        Returns
        -------
        tuple of one numpy.float64
            The ``scale`` that :meth:`log_density_with` takes after ``x``.
        """
        return (np.float64(self.scale),)

    @staticmethod
    def log_density_with(x, scale):
        """Normalised log-density of each row of ``x`` (TensorFlow); D read from ``x``.

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points ``(v, x_1, ..., x_{D-1})``.
        scale : tf.Tensor
            The standard deviation of ``v``.

        Returns
        -------
        tf.Tensor of shape (n,)
            Log-density of each row: ``log N(v; 0, scale^2)`` plus that of
            the other coordinates given ``v``.
        """
        tf = tf_module()
        dtype = x.dtype
        scale = tf.cast(scale, dtype)
        m = tf.cast(tf.shape(x)[1] - 1, dtype)  # number of x_i given v
        v = x[:, 0]
        log_v = (tf.constant(-0.5 * LOG_2PI, dtype=dtype) - tf.math.log(scale)
                 - 0.5 * tf.square(v / scale))
        # x_i exp(-v/2) rather than x_i^2 exp(-v): exp(-v) overflows float32 at v < -88.
        white = x[:, 1:] * tf.exp(-0.5 * v)[:, None]
        log_rest = (-0.5 * m * (tf.constant(LOG_2PI, dtype=dtype) + v)
                    - 0.5 * tf.reduce_sum(tf.square(white), axis=1))
        return log_v + log_rest

    def sample(self, n, random_state=None, n_features=None):
        """Draw exact samples of the funnel: ``v`` first, then the rest given ``v``.

        Parameters
        ----------
        n : int
            How many points.
        random_state : int, RandomState instance or None, default=None
            Seeds ``v`` and the rest.
        n_features : int, default=None
            The dimension D; needed only when the target was built with None.

        Returns
        -------
        ndarray of shape (n, D)
            The samples, ``v`` in the first column.
        """
        d = sample_dimension(self, n_features)
        rng = check_rng(random_state)
        v = self.scale * rng.standard_normal(int(n))
        rest = rng.standard_normal((int(n), d - 1)) * np.exp(0.5 * v)[:, None]
        return np.column_stack([v, rest])

    def __repr__(self):
        return f"FunnelTarget(n_features={self.n_features}, scale={self.scale:g})"
