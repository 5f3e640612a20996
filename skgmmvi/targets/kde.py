"""A Gaussian kernel density estimate of data, as a target density."""

import math

import numpy as np

from ._base import Target

#: Data rows processed at once when evaluating the density.
CHUNK_ROWS = 4096


class KernelDensityTarget(Target):
    """Gaussian kernel density estimate of data X with Scott's bandwidth.

    ``p(x) = 1/n sum_i N(x; X_i, H)`` with the bandwidth matrix of
    :class:`scipy.stats.gaussian_kde`: ``H = C * n^(-2/(D+4))`` where ``C`` is the
    sample covariance of ``X`` (``ddof=1``). When ``H`` is (numerically)
    singular, as for data on a lower-dimensional subspace, 1e-10 times its mean
    eigenvalue is added to its diagonal so that the density stays proper. Normalised (the
    log-density is exact, not up to a constant). Holds only numpy arrays, so it
    pickles.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data, at least 2 rows.

    Attributes
    ----------
    n_features : int
    data : ndarray of shape (n_samples, n_features)
    bandwidth : ndarray of shape (n_features, n_features)
        The kernel covariance ``H``.
    """

    uses_tensorflow = True

    def __init__(self, X):
        data = np.array(X, dtype=np.float64, copy=True)
        if data.ndim != 2 or data.shape[0] < 2:
            raise ValueError("KernelDensityTarget needs a 2-D array with at least 2 rows; "
                             f"got shape {np.shape(X)}.")
        self.data = data
        self.n_features = data.shape[1]
        n, d = data.shape
        covariance = np.atleast_2d(np.cov(data, rowvar=False, ddof=1))
        scale = float(np.trace(covariance)) / d
        if not scale > 0:
            scale = 1.0
        factor = n ** (-1.0 / (d + 4))
        bandwidth = covariance * factor**2
        eigenvalues = np.linalg.eigvalsh(bandwidth)
        if not eigenvalues[0] > 1e-12 * eigenvalues[-1]:
            bandwidth = bandwidth + 1e-10 * scale * factor**2 * np.eye(d)
        self.bandwidth = bandwidth

    def graph_parameters(self):
        """Whitened data, whitening matrix, centre and log-normaliser: the arrays
        the compiled code takes as inputs, so that one trace serves every
        KernelDensityTarget."""
        chol = np.linalg.cholesky(self.bandwidth)
        whitening = np.linalg.inv(chol)  # z = whitening @ (x - c)
        center = self.data.mean(axis=0)
        whitened = (self.data - center) @ whitening.T
        n, d = self.data.shape
        log_norm = (-math.log(n) - 0.5 * d * math.log(2.0 * math.pi)
                    - float(np.sum(np.log(np.diag(chol)))))
        return whitened, whitening, center, np.array(log_norm)

    @staticmethod
    def log_density_with(x, whitened, whitening, center, log_norm):
        from .._tf._runtime import tensorflow

        tf = tensorflow()
        dtype = x.dtype
        whitened = tf.cast(whitened, dtype)
        z = tf.linalg.matmul(x - tf.cast(center, dtype), tf.cast(whitening, dtype),
                             transpose_b=True)
        z_sq = tf.reduce_sum(tf.square(z), axis=1)
        n_rows = tf.shape(whitened)[0]

        def cond(start, peak, total):
            return start < n_rows

        def body(start, peak, total):
            rows = whitened[start:start + CHUNK_ROWS]
            sq = (z_sq[:, None] - 2.0 * tf.linalg.matmul(z, rows, transpose_b=True)
                  + tf.reduce_sum(tf.square(rows), axis=1)[None, :])
            log_kernel = -0.5 * tf.maximum(sq, 0.0)
            new_peak = tf.maximum(peak, tf.reduce_max(log_kernel, axis=1))
            total = (total * tf.exp(peak - new_peak)
                     + tf.reduce_sum(tf.exp(log_kernel - new_peak[:, None]), axis=1))
            return start + CHUNK_ROWS, new_peak, total

        n_points = tf.shape(x)[0]
        start = tf.constant(0)
        peak = tf.fill([n_points], tf.constant(-1e300 if dtype == tf.float64 else -1e38,
                                               dtype))
        total = tf.zeros([n_points], dtype)
        _, peak, total = tf.while_loop(cond, body, (start, peak, total))
        return tf.math.log(total) + peak + tf.cast(log_norm, dtype)

    def __repr__(self):
        return f"KernelDensityTarget(n_samples={self.data.shape[0]}, " \
               f"n_features={self.n_features})"
