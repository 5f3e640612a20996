"""When an NG-VI fit stops, and whether it went wrong: the rules read the
sequence of ELBO estimates (``elbo_history_``), one per iteration, each from
fresh samples of q and so noisy.

* :func:`elbo_stalled`: the smoothed ELBO no longer gains measurably (the
  stopping rule of ``tol`` and ``n_iter_no_change``).
* :func:`fit_stalled`: the stopping rule itself: :func:`elbo_stalled`, unless
  :func:`mixture_growing` (adaptive additions are still raising the number of
  components, whose gain comes later) while q is measurably not the target.
* :func:`proposal_exact`: the estimates agree up to rounding, so q is the target.
* :func:`elbo_collapse`: the smoothed ELBO fell far below its best, so the fit
  diverged (an improper target, whose mass is infinite, does this: q spreads
  until its numbers overflow).
"""

import numpy as np

#: The stopping rule goes on while the smoothed ELBO gains more than this many
#: of its Monte-Carlo standard errors (and more than ``tol``).
GAIN_Z = 2.0
#: The stopping rule compares the last ``max(n_iter_no_change, n / SPAN_DIVISOR)``
#: ELBO estimates (``n`` so far) with as many before: slow gains become measurable.
SPAN_DIVISOR = 4
#: ELBO estimates of fresh samples that agree to within this many machine
#: epsilons (relative) come from a constant log-ratio ``log p~ - log q``: q is
#: the target up to rounding, and nothing is left to gain.
EXACT_SPREAD_EPS = 1e3
#: Median absolute deviation -> standard deviation, for normal noise.
MAD_TO_SD = 1.4826


def compared_span(n_iterations, window):
    """Length of the two spans the stopping rule compares after ``n_iterations``:
    ``max(window, n_iterations // SPAN_DIVISOR)``."""
    return max(window, n_iterations // SPAN_DIVISOR)


def elbo_stalled(history, window, tol):
    """Whether the smoothed ELBO no longer gains measurably (False before ``2 window``).

    The last ``span = max(window, len(history) // SPAN_DIVISOR)`` estimates are compared
    with the ``span`` before, by their medians. The fit has stalled when that
    gain is below ``tol`` per ``window`` iterations (an absolute floor, which
    ends noise-free fits), or below ``GAIN_Z`` of its Monte-Carlo standard
    error (a gain the noise could have made). The span grows with the fit, so a
    slow but steady gain becomes measurable instead of being lost in the noise.
    Medians, not means: one wild estimate (a new component's first samples in
    a region where the target is extreme) must neither stop nor prolong a fit.
    """
    history = np.asarray(history, dtype=np.float64)
    if len(history) < 2 * window:
        return False
    span = compared_span(len(history), window)
    gain = np.median(history[-span:]) - np.median(history[-2 * span:-span])
    return bool(gain < max(tol * span / window, GAIN_Z * median_gain_se(history, span)))


def mixture_growing(n_components, window, max_components):
    """Whether the mixture is still growing: the number of components rose over
    the span :func:`elbo_stalled` compares, and is below ``max_components``.

    An added component starts at a negligible weight and takes a hundred
    iterations or more to gain weight, so while additions arrive faster than
    deletions remove them the smoothed ELBO can stand still for a while before
    it rises again (see :func:`fit_stalled`). Fixed designs never grow, and a
    mixture whose additions are deleted as fast as they come (the steady
    state) does not either.

    Parameters
    ----------
    n_components : sequence of int
        Active components after each iteration so far.
    window : int
        ``n_iter_no_change``: the shortest span compared.
    max_components : int
        The largest number of components the fit may reach.
    """
    n = len(n_components)
    if n < 2 * window:
        return False
    span = compared_span(n, window)
    return n_components[-1] > n_components[-span - 1] and n_components[-1] < max_components


def fit_stalled(history, n_components, window, tol, max_components):
    """The stopping rule: :func:`elbo_stalled`, except while the mixture is
    growing (:func:`mixture_growing`) and its ELBO estimates scatter by more than
    ``tol`` per iteration (:func:`step_noise`).

    Estimates of fresh samples scatter only where ``log p~ - log q`` varies, so
    the scatter says q is measurably not the target and the components still
    arriving may gain; a fit that is exact or nearly so (a Gaussian target after
    its Laplace start: scatter about 1e-13) stops by ``tol`` as before. On the
    seed problem (``MixtureModelPosterior()``, random_state 0, one thread) the
    ELBO stood at -15.43 from iteration 250 to 450 while the mixture grew from
    17 to 25 components (scatter 0.023 per iteration); :func:`elbo_stalled` ended
    the fit at 364 iterations, 0.99 nats below ``log Z``, where the same fit run
    on gains 0.29 nats.

    Parameters
    ----------
    history : sequence of float
        ELBO estimates so far, one per iteration.
    n_components : sequence of int
        Active components after each iteration so far.
    window : int
        ``n_iter_no_change``.
    tol : float
        ``tol``: nats per ``window`` iterations.
    max_components : int
        The largest number of components the fit may reach.
    """
    if not elbo_stalled(history, window, tol):
        return False
    if not mixture_growing(n_components, window, max_components):
        return True
    span = compared_span(len(history), window)
    return step_noise(np.asarray(history, dtype=np.float64)[-2 * span:]) <= tol


def proposal_exact(history, window, dtype_name):
    """Whether the last ``window`` ELBO estimates agree up to rounding.

    Each estimate averages ``log p~ - log q`` over fresh samples of q, so they
    agree to within ``EXACT_SPREAD_EPS`` machine epsilons (of ``dtype_name``,
    relative to their size) only when that log-ratio is constant: q is the
    normalised target, the ELBO is ``log Z`` and no iteration can improve it
    (a kernel density target started from its own kernels, say).
    """
    if len(history) < window:
        return False
    last = np.asarray(history[-window:], dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(last))))
    return bool(np.ptp(last) <= EXACT_SPREAD_EPS * np.finfo(dtype_name).eps * scale)


