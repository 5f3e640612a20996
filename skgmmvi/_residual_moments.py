"""Moments of the residuals about each component's mean, written once for both backends.

When the feature map about one centre would cancel (see
:mod:`skgmmvi._cancellation`), an EM iteration works with the residuals
``x - mu_k`` about each component's entering mean instead. Their weighted
moments and the covariances they give are the same algebra in numpy and in
TensorFlow, so it is written here once, against :class:`ArrayOps`: the few
array operations it needs, supplied by each backend
(``skgmmvi._numpy.gaussian.NUMPY_OPS``, ``skgmmvi._tf.gaussian.tensorflow_ops()``). Both backends therefore run the
same operations in the same order, and agree to the last bit where their
kernels do.
"""

from typing import Callable, NamedTuple


class ArrayOps(NamedTuple):
    """The array operations of one backend that the residual algebra uses.

    Attributes
    ----------
    sum : callable
        ``sum(array, axis=...)``, a reduction by addition.
    mean : callable
        ``mean(array, axis=...)``.
    gram : callable
        ``gram(a, b)``: ``a^T b`` over the last two axes (batched).
    add_to_diagonal : callable
        ``add_to_diagonal(matrices, value)``: ``matrices + value * I``.
    """

    sum: Callable
    mean: Callable
    gram: Callable
    add_to_diagonal: Callable


def residual_statistics(residuals, resp_w, covariance_type, ops):
    """Zeroth, first and second moments of residuals about each component's mean.

    Parameters
    ----------
    residuals : array of shape (K, B, D)
        ``x_b - mu_k`` for a batch of B rows.
    resp_w : array of shape (K, B)
        The rows' weighted responsibilities.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    ops : ArrayOps
        The backend's operations.

    Returns
    -------
    s0 : array of shape (K,)
    s1 : array of shape (K, D)
    s2 : array
        (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical (the mean over
        features of the squares).
    """
    weighted = residuals * resp_w[:, :, None]
    s0 = ops.sum(resp_w, axis=1)
    s1 = ops.sum(weighted, axis=1)
    if covariance_type in ("full", "tied"):
        s2 = ops.gram(weighted, residuals)
        if covariance_type == "tied":
            s2 = ops.sum(s2, axis=0)
    else:
        s2 = ops.sum(weighted * residuals, axis=1)
        if covariance_type == "spherical":
            s2 = ops.mean(s2, axis=1)
    return s0, s1, s2


def covariances_from_residuals(counts, shift, s2, reg_covar, covariance_type, ops):
    """Covariances ``S2 / S0 - d d^T + reg_covar`` from residual statistics.

    Parameters
    ----------
    counts : array of shape (K,)
        S0 with the ``10 eps`` guard added.
    shift : array of shape (K, D)
        The mean residual ``d = S1 / counts``: how far each mean moves.
    s2 : array
        The second moments of :func:`residual_statistics`.
    reg_covar : float
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    ops : ArrayOps
        The backend's operations.

    Returns
    -------
    covariances : array
        In scikit-learn's layout for ``covariance_type``; tied sums the scatter
        over components.
    """
    if covariance_type == "full":
        return ops.add_to_diagonal(
            s2 / counts[:, None, None] - shift[:, :, None] * shift[:, None, :], reg_covar)
    if covariance_type == "tied":
        between = ops.gram(shift * counts[:, None], shift)
        return ops.add_to_diagonal((s2 - between) / ops.sum(counts), reg_covar)
    if covariance_type == "diag":
        return s2 / counts[:, None] - shift * shift + reg_covar
    return s2 / counts - ops.mean(shift * shift, axis=1) + reg_covar
