"""Components for modes that are the far end of a flat ridge of ``log p~``.

One job: where a mode's Laplace approximation is a poor account of its mass,
give the component that starts there the mean and covariance of the mass.

The mode search (:mod:`.mode_search`) climbs ``log p~``. Along a ridge that
keeps rising slowly (or stays flat) while it narrows, it stops far down the
ridge, where the density is highest but the mass is not: a cluster of a
mixture posterior holding one data point has ``log p~`` flat along
``mu = x_n``, ``log sigma -> -inf`` (the likelihood's ``1/sigma`` against the
Jacobian's ``sigma``), and its mass lies at ``sigma`` of order one, where the
ridge is ``e^10`` times wider than at the end point. The Laplace component
there (width ``e^-10`` across the ridge) starts q where the mass is not.

Such a mode has a direction in which ``log p~`` is flatter than the start
resolves (its Laplace precision is floored, see
:func:`.mode_search.laplace_covariances`). Along that direction ``v`` the
ridge's *profile* is traced: at points ``m + t v`` (``t`` on a grid of
:data:`N_GRID` points within :data:`GRID_HALF_WIDTH` floored standard
deviations), ``log p~`` is maximised across ``v`` (:data:`N_NEWTON_STEPS`
safeguarded Newton steps in the complement of ``v``), and the Laplace mass of
the cross-section, ``log p~ + 1/2 log det Sigma_perp``, weighs the point.
The component gets the moments of that profile: the weighted mean of the
points, and the weighted mixture covariance of their cross-sections
(``Sigma_perp``, nothing along ``v``) plus the spread of the points (along
``v`` at least a grid cell's variance, ``step^2 / 12``).
Cross-sections whose Hessian is not negative definite (no maximum across
``v``) weigh nothing; a mode whose ridge has no such point keeps its Laplace
component. Modes without a floored direction are left as they are.
"""

import numpy as np
from scipy.special import logsumexp

#: The probe: a mode is traced only when the cross-section mass at
#: ``PROBE_OFFSET`` floored standard deviations along its flat direction, on
#: either side, exceeds the mode's own (its Laplace evidence less the flat
#: direction's share) by more than ``PROBE_GAIN`` nats: its mass lies away from
#: it (where the target is merely wider than the start in that direction, the
#: mass at one floored sd is less than at the mode).
PROBE_OFFSET = 1.0
PROBE_GAIN = 1.0
#: Points of the grid along the flat direction (odd: the mode itself is one).
N_GRID = 33
#: Half width of the grid, in floored Laplace standard deviations.
GRID_HALF_WIDTH = 2.0
#: Newton steps across the ridge at each grid point.
N_NEWTON_STEPS = 2
#: A Laplace variance counts as floored (the direction as flat) from this
#: fraction of the floor ``max(variances)`` on.
FLOORED_FRACTION = 1.0 - 1e-6


def laplace_log_masses(values, covariances):
    """Laplace evidence ``log p~ + 1/2 log det (2 pi Sigma)`` of modes with
    ``log p~`` ``values`` (M,) and covariances (M, D, D)."""
    return values + 0.5 * np.linalg.slogdet(2 * np.pi * covariances)[1]


def flat_directions(covariances, variances):
    """The widest eigenvector of each covariance and whether it is floored
    (no narrower than ``max(variances)``, :data:`FLOORED_FRACTION`).

    Returns ``(flat, directions, complements)``: a mask (M,), the directions
    (M, D) and orthonormal bases of their complements (M, D, D - 1).
    """
    eigenvalues, vectors = np.linalg.eigh(covariances)
    flat = eigenvalues[:, -1] >= FLOORED_FRACTION * np.max(variances)
    return flat, vectors[:, :, -1], vectors[:, :, :-1]


def _cross_sections(hessians, complements, variances):
    """Floored covariances across the ridge (in the complement's coordinates),
    their log-determinants, and whether ``-H`` is positive definite there."""
    across = -np.einsum("ndi,nde,nej->nij", complements, hessians, complements)
    across = 0.5 * (across + np.transpose(across, (0, 2, 1)))
    finite = np.all(np.isfinite(across), axis=(1, 2))
    eigenvalues, vectors = np.linalg.eigh(np.where(finite[:, None, None], across, -1.0 * np.eye(
        across.shape[1])))
    definite = finite & (eigenvalues[:, 0] > 0)
    floored = np.maximum(eigenvalues, 1.0 / np.max(variances))
    covariances = (vectors / floored[:, None, :]) @ np.transpose(vectors, (0, 2, 1))
    return covariances, -np.sum(np.log(floored), axis=1), definite