def median_gain_se(history, span):
    """Monte-Carlo standard error of the difference of the medians of the last
    two ``span``-long windows of ``history``.

    The per-iteration noise is :func:`step_noise`, and the median of ``span`` estimates has about ``sqrt(pi / 2)`` times the
    standard error of their mean.
    """
    noise = step_noise(history[-2 * span:])
    return np.sqrt(2.0) * np.sqrt(np.pi / 2.0) * noise / np.sqrt(span)


#: A fit has diverged when the median of its last ``window`` ELBO estimates lies
#: below the best median of an earlier block of ``window`` by more than this many
#: nats and more than COLLAPSE_Z per-iteration noise standard deviations (of the
#: estimates up to that best block). Trust-region steps and Monte-Carlo noise do
#: not lose that much; numbers that overflow do.
COLLAPSE_NATS = 100.0
COLLAPSE_Z = 20.0


def step_noise(history):
    """Standard deviation of one ELBO estimate's Monte-Carlo noise, from the
    successive differences of ``history`` (which a slow trend hardly affects),
    robustly: their median absolute deviation, a few wild estimates aside."""
    steps = np.diff(np.asarray(history, dtype=np.float64))
    return MAD_TO_SD * np.median(np.abs(steps - np.median(steps))) / np.sqrt(2.0)


def elbo_collapse(history, window):
    """Whether the fit diverged: its smoothed ELBO fell far below its best.

    ``history`` is cut, from its end, into blocks of ``window`` estimates. The
    fit has diverged when the median of a block lies below the best median of
    the blocks before it by more than :data:`COLLAPSE_NATS` and more than
    :data:`COLLAPSE_Z` times :func:`step_noise` of the estimates up to the end
    of the first such best block (the noise of the healthy part of the fit).
    Any block counts, not only the last: once q's numbers overflow, its ELBO
    estimates swing between astronomically low values and the high ones of a
    q spread over everything (an improper target's ELBO rises without bound).

    Returns
    -------
    None or tuple
        None when the fit has not diverged (or has fewer than two blocks);
        else ``(best, fallen, best_iterations, fallen_iterations)``: the best
        median, the first median that fell, and the iterations (1-based,
        ``(first, last)``) of their blocks.
    """
    history = np.asarray(history, dtype=np.float64)
    n_blocks = len(history) // window
    if n_blocks < 2:
        return None
    offset = len(history) - n_blocks * window
    medians = np.median(history[offset:].reshape(n_blocks, window), axis=1)
    finite = np.where(np.isfinite(medians), medians, -np.inf)
    drops = np.maximum.accumulate(finite)[:-1] - medians[1:]  # NaN where a median is NaN
    candidates = np.flatnonzero(drops > COLLAPSE_NATS)
    if not candidates.size:
        return None
    healthy_end = offset + (int(np.argmax(finite[:candidates[0] + 1])) + 1) * window
    noise = step_noise(history[:healthy_end])
    if not np.isfinite(noise):
        return None
    candidates = candidates[drops[candidates] > COLLAPSE_Z * noise]
    if not candidates.size:
        return None
    fallen = int(candidates[0]) + 1
    best = int(np.argmax(finite[:fallen]))

    def iterations(block):
        return offset + block * window + 1, offset + (block + 1) * window
    return float(medians[best]), float(medians[fallen]), iterations(best), iterations(fallen)
