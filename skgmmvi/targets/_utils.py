"""Small helpers shared by the target densities (numpy only; no TensorFlow import)."""

import math

import numpy as np
from sklearn.utils import check_random_state

LOG_2PI = math.log(2.0 * math.pi)


def tf_module():
    """Return the ``tensorflow`` module through the package's lazy, quiet import."""
    from .._tf._runtime import tensorflow

    return tensorflow()


def cast_like(x, *values):
    """``values`` cast to the dtype of the tensor ``x``, as a tuple (TensorFlow)."""
    tf = tf_module()
    return tuple(tf.cast(value, x.dtype) for value in values)


def as_points(points, n_features, name, rows_only=False):
    """``points`` as a float64 array whose last axis has ``n_features`` entries.

    With ``rows_only`` the array must be 2-D, of shape (n, n_features). Raises a
    ValueError naming ``name`` and the shape received otherwise.
    """
    points = np.asarray(points, dtype=np.float64)
    wrong_rank = rows_only and points.ndim != 2
    if wrong_rank or points.shape[-1:] != (n_features,):
        expected = f"shape (n, {n_features})" if rows_only else \
            f"{n_features} entries in its last axis"
        raise ValueError(f"{name} must have {expected}, got shape {points.shape}.")
    return points


def as_mean(mean, name="mean"):
    """Validate a finite 1-D mean vector and return it as float64."""
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1 or mean.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {mean.shape}.")
    if not np.all(np.isfinite(mean)):
        raise ValueError(f"{name} must be finite.")
    return mean


def cholesky(matrix, name="covariance"):
    """Lower Cholesky factor of a symmetric positive-definite matrix (last two axes).

    Raises a ValueError naming ``name`` when the matrix is not symmetric or not
    positive definite.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{name} must be square, got shape {matrix.shape}.")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must be finite.")
    tol = 1e-10 * np.max(np.abs(matrix), initial=0.0)
    if not np.allclose(matrix, np.swapaxes(matrix, -1, -2), rtol=0.0, atol=tol):
        raise ValueError(f"{name} must be symmetric.")
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite.") from None


def precision_cholesky(chol):
    """``P = L^{-T}`` for lower Cholesky factors ``L`` of covariances (last two axes).

    ``P P^T`` is the precision matrix, so the squared Mahalanobis distance of ``d``
    is ``||d P||^2`` and ``-1/2 log det(covariance) = sum(log diag(P))``.
    """
    chol = np.asarray(chol, dtype=np.float64)
    eye = np.broadcast_to(np.eye(chol.shape[-1]), chol.shape)
    inv = np.linalg.solve(chol, eye)  # L^{-1}; triangular, well conditioned enough
    return np.swapaxes(inv, -1, -2)


def check_n_modes_features(n_features, n_modes):
    """Validate positive integer sizes of the random mixture targets."""
    for name, value in (("n_features", n_features), ("n_modes", n_modes)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(n_features), int(n_modes)


def check_rng(seed):
    """``sklearn.utils.check_random_state``: None, an int or a RandomState."""
    return check_random_state(seed)


def count_near(centres, points, radius):
    """Number of ``centres`` that have at least one of ``points`` within ``radius``."""
    centres = np.asarray(centres, dtype=np.float64)
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if points.shape[1] != centres.shape[1]:
        raise ValueError(f"points must have {centres.shape[1]} columns, got {points.shape[1]}.")
    if points.shape[0] == 0:
        return 0
    dist = np.linalg.norm(centres[:, None, :] - points[None, :, :], axis=2)
    return int(np.sum(np.min(dist, axis=1) < radius))
