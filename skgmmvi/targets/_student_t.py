"""Mixture of multivariate Student-t distributions (the "STM" benchmark of gmmvi)."""

import math

import numpy as np

from ._base import Target
from ._utils import (cast_like, check_n_modes_features, check_rng, cholesky, count_near,
                     precision_cholesky, tf_module)


class StudentTMixtureTarget(Target):
    """Random mixture of multivariate Student-t distributions, normalised.

    Follows gmmvi's ``student_t_mixture.make_target`` (the 20-D setting of Lin,
    Khan and Schmidt 2020): ``n_modes`` equally weighted components with ``df``
    degrees of freedom and means uniform in ``[-20, 20]^D``. For each component
    a D x D matrix ``A`` with entries ``0.1 * D * N(0, 1)`` is drawn and the
    component's **scale (shape) matrix is the inverse** ``(A^T A + I)^{-1}``:
    gmmvi inverts the matrix, i.e. ``A^T A + I`` plays the role of a precision
    matrix, as in Lin et al.'s data files which store precisions. (This differs
    from :class:`GaussianMixtureTarget`, whose covariances are ``A^T A + I``.)

    Component density::

        t(x; m, S, v) = Gamma((v + D)/2) / (Gamma(v/2) (v pi)^(D/2) |S|^(1/2))
                        * (1 + (x - m)^T S^{-1} (x - m) / v)^(-(v + D)/2)

    Generation is deterministic given ``random_state``: for each component, D
    uniforms for the mean, then D*D normals for ``A``. (gmmvi draws the means
    with TensorFlow's generator, so the exact numbers cannot match it.)

    Parameters
    ----------
    n_features : int, default=20
        Dimension D.
    n_modes : int, default=10
        Number of Student-t components (equal weights).
    df : float, default=2
        Degrees of freedom (> 0). With ``df <= 2`` the covariance is infinite.
    random_state : int, RandomState or None, default=0
        Seed of the means and scale matrices.

    Attributes
    ----------
    weights : ndarray of shape (n_modes,)
        The mixture weights, ``1 / n_modes`` each.
    means : ndarray of shape (n_modes, n_features)
        The components' locations.
    scale_matrices : ndarray of shape (n_modes, n_features, n_features)
        ``(A^T A + I)^{-1}`` per component.
    log_normalizer : float
        0.0: the density is normalised.
    """

    log_normalizer = 0.0

    def __init__(self, n_features=20, n_modes=10, df=2, random_state=0):
        d, k = check_n_modes_features(n_features, n_modes)
        if not (np.isfinite(df) and df > 0):
            raise ValueError(f"df must be a positive number, got {df!r}.")
        self.n_features = d
        self.n_modes = k
        self.df = float(df)
        self.random_state = random_state
        rng = check_rng(random_state)
        self.weights = np.full(k, 1.0 / k)
        self.means = np.empty((k, d))
        precisions = np.empty((k, d, d))
        for i in range(k):
            self.means[i] = 40.0 * rng.random_sample(d) - 20.0
            a = 0.1 * d * rng.standard_normal((d, d))
            precisions[i] = a.T @ a + np.eye(d)
        # The precision's Cholesky factor C (C C^T = S^{-1}) whitens directly;
        # the scale's factor is L = C^{-T}.
        prec_chol = cholesky(precisions, "precisions")
        self._prec_chol = prec_chol
        self._chol = precision_cholesky(prec_chol)
        self.scale_matrices = self._chol @ np.swapaxes(self._chol, 1, 2)

    def graph_parameters(self):
        """Log-weights, means, precision factors and degrees of freedom.

        Returns
        -------
        log_weights, means, prec_chol, df : ndarray
            Shapes (K,), (K, D), (K, D, D) and a scalar, as
            :meth:`log_density_with` takes them.
        """
        return np.log(self.weights), self.means, self._prec_chol, np.float64(self.df)

    @staticmethod
    def log_density_with(x, log_weights, means, prec_chol, df):
        """Normalised mixture log-density of each row of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points.
        log_weights : tf.Tensor of shape (K,)
            Log-weights of the Student-t components.
        means : tf.Tensor of shape (K, D)
            Their locations.
        prec_chol : tf.Tensor of shape (K, D, D)
            Cholesky factors of the inverse scale matrices.
        df : tf.Tensor
            Degrees of freedom.

        Returns
        -------
        tf.Tensor of shape (n,)
            The log-density of each row.
        """
        tf = tf_module()
        dtype = x.dtype
        log_weights, means, prec_chol, v = cast_like(x, log_weights, means, prec_chol, df)
        d = tf.cast(tf.shape(means)[1], dtype)
        const = (log_weights + tf.math.lgamma(0.5 * (v + d)) - tf.math.lgamma(0.5 * v)
                 - 0.5 * d * tf.math.log(v * tf.constant(math.pi, dtype))
                 + tf.reduce_sum(tf.math.log(tf.linalg.diag_part(prec_chol)), axis=1))
        diff = x[:, None, :] - means[None, :, :]
        white = tf.einsum("nkd,kde->nke", diff, prec_chol)
        maha = tf.reduce_sum(white * white, axis=2)
        log_comp = const - 0.5 * (v + d) * tf.math.log1p(maha / v)
        return tf.reduce_logsumexp(log_comp, axis=1)

    def sample(self, n, random_state=None):
        """Draw exact samples of the Student-t mixture.

        A draw of component k is ``m_k + L_k z / sqrt(u / df)`` with
        ``z ~ N(0, I)``, ``u ~ chi2(df)`` and ``L_k L_k^T`` the scale matrix.

        Parameters
        ----------
        n : int
            Number of samples to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the choice of components, ``z`` and ``u``.

        Returns
        -------
        ndarray of shape (n, D)
            The samples.
        """
        rng = check_rng(random_state)
        n = int(n)
        comps = rng.choice(self.n_modes, size=n, p=self.weights)
        noise = rng.standard_normal((n, self.n_features))
        mix = np.sqrt(self.df / rng.chisquare(self.df, size=n))
        return self.means[comps] + mix[:, None] * np.einsum("nde,ne->nd", self._chol[comps], noise)

    def count_found_modes(self, means):
        """Number of target modes with one of ``means`` closer than ``||6 * 1_D||``.

        Same criterion as :meth:`GaussianMixtureTarget.count_found_modes`.

        Parameters
        ----------
        means : array-like of shape (m, D)
            Points to test, e.g. the means of a fitted mixture.

        Returns
        -------
        int
            How many of the ``n_modes`` target locations have one of ``means``
            that near.
        """
        return count_near(self.means, means, 6.0 * np.sqrt(self.n_features))

    def __repr__(self):
        return (f"StudentTMixtureTarget(n_features={self.n_features}, n_modes={self.n_modes}, "
                f"df={self.df:g}, random_state={self.random_state!r})")