def _climb_across(hessians_at, points, complements, variances):
    """:data:`N_NEWTON_STEPS` Newton steps across the ridge (each kept where
    ``log p~`` rose); returns the points, their ``log p~``, cross-section
    covariances (complement coordinates), log-determinants, definiteness and
    the target evaluations."""
    values, grads, hessians, used = hessians_at(points)
    for _ in range(N_NEWTON_STEPS):
        covariances, _, definite = _cross_sections(hessians, complements, variances)
        step = np.einsum("ndi,nij,nej,ne->nd", complements, covariances, complements, grads)
        step = np.where(np.isfinite(step) & definite[:, None], step, 0.0)
        new_values, new_grads, new_hessians, count = hessians_at(points + step)
        used += count
        better = np.isfinite(new_values) & (new_values >= np.where(np.isfinite(values), values,
                                                                   -np.inf))
        points = np.where(better[:, None], points + step, points)
        values = np.where(better, new_values, values)
        grads = np.where(better[:, None], new_grads, grads)
        hessians = np.where(better[:, None, None], new_hessians, hessians)
    covariances, log_dets, definite = _cross_sections(hessians, complements, variances)
    return points, values, covariances, log_dets, definite, used


def ridge_components(hessians_at, means, values, covariances, variances):
    """Components with the moments of the mass along each mode's flat ridge.

    Parameters
    ----------
    hessians_at : callable
        ``x (n, D) -> (log p~, gradient, Hessian, evaluations)`` at the rows of
        ``x`` (:func:`.mode_search._hessians` bound to the target).
    means : ndarray of shape (M, D)
        The modes.
    values : ndarray of shape (M,)
        Their ``log p~``.
    covariances : ndarray of shape (M, D, D)
        Their floored Laplace covariances.
    variances : ndarray of shape (D,)
        The start's variances (the floor is ``max(variances)``).

    Returns
    -------
    means, covariances : ndarray
        As given where a mode has no floored direction, or no maximum across
        its ridge; else the moments of the ridge's Laplace profile.
    log_masses : ndarray of shape (M,)
        The mass each component accounts for: the Laplace evidence
        ``log p~ + 1/2 log det (2 pi Sigma)`` of a mode left as it is, the
        integral of the profile's cross-section masses along the ridge
        (rectangle rule on the grid) for a ridge.
    n_evaluations : int
    """
    log_masses = laplace_log_masses(values, covariances)
    means, covariances = means.copy(), covariances.copy()
    flat, directions, complements = flat_directions(covariances, variances)
    scale = np.sqrt(np.max(variances))
    index = np.flatnonzero(flat)
    probe, used = _profile(hessians_at, means[index], directions[index], complements[index],
                           np.array([-PROBE_OFFSET, PROBE_OFFSET]) * scale, variances)
    # the mode's own cross-section: its Laplace evidence less the flat direction's share
    at_mode = log_masses[index] - 0.5 * np.log(2 * np.pi * np.max(variances))
    index = index[np.max(probe[0], axis=1, initial=-np.inf) > at_mode + PROBE_GAIN]
    offsets = np.linspace(-GRID_HALF_WIDTH, GRID_HALF_WIDTH, N_GRID) * scale
    (log_mass, points, across), count = _profile(
        hessians_at, means[index], directions[index], complements[index], offsets, variances)
    found = np.isfinite(np.max(log_mass, axis=1, initial=-np.inf))
    step = offsets[1] - offsets[0]
    weights = np.exp(log_mass - np.max(log_mass, axis=1, initial=-np.inf, keepdims=True,
                                       where=np.isfinite(log_mass)))
    weights = np.where(np.isfinite(log_mass), weights, 0.0)
    weights /= np.where(found, weights.sum(axis=1), 1.0)[:, None]
    centre = np.einsum("mg,mgd->md", weights, points)
    spread = points - centre[:, None]
    moments = np.einsum("mg,mgde->mde", weights,
                        across + spread[..., :, None] * spread[..., None, :])
    # along v, at least a grid cell's own variance (a profile on one point)
    along = np.einsum("md,mde,me->m", directions[index], moments, directions[index])
    moments += (np.maximum(step ** 2 / 12.0 - along, 0.0)[:, None, None]
                * np.einsum("md,me->mde", directions[index], directions[index]))
    keep = index[found]
    means[keep], covariances[keep] = centre[found], moments[found]
    log_masses[keep] = logsumexp(log_mass[found], axis=1) + np.log(step)
    return means, covariances, log_masses, int(used + count)


def _profile(hessians_at, means, directions, complements, offsets, variances):
    """The ridge profile at ``means + offsets * directions``: per mode and
    offset, the log Laplace mass of the cross-section (``-inf`` where it has no
    maximum), the point across the ridge and its cross-section covariance
    (D x D, nothing along the direction). Returns those and the evaluations."""
    m, d = means.shape
    g = offsets.shape[0]
    if not m:
        return (np.empty((0, g)), np.empty((0, g, d)), np.empty((0, g, d, d))), 0
    grid = means[:, None] + offsets[None, :, None] * directions[:, None]
    basis = np.repeat(complements, g, axis=0)
    points, values, across, log_dets, definite, used = _climb_across(
        hessians_at, grid.reshape(-1, d), basis, variances)
    log_mass = np.where(definite & np.isfinite(values),
                        values + 0.5 * log_dets + 0.5 * (d - 1) * np.log(2 * np.pi), -np.inf)
    across = np.einsum("ndi,nij,nej->nde", basis, across, basis)
    return (log_mass.reshape(m, g), points.reshape(m, g, d), across.reshape(m, g, d, d)), used
