"""Validation of user-supplied initial parameters (``weights_init`` and friends).

Messages are scikit-learn's, so code that matches on them keeps working. Unlike
scikit-learn, the checked values are returned, never written back to the estimator.
"""

import numpy as np
from sklearn.utils import check_array


def check_shape(param, expected, name):
    """Raise if ``param.shape`` is not ``expected``."""
    if param.shape != expected:
        raise ValueError(
            "The parameter '%s' should have the shape of %s, but got %s"
            % (name, expected, param.shape)
        )


def check_weights(weights, n_components):
    """Validated mixture weights of shape (n_components,) summing to one."""
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value"
            " %.5f, min value %.5f" % (np.min(weights), np.max(weights))
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(np.abs(1.0 - np.sum(weights)), 0.0, atol=atol):
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = %.5f"
            % np.sum(weights)
        )
    return weights


def check_means(means, n_components, n_features):
    """Validated means of shape (n_components, n_features)."""
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    check_shape(means, (n_components, n_features), "means")
    return means


def check_symmetric_positive_definite(matrices, covariance_type):
    for matrix in matrices:
        if not (np.all(np.isclose(matrix, matrix.T))
                and np.all(np.linalg.eigvalsh(matrix) > 0.0)):
            raise ValueError(
                "'%s precision' should be symmetric, positive-definite" % covariance_type
            )


def check_precisions(precisions, covariance_type, n_components, n_features):
    """Validated precisions with the shape of ``covariance_type``."""
    precisions = check_array(
        precisions, dtype=[np.float64, np.float32], ensure_2d=False,
        allow_nd=covariance_type == "full",
    )
    expected = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]
    check_shape(precisions, expected, "%s precision" % covariance_type)
    if covariance_type == "full":
        check_symmetric_positive_definite(precisions, covariance_type)
    elif covariance_type == "tied":
        check_symmetric_positive_definite(precisions[None], covariance_type)
    elif np.any(precisions <= 0.0):
        raise ValueError("'%s precision' should be positive" % covariance_type)
    return precisions


def precision_cholesky_from_precisions(precisions, covariance_type):
    """Upper-triangular ``U`` with ``U U^T = precision`` (square roots for diag types).

    Reversing rows and columns turns the lower Cholesky factor of the reversed
    matrix into the upper factor of the original one.
    """
    if covariance_type in ("full", "tied"):
        flipped = precisions[..., ::-1, ::-1]
        return np.linalg.cholesky(flipped)[..., ::-1, ::-1].copy()
    return np.sqrt(precisions)


def covariances_from_precisions(precisions, covariance_type):
    """Inverse of each precision matrix (reciprocals for diag types)."""
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def normalized_sample_weight(sample_weight):
    """``sample_weight`` times the power of two that brings its largest entry to [1, 2).

    Multiplying by a power of two is exact, so weights that differ by a constant
    factor give the same fit (to rounding of that factor), and weights of 1e-30 or
    1e30 neither collapse covariances to ``reg_covar`` (against the M-step's
    10 eps guard on counts) nor overflow the sums.
    """
    return sample_weight * weight_scale(sample_weight)


def weight_scale(sample_weight):
    """The power of two that brings the largest of ``sample_weight`` to [1, 2)."""
    _, exponent = np.frexp(np.max(sample_weight))
    return float(np.ldexp(1.0, 1 - int(exponent)))


def covariances_shape(covariance_type, n_components, n_features):
    """The shape of ``covariances_`` (and of the precision arrays) for a model."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def check_finite_parameters(params, dtype):
    """Raise when fitted parameters are not finite in ``dtype`` (never store them).

    Parameters
    ----------
    params : sequence of array-like
        The fitted arrays (weights, means, covariances, precision factors).
    dtype : numpy dtype
        The dtype in which they are stored.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        finite = all(np.all(np.isfinite(np.asarray(p, dtype=dtype))) for p in params)
    if finite:
        return
    hint = ("compute in float64 (dtype='float64' and float64 input)"
            if np.dtype(dtype) == np.float32 else "compute in float64")
    raise ValueError(
        f"The fitted parameters are not finite in {np.dtype(dtype).name}: the data's "
        f"scale overflows it (for instance, covariances of data around 1e19 or beyond "
        f"exceed float32's range). Rescale the data (e.g. with "
        f"sklearn.preprocessing.StandardScaler) or {hint}.")
