"""A Gaussian kernel density estimate of data, as a target density."""

import math

import numpy as np

from .._initialization import kmeans_labels
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
    n_kernels : int
        Number of distinct kernels (distinct rows of ``X``).

    Notes
    -----
    The density is a Gaussian mixture, so a fit to it can start from that
    mixture (:meth:`as_mixture`): ``VariationalGMMTarget`` does with ``init='auto'``.
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

    @property
    def n_kernels(self):
        """Number of distinct kernels: of distinct rows of the data."""
        return int(np.unique(self.data, axis=0).shape[0])

    def as_mixture(self, n_components, random_state):
        """The density as a Gaussian mixture of ``n_components`` components.

        The estimate is itself the mixture of its ``n_samples`` kernels
        ``N(X_i, H)``, weight ``1/n_samples`` each (the kernels of repeated rows
        are one kernel of their total weight). With at least as many components
        as distinct kernels, the result is exactly that mixture (kernels
        repeated in turn, their weight split among the copies, when there are
        more components than kernels). With fewer, the rows are grouped by
        k-means and each group's kernels are merged into one Gaussian with the
        same weight, mean and covariance (``H`` plus the spread of the group's
        rows): the closest single Gaussian to the group in ``KL(group || q)``.

        Parameters
        ----------
        n_components : int
            Number of components of the mixture.
        random_state : RandomState
            Seeds the k-means grouping (not used when the result is exact).

        Returns
        -------
        weights : ndarray of shape (n_components,)
            The components' weights.
        means : ndarray of shape (n_components, n_features)
            Their means.
        covariances : ndarray of shape (n_components, n_features, n_features)
            Their covariances.
        """
        distinct, labels = np.unique(self.data, axis=0, return_inverse=True)
        if distinct.shape[0] > n_components:
            labels = kmeans_labels(self.data, None, n_components, random_state)
            _, labels = np.unique(labels, return_inverse=True)  # no empty groups
        weights, means, covariances = self._merged_groups(labels.ravel())
        copy_of = np.arange(n_components) % weights.shape[0]
        copies = np.bincount(copy_of, minlength=weights.shape[0])
        return (weights[copy_of] / copies[copy_of], means[copy_of],
                covariances[copy_of])

    def _merged_groups(self, labels):
        """Weight, mean and covariance of each group of kernels (labels ``0..G-1``,
        every one used): moment matching of the group's mixture."""
        counts = np.bincount(labels)
        order = np.argsort(labels, kind="stable")
        groups = np.split(self.data[order], np.cumsum(counts)[:-1])
        means = np.stack([rows.mean(axis=0) for rows in groups])
        spreads = np.stack([(rows - mean).T @ (rows - mean) / rows.shape[0]
                            for rows, mean in zip(groups, means)])
        return counts / labels.shape[0], means, spreads + self.bandwidth

    def graph_parameters(self):
        """Whitened data, whitening matrix, centre and log-normaliser.

        They are the arrays the compiled code takes as inputs, so that one trace
        serves every KernelDensityTarget.

        Returns
        -------
        whitened, whitening, center, log_norm : ndarray
            Shapes (n, D), (D, D), (D,) and a scalar, as
            :meth:`log_density_with` takes them.
        """
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
        """Log-density of the kernel density estimate at each row (TensorFlow).

        The kernels are summed over chunks of rows with a running maximum, so
        memory stays bounded for large data.

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points.
        whitened : tf.Tensor of shape (n_rows, D)
            The data, centred and whitened by the bandwidth.
        whitening : tf.Tensor of shape (D, D)
            The inverse Cholesky factor of the bandwidth.
        center : tf.Tensor of shape (D,)
            The data's mean.
        log_norm : tf.Tensor
            Log of the kernels' common normaliser over their number.

        Returns
        -------
        tf.Tensor of shape (n,)
            The estimate's log-density at each row.
        """
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


def is_kernel_density(target):
    """Whether ``target``'s density is :class:`KernelDensityTarget`'s (a subclass
    that changes ``log_density`` or ``log_density_with`` is not: its density need not
    be the mixture of :meth:`KernelDensityTarget.as_mixture`)."""
    return (isinstance(target, KernelDensityTarget)
            and type(target).parameters_hook() == KernelDensityTarget.parameters_hook())
