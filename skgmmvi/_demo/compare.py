"""Fitting both libraries and matching their components."""

from time import perf_counter

import numpy as np


def timed_fit(model, X):
    """Fit ``model`` on ``X`` and measure the wall-clock time.

    Parameters
    ----------
    model : estimator
        An unfitted Gaussian mixture.
    X : ndarray of shape (n_samples, n_features) or None
        Training rows (None for a VariationalGMMTarget with a target).

    Returns
    -------
    model : estimator
        The fitted model.
    seconds : float
        Time the fit took.
    """
    start = perf_counter()
    model.fit(X)
    return model, perf_counter() - start


def mixture_pair(n_components):
    """An skgmmvi and a scikit-learn mixture built with the same arguments.

    Parameters
    ----------
    n_components : int
        Number of mixture components.

    Returns
    -------
    ours : skgmmvi.EMGaussianMixture
    reference : sklearn.mixture.GaussianMixture
    """
    from sklearn.mixture import GaussianMixture

    from skgmmvi import EMGaussianMixture

    kwargs = dict(n_components=n_components, covariance_type="full", random_state=0)
    return EMGaussianMixture(**kwargs), GaussianMixture(**kwargs)


def match_components(reference_means, means):
    """Order of ``means`` that pairs each with the nearest reference mean.

    Parameters
    ----------
    reference_means : ndarray of shape (n_components, n_features)
        Means to align to (e.g. the true ones).
    means : ndarray of shape (n_components, n_features)
        Means of a fitted model, in arbitrary label order.

    Returns
    -------
    order : ndarray of shape (n_components,)
        ``means[order][k]`` is the component matched to ``reference_means[k]``
        (one-to-one, minimising the total distance).
    """
    from scipy.optimize import linear_sum_assignment

    distances = np.linalg.norm(reference_means[:, None, :] - means[None, :, :], axis=2)
    _, order = linear_sum_assignment(distances)
    return order


def aligned_parameters(model, reference_means):
    """Weights, means and covariances of ``model`` aligned to ``reference_means``.

    Parameters
    ----------
    model : fitted Gaussian mixture with ``covariance_type='full'``
    reference_means : ndarray of shape (n_components, n_features)

    Returns
    -------
    weights, means, covariances : ndarray
        The fitted parameters, components reordered by :func:`match_components`.
    """
    order = match_components(reference_means, model.means_)
    return model.weights_[order], model.means_[order], model.covariances_[order]


def largest_parameter_difference(ours, reference):
    """Largest absolute difference between two fits' parameters, aligned.

    Parameters
    ----------
    ours, reference : fitted Gaussian mixtures with ``covariance_type='full'``

    Returns
    -------
    float
        Maximum over weights, means and covariances of ``|ours - reference|``.
    """
    mine = aligned_parameters(ours, reference.means_)
    theirs = (reference.weights_, reference.means_, reference.covariances_)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(mine, theirs))
