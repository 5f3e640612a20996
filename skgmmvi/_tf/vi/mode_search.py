"""Where an NG-VI fit starts: the target's modes and their Laplace approximations.

One job: turn a prior start (means and per-feature variances) into initial
components placed at the modes of ``log p~``.

1. **Usable scale.** Samples of the prior start are evaluated; while most of them
   are non-finite or astronomically low (below :data:`ASTRONOMICALLY_LOW`), the
   scale shrinks by a decade (at most :data:`MAX_SHRINKS` times).
2. **Skip.** When the start already sits in the target's typical set (the
   importance weights ``p~/q0`` of those samples have an effective sample size
   of at least :data:`GOOD_START_ESS` of their number), no search runs. The
   start is also kept after a search that found several distinct modes of
   non-negligible Laplace evidence (within a factor 1e4 of the best), all of
   them within reach of the start (each in its typical set: the squared
   Mahalanobis distance under the start mixture's mean and covariance
   between the chi-square 0.001 and 0.999 quantiles; a mode near the centre
   of a broad start in D dimensions is not where its samples go): its samples then
   explore every mode, found or not, where components started at the modes
   found (with their narrow Laplace covariances) explore less; on the planar
   robot (7 modes found from 40 starts, for 40 components) and the 10-mode GMM they fared
   worse at every budget of ``benchmarks/bench_vi.py``. A kept start still
   gets a component (as in step 4, weight :data:`MISSED_MODE_WEIGHT`)
   at each mode found that its samples miss (:func:`missed_modes`): its samples
   explore only where they land, and q's new components start near q's own
   samples, so such a mode would stay unvisited (on the planar robot, the
   modes of its goals). While such modes turn up, the search
   goes on in batches as in step 3 (so that all copies are found), the start
   staying kept. Only with adaptive components (``max_components`` given).
3. **Search.** Batched L-BFGS (memory :data:`MEMORY`, backtracking Armijo line
   search) maximises ``log p~`` from several over-dispersed starts at once, in one
   compiled ``tf.while_loop``; TensorFlow targets are differentiated by autodiff
   inside it, numpy targets (``uses_tensorflow = False``) are called through
   ``tf.numpy_function``. It stops when every start has converged or the budget
   of target evaluations is spent. End points that were still gaining then, or
   where a Newton step still promises more than :data:`MAX_MODE_NEWTON_GAIN`,
   are no modes: a search that runs up an unbounded density (the neck of a
   centred hierarchical model, where ``log p~ -> inf`` as the scale
   ``tau -> 0``) stops only when its line search fails, far down the neck, and
   a component there would start q in the singularity. Nor are saddles (a start
   exactly between two symmetric modes has a zero gradient). When no end point
   is a mode, the prior start is kept.
   The starts come in batches (:func:`search_modes`): they sample the target's
   basins of attraction, and the modes reached by one or two starts only say
   how likely another start is to find a new mode (a Good-Turing estimate with
   its standard error, :func:`unseen_chance`). Further, wider batches run while
   a new mode is plausible, within the budget; a budget spent while one still
   is makes the fit warn (:class:`SearchSummary`, ``stopped='budget'``). When
   every start agrees, Good-Turing sees nothing however few the starts, so
   confirming batches (drawn from a copy of the random state, so that a fit
   they find nothing new for is unchanged) double the starts while the budget
   affords it, until a basin no start reached would have caught one with 95 %
   probability had it held 5 % of the starts' mass (:func:`unseen_mass_bound`;
   60 starts at modes). A far mode of weight 0.01 in D = 20, whose basin
   catches about 2 % of the starts, was missed by 2 of 10 seeds with the
   first batch of 8 alone and by none with the confirming batches.
4. **Laplace.** The Hessian at each end point (autodiff for TensorFlow targets,
   central differences of the gradient for numpy ones) gives the covariance
   ``(-H)^{-1}``, its eigenvalues floored so that no component is wider than the
   (shrunken) start; one safeguarded Newton step refines each point. End points
   within one standard deviation of a better one (in its Laplace metric) merge.
   A mode at the far end of a flat ridge (the search stops there, where the
   density is highest but the mass is not) gets a component with the moments
   of the ridge's mass instead (:mod:`.ridge_profile`), and its evidence is
   the ridge's. The components go to the distinct modes in order of that evidence,
   repeating the best ones when there are fewer modes than components; when
   there are more modes of non-negligible evidence than components, each gets
   one (up to ``max_components``): a mode without a component is one the NG-VI
   iterations rarely find (their new components start near q's samples), and
   its absence is invisible to q's own diagnostics (a q that fits one of ten
   equal modes exactly has constant importance ratios).

The compiled search and Hessian are cached with the NG-VI iteration's compiled
functions, keyed per (kind, dtype, target class or target), with dynamic shapes:
new dimensions, starts and budgets do not retrace.
"""

import collections

import numpy as np

from .._runtime import device_name, tensorflow, tf_dtype
from ..compile_cache import COMPILED
from ..time_slices import SliceClock
from .compile import TargetEvaluator
from .compile import spec_like as _spec_like
from .ridge_profile import laplace_log_masses, ridge_components
from .target_adapter import target_key, target_parameters, target_values_and_grads

#: Log-densities below this carry no usable information (their gradients are
#: astronomically large, their weights zero): such samples count as unusable.
ASTRONOMICALLY_LOW = -1e10
#: The start's scale shrinks by a decade while fewer than this fraction of its
#: samples are usable.
USABLE_FRACTION = 0.5
MAX_SHRINKS = 8
#: Importance-sampling ESS fraction (of the start's samples under the target) from
#: which on the start counts as already good and no mode search runs.
GOOD_START_ESS = 0.1
#: Samples of the start evaluated for the two checks above.
N_CHECK_SAMPLES = 200
#: Fewest starts of the search; with K components it runs from max(this, K).
MIN_STARTS = 8
#: Default budget of target evaluations of the search (L-BFGS, Hessians, Newton steps).
SEARCH_BUDGET = 20000
#: Further batches of starts run while the chance that one more start finds a
#: new mode may exceed this: its Good-Turing estimate plus UNSEEN_Z standard
#: errors (a mode reached by one or two starts only hints at others not reached).
MAX_UNSEEN_CHANCE = 0.05
UNSEEN_Z = 2.0
#: When every start has ended at a mode reached by several, the Good-Turing
#: estimate and its standard error are both 0 however few the starts: 8 starts
#: at one mode leave room for a basin holding a third of the starts' mass. So
#: the search goes on confirming (each batch as many starts as all before it,
#: while one fits in the budget) until an unseen basin of mass ``u`` would have
#: caught a start with probability ``1 - UNSEEN_ALPHA``: ``(1 - u)^n <=
#: UNSEEN_ALPHA`` for ``u >= log(1 / UNSEEN_ALPHA) / n`` (the "rule of three"),
#: which must fall to MAX_UNSEEN_CHANCE (60 starts at modes).
UNSEEN_ALPHA = 0.05
#: Over-dispersion of the starts drawn around the start's means, in units of
#: its scale: the first batch's, and the later ones' (cycled over the starts;
#: wider, so that modes far from a start that is too narrow are reached too:
#: the 10-mode GMM target's means lie about 3 default scales from the origin).
FIRST_DISPERSION = 2.0
DISPERSION = (2.0, 4.0, 8.0)
#: L-BFGS memory, Armijo constant, most halvings of a line search, most iterations.
MEMORY = 8
ARMIJO = 1e-4
MAX_BACKTRACKS = 40
MAX_ITERATIONS = 2000
#: A start has converged when an iteration gains less than this (relative).
RELATIVE_GAIN = 1e-11
#: Modes whose Laplace evidence is this far (in log) below the best one's carry
#: negligible mass: they do not count as modes the start must reach.
LOG_NEGLIGIBLE_MASS = np.log(1e4)
#: An end point where a Newton step (with the floored Laplace covariance)
#: still promises more than this gain of ``log p~`` (nats) is no mode: the search
#: stopped on a slope, e.g. after running up an unbounded density until its
#: line search failed.
MAX_MODE_NEWTON_GAIN = 1.0
#: An end point whose narrowest Laplace standard deviation is below this many
#: rounding units of its coordinates (``eps * max |x_i|``) is no mode either: the
#: density rises until rounding of ``x`` stops it (an unbounded density, such as
#: a centred hierarchical model's neck, where the search stops at
#: ``tau ~ eps |mu|``); q cannot start there (its covariance is not even
#: numerically positive definite).
MIN_MODE_WIDTH_IN_ROUNDING_UNITS = 1e4
#: Squared Laplace distance below which two end points are the same mode.
SAME_MODE_DISTANCE2 = 1.0

Start = collections.namedtuple("Start", "means covariances n_evaluations searched summary weights",
                               defaults=(None,))
SearchSummary = collections.namedtuple(
    "SearchSummary", "n_starts n_at_modes n_modes n_singletons unseen_chance "
    "unseen_chance_se estimated_n_modes n_evaluations stopped n_unbounded")
SearchSummary.__doc__ = """What the mode search saw (see :func:`search_modes`).

Attributes
----------
n_starts : int
    Starting points climbed.
n_at_modes : int
    Those that ended at a mode (the others stopped on a slope, at a
    non-finite value, or when the budget ran out).
n_modes : int
    Distinct modes found.
n_singletons : int
    Modes reached by one start only.
unseen_chance : float
    Good-Turing estimate of the chance that one more start finds a new mode,
    ``n_singletons / n_at_modes`` (NaN without modes).
unseen_chance_se : float
    Its standard error (Esty, 1983).
estimated_n_modes : float
    Chao1 estimate of the number of modes the starts can reach.
n_evaluations : int
    Target evaluations of the search.
stopped : {'complete', 'budget', 'start kept', 'no mode'}
    Why the search stopped (see :func:`search_modes`). ``'budget'``: the budget
    ran out while a new mode was still plausible (:func:`likely_unseen`), so
    the components may have missed modes.
n_unbounded : int
    Starts (not at known modes) whose end point the density rose into until
    the rounding of ``x`` stopped it (:func:`resolved_widths` fails there): a
    density that grows without bound, as in a funnel's neck. q's Gaussian
    components cannot follow it and may miss mass there.
"""


# ------------------------------------------------------------ compiled parts
def _cached(kind, dtype_name, target, build):
    return COMPILED.get(("vi", kind, dtype_name, target_key(target)), build, keep=target)


def _values_and_grads(target, dtype):
    """Traceable ``(x, params) -> (log p~, grad)`` for TF and numpy targets."""
    tf = tensorflow()
    if getattr(target, "uses_tensorflow", True):
        def evaluate(x, params):
            value, grad = target_values_and_grads(target, x, params)
            return tf.cast(value, dtype), tf.cast(grad, dtype)
        return evaluate
    np_dtype = dtype.as_numpy_dtype

    def host(x):
        value, grad = target.log_density_and_grad(x)
        return (np.asarray(value, np_dtype).reshape(-1),
                np.asarray(grad, np_dtype).reshape(x.shape))

    def evaluate(x, params):
        value, grad = tf.numpy_function(host, [x], [dtype, dtype], stateful=False)
        return tf.reshape(value, [-1]), tf.reshape(grad, tf.shape(x))
    return evaluate


def _two_loop(grad, s_hist, y_hist, rho, first_scale):
    """L-BFGS direction ``-H grad`` for minimisation, batched over rows."""
    tf = tensorflow()
    q = grad
    alphas = []
    for i in range(MEMORY):  # newest pair first
        alpha = rho[:, i] * tf.reduce_sum(s_hist[:, i] * q, axis=1)
        q = q - alpha[:, None] * y_hist[:, i]
        alphas.append(alpha)
    sy = tf.reduce_sum(s_hist[:, 0] * y_hist[:, 0], axis=1)
    yy = tf.reduce_sum(y_hist[:, 0] * y_hist[:, 0], axis=1)
    gamma = tf.where(rho[:, 0] > 0, sy / tf.where(yy > 0, yy, tf.ones_like(yy)), first_scale)
    r = gamma[:, None] * q
    for i in reversed(range(MEMORY)):
        beta = rho[:, i] * tf.reduce_sum(y_hist[:, i] * r, axis=1)
        r = r + (alphas[i] - beta)[:, None] * s_hist[:, i]
    return -r


def _build_search(target, dtype_name):
    """The compiled L-BFGS of :func:`_search`: ``start(x0, params)`` evaluates the
    starts (``-log p~`` and its gradient: the search minimises), ``advance(state,
    params, first_step, budget, stop)`` runs its iterations until iteration
    ``stop``, every row converged or ``budget`` evaluations spent, and returns the
    state ``(iteration, x, f, g, s_hist, y_hist, rho, active, count)``."""
    tf = tensorflow()
    dtype = tf_dtype(dtype_name)
    evaluate = _values_and_grads(target, dtype)
    params_spec = tuple(_spec_like(p) for p in target_parameters(target, dtype_name))
    rows, history = tf.TensorSpec([None, None], dtype), tf.TensorSpec([None, MEMORY, None], dtype)
    state_spec = (tf.TensorSpec([], tf.int32), rows, tf.TensorSpec([None], dtype), rows,
                  history, history, tf.TensorSpec([None, MEMORY], dtype),
                  tf.TensorSpec([None], tf.bool), tf.TensorSpec([], tf.int64))

    @tf.function(autograph=False, input_signature=[rows, params_spec])
    def start(x0, params):
        value, grad = evaluate(x0, params)
        return -value, -grad

    @tf.function(autograph=False, input_signature=[
        state_spec, params_spec, tf.TensorSpec([], dtype), tf.TensorSpec([], tf.int64),
        tf.TensorSpec([], tf.int32)])
    def advance(state, params, first_step, budget, stop):
        def cond(i, x, f, g, s_hist, y_hist, rho, active, count):
            return (i < stop) & tf.reduce_any(active) & (count < budget)

        def body(i, x, f, g, s_hist, y_hist, rho, active, count):
            norm = tf.norm(g, axis=1)
            first = first_step / tf.where(norm > 0, norm, tf.ones_like(norm))
            direction = _two_loop(g, s_hist, y_hist, rho, first)
            descent = tf.reduce_sum(direction * g, axis=1) < 0
            direction = tf.where(descent[:, None], direction, -first[:, None] * g)
            x_new, f_new, g_new, moved, used = _line_search(
                evaluate, params, x, f, g, direction, active)
            s, y = x_new - x, g_new - g
            sy = tf.reduce_sum(s * y, axis=1)
            keep = moved & (sy > 0)
            s_hist = tf.where(keep[:, None, None], tf.concat([s[:, None], s_hist[:, :-1]], 1),
                              s_hist)
            y_hist = tf.where(keep[:, None, None], tf.concat([y[:, None], y_hist[:, :-1]], 1),
                              y_hist)
            new_rho = tf.concat([(1 / tf.where(keep, sy, tf.ones_like(sy)))[:, None],
                                 rho[:, :-1]], 1)
            rho = tf.where(keep[:, None], new_rho, rho)
            gain = f - f_new
            active = moved & (gain > RELATIVE_GAIN * (1 + tf.abs(f_new)))
            return i + 1, x_new, f_new, g_new, s_hist, y_hist, rho, active, count + used

        return tf.while_loop(cond, body, state)

    return start, advance


def _line_search(evaluate, params, x, f, g, direction, active):
    """Backtracking Armijo search of the active rows on ``-log p~`` (halving steps).

    Returns the new ``(x, f, g)`` (unchanged where no step was accepted), the
    rows that moved, and the number of rows evaluated.
    """
    tf = tensorflow()
    slope = tf.reduce_sum(g * direction, axis=1)
    n = tf.shape(x)[0]

    def cond(k, pending, x_new, f_new, g_new, count):
        return (k < MAX_BACKTRACKS) & tf.reduce_any(pending)

    def body(k, pending, x_new, f_new, g_new, count):
        step = tf.cast(0.5, x.dtype) ** tf.cast(k, x.dtype)
        rows = tf.where(pending)[:, 0]
        trial = tf.gather(x, rows) + step * tf.gather(direction, rows)
        value, grad = evaluate(trial, params)
        phi = -value
        ok = tf.math.is_finite(phi) & tf.reduce_all(tf.math.is_finite(grad), axis=1) & (
            phi <= tf.gather(f, rows) + ARMIJO * step * tf.gather(slope, rows))
        index = rows[:, None]
        x_new = tf.tensor_scatter_nd_update(
            x_new, index, tf.where(ok[:, None], trial, tf.gather(x_new, rows)))
        f_new = tf.tensor_scatter_nd_update(f_new, index, tf.where(ok, phi, tf.gather(f_new, rows)))
        g_new = tf.tensor_scatter_nd_update(
            g_new, index, tf.where(ok[:, None], -grad, tf.gather(g_new, rows)))
        accepted = tf.scatter_nd(index, ok, [n])
        return (k + 1, pending & ~accepted, x_new, f_new, g_new,
                count + tf.cast(tf.size(rows), tf.int64))

    _, pending, x_new, f_new, g_new, count = tf.while_loop(
        cond, body, (tf.constant(0), active, x, f, g, tf.constant(0, tf.int64)))
    return x_new, f_new, g_new, active & ~pending, count


def _build_hessian(target, dtype_name):
    tf = tensorflow()
    dtype = tf_dtype(dtype_name)
    params_spec = tuple(_spec_like(p) for p in target_parameters(target, dtype_name))

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None, None], dtype), params_spec])
    def hessian(x, params):
        with tf.GradientTape() as outer:
            outer.watch(x)
            value, grad = target_values_and_grads(target, x, params)
        return (tf.cast(value, dtype), tf.cast(grad, dtype),
                tf.cast(outer.batch_jacobian(grad, x), dtype))

    return hessian


# ---------------------------------------------------------------- the host
def _is_numpy(target):
    return not getattr(target, "uses_tensorflow", True)


def _diagonal_log_q(x, means, variances):
    """Log-density of the equal-weight mixture of ``N(means_k, diag(variances))``."""
    z2 = np.sum((x[:, None, :] - means[None]) ** 2 / variances, axis=2)
    log_component = -0.5 * (z2 + np.sum(np.log(2 * np.pi * variances)))
    return np.logaddexp.reduce(log_component, axis=1) - np.log(means.shape[0])


UsableScale = collections.namedtuple("UsableScale", "variances x log_p log_q n_evaluations")
UsableScale.__doc__ = """The start's samples at the scale :func:`_usable_scale` settles on:
the variances (D,), the samples ``x`` (N_CHECK_SAMPLES, D), their ``log p~`` and
``log q0`` (under the equal-weight start at those variances), and the target
evaluations of every scale tried."""


def _usable_scale(evaluator, means, variances, rng):
    """Shrink ``variances`` by decades until most of the start's samples are usable.

    Returns
    -------
    UsableScale
        The scale with the largest usable fraction (the first one that reaches
        :data:`USABLE_FRACTION`), its samples and their log-densities.
    """
    noise = rng.standard_normal((N_CHECK_SAMPLES, means.shape[1]))
    centres = means[np.arange(N_CHECK_SAMPLES) % means.shape[0]]
    best = None
    for shrink in range(MAX_SHRINKS + 1):
        scaled = variances * 100.0 ** -shrink
        x = centres + noise * np.sqrt(scaled)
        log_p = evaluator(x)
        usable = np.mean(np.isfinite(log_p) & (log_p > ASTRONOMICALLY_LOW))
        if best is None or usable > best[0]:
            best = (usable, scaled, x, log_p)
        if usable >= USABLE_FRACTION:
            break
    _, scaled, x, log_p = best
    return UsableScale(scaled, x, log_p, _diagonal_log_q(x, means, scaled),
                       N_CHECK_SAMPLES * (shrink + 1))


def finite_start_rows(target, dtype_name, means, variances, n_rows):
    """Up to ``n_rows`` samples of the start where ``log p~`` is finite, the scale
    shrunk by decades as in :func:`_usable_scale` (fixed seed: the fit's random
    stream is not used), and the target evaluations spent.

    For the first check of a target whose density is non-finite at every check
    row of the start (defined only near its centre, or overflowing far from it):
    the rows it returns are where the target can be checked and searched from.
    """
    scale = _usable_scale(TargetEvaluator(target, dtype_name), means, variances,
                          np.random.RandomState(0))
    return scale.x[np.isfinite(scale.log_p)][:n_rows], scale.n_evaluations


def _ess_fraction(log_weights):
    finite = np.isfinite(log_weights)
    if not np.any(finite):
        return 0.0
    w = np.exp(log_weights[finite] - np.max(log_weights[finite]))
    return float(np.sum(w) ** 2 / np.sum(w**2) / log_weights.shape[0])


def _run(kind, build, target, dtype_name, x, *extra):
    """Call the cached compiled function ``kind`` on the rows ``x``, the target's
    parameters and ``extra`` tensors; its outputs as numpy arrays."""
    tf = tensorflow()
    function = _cached(kind, dtype_name, target, lambda: build(target, dtype_name))
    params = target_parameters(target, dtype_name)
    with tf.device(device_name()):
        out = function(tf.constant(x.astype(dtype_name)),
                       tuple(tf.constant(p) for p in params), *extra)
    return [tensor.numpy() for tensor in out]


def _search(target, dtype_name, starts, first_step, budget):
    """Run the compiled L-BFGS (:func:`_build_search`) from ``starts``: end points,
    their ``log p~``, whether each had converged (stopped gaining) and the
    evaluations. It runs in calls of about :data:`skgmmvi._tf.time_slices.SLICE_SECONDS`
    (Ctrl-C stops it that soon), each continuing from the exact state the one
    before returned: the same numbers as one call."""
    tf = tensorflow()
    start, advance = _cached("mode_search", dtype_name, target,
                             lambda: _build_search(target, dtype_name))
    dtype = tf_dtype(dtype_name)
    params = tuple(tf.constant(p) for p in target_parameters(target, dtype_name))
    with tf.device(device_name()):
        x = tf.constant(starts.astype(dtype_name))
        f, g = start(x, params)
        n, d = starts.shape
        history = tf.zeros([n, MEMORY, d], dtype)
        active = tf.math.is_finite(f) & tf.reduce_all(tf.math.is_finite(g), axis=1)
        state = (tf.constant(0), x, f, g, history, history, tf.zeros([n, MEMORY], dtype),
                 active, tf.constant(n, tf.int64))
        step, budget_t = tf.constant(first_step, dtype), tf.constant(int(budget), tf.int64)
        clock, iteration = SliceClock(), 0
        while (iteration < MAX_ITERATIONS and int(state[8]) < budget
               and np.any(state[7].numpy())):
            stop = iteration + clock.size(MAX_ITERATIONS - iteration)
            clock.start()
            state = advance(state, params, step, budget_t, tf.constant(stop, tf.int32))
            clock.stop(int(state[0]) - iteration)
            iteration = int(state[0])
    x, f, active, count = state[1], state[2], state[7], state[8]
    return (x.numpy().astype(np.float64), (-f).numpy().astype(np.float64), ~active.numpy(),
            int(count))


def _finite_difference_hessians(target, x):
    """Hessians by central differences of ``log_density_and_grad``'s gradient."""
    n, d = x.shape
    value, grad = target.log_density_and_grad(x)
    step = 6e-6 * np.maximum(np.abs(x), 1.0)  # ~ eps^(1/3): central differences
    shifts = np.eye(d)[None] * step[:, :, None]  # (n, D, D): row j moves feature j
    points = np.concatenate([x[:, None] + shifts, x[:, None] - shifts], 1)
    grads = np.asarray(target.log_density_and_grad(points.reshape(-1, d))[1],
                       np.float64).reshape(n, 2 * d, d)
    hess = (grads[:, :d] - grads[:, d:]) / (2 * step[:, :, None])
    return (np.asarray(value, np.float64), np.asarray(grad, np.float64), hess,
            n * (2 * d + 1))


def _hessians(target, dtype_name, x):
    """``log p~``, gradient and Hessian (not symmetrised) at the rows of ``x``
    (float64), and the evaluations they cost: D + 1 per row by autodiff, 2D + 1
    by finite differences (numpy targets, and TensorFlow targets whose ops have
    no second derivative)."""
    n, d = x.shape
    if _is_numpy(target):
        return _finite_difference_hessians(target, x)
    try:
        value, grad, hess = (a.astype(np.float64) for a in
                             _run("mode_hessian", _build_hessian, target, dtype_name, x))
    except (LookupError, ValueError, TypeError, tensorflow().errors.OpError):
        return _finite_difference_hessians(target, x.astype(dtype_name))
    return value, grad, hess, n * (d + 1)


def _negative_hessian_eigen(hessians):
    """Eigenvalues and eigenvectors of the symmetrised ``-H`` per point, and
    which Hessians are finite (the others count as zero)."""
    finite = np.all(np.isfinite(hessians), axis=(1, 2))
    symmetric = 0.5 * (hessians + np.transpose(hessians, (0, 2, 1)))
    negative = np.where(finite[:, None, None], -symmetric, 0.0)
    eigenvalues, vectors = np.linalg.eigh(negative)
    return finite, eigenvalues, vectors


def _from_eigen(eigenvalues, vectors):
    """The matrices with these eigenvalues and eigenvectors, and their inverses."""
    transposed = np.transpose(vectors, (0, 2, 1))
    return (vectors / eigenvalues[:, None, :]) @ transposed, \
        (vectors * eigenvalues[:, None, :]) @ transposed


def laplace_covariances(hessians, variances):
    """Covariances ``(-H)^{-1}`` with the precision's eigenvalues floored at
    ``1 / max(variances)`` (no wider than the start); ``diag(variances)`` where
    the Hessian is not finite. Returns ``(covariances, precisions)``."""
    finite, eigenvalues, vectors = _negative_hessian_eigen(hessians)
    covariances, precisions = _from_eigen(np.maximum(eigenvalues, 1.0 / np.max(variances)),
                                          vectors)
    covariances[~finite] = np.diag(variances)
    precisions[~finite] = np.diag(1.0 / variances)
    return covariances, precisions


def newton_covariances(hessians, floored):
    """The covariances a Newton step takes: ``(-H)^{-1}`` itself where ``-H`` is
    finite and positive definite (so that a step along a direction flatter than
    the start's scale goes the whole way), the ``floored`` Laplace covariances
    elsewhere."""
    finite, eigenvalues, vectors = _negative_hessian_eigen(hessians)
    definite = finite & np.all(eigenvalues > 0, axis=1)
    exact, _ = _from_eigen(np.where(definite[:, None], eigenvalues, 1.0), vectors)
    return np.where(definite[:, None, None], exact, floored)


def newton_gain(grads, covariances):
    """Gain of ``log p~`` a Newton step predicts at each point,
    ``g^T Sigma g / 2`` (``Sigma`` the floored Laplace covariance): about 0 at a
    mode, NaN where the gradient is not finite."""
    return 0.5 * np.einsum("nd,nde,ne->n", grads, covariances, grads)


def resolved_widths(points, covariances):
    """Which end points have a Laplace width resolved at the point: its
    narrowest standard deviation above :data:`MIN_MODE_WIDTH_IN_ROUNDING_UNITS`
    rounding units of the coordinates (else the density rose until rounding
    of ``x`` stopped the search: an unbounded density)."""
    rounding = np.finfo(np.float64).eps * np.max(np.abs(points), axis=1)
    narrowest = np.sqrt(np.maximum(np.linalg.eigvalsh(covariances)[:, 0], 0.0))
    return narrowest > MIN_MODE_WIDTH_IN_ROUNDING_UNITS * rounding


def at_modes(points, grads, covariances):
    """Which end points of the search are modes: a Newton step promises less
    than :data:`MAX_MODE_NEWTON_GAIN` and the Laplace width is resolved at the
    point (:func:`resolved_widths`)."""
    return ((newton_gain(grads, covariances) < MAX_MODE_NEWTON_GAIN)
            & resolved_widths(points, covariances))


def not_saddles(hessians, variances):
    """Which points are no saddles (nor minima): the Hessian of ``log p~`` has no
    curvature upwards above ``1 / max(variances)`` (the flattest curvature a
    component of the start resolves). A start placed exactly between two
    symmetric modes has a zero gradient there and stops at once. True where the
    Hessian is not finite (judged by :func:`at_modes` alone)."""
    finite, eigenvalues, _ = _negative_hessian_eigen(hessians)
    upwards = -eigenvalues[:, 0]
    return ~finite | (upwards <= 1.0 / np.max(variances))


def mode_labels(points, values, precisions):
    """Which distinct mode each point belongs to.

    Points are visited best ``log p~`` first; a point within
    :data:`SAME_MODE_DISTANCE2` (squared, in the Laplace metric of a better,
    kept point) of a kept one merges with it, otherwise it is kept as a new mode.

    Returns
    -------
    kept : ndarray of int
        Indices of the distinct modes, best ``log p~`` first.
    labels : ndarray of int of shape (n,)
        Position in ``kept`` of each point's mode (-1 where ``log p~`` is not
        finite).
    """
    order = np.argsort(-values, kind="stable")
    order = order[np.isfinite(values[order])]
    diff = points[None, :, :] - points[:, None, :]  # diff[i, j] = x_j - x_i
    distance2 = np.einsum("ijd,ide,ije->ij", diff, precisions, diff)
    kept, labels = [], np.full(points.shape[0], -1)
    for index in order:
        close = [rank for rank, k in enumerate(kept) if distance2[k, index] < SAME_MODE_DISTANCE2]
        if close:
            labels[index] = close[0]
        else:
            labels[index] = len(kept)
            kept.append(index)
    return np.asarray(kept, dtype=int), labels


def distinct_modes(points, values, precisions):
    """Indices of the distinct modes, best ``log p~`` first (see :func:`mode_labels`)."""
    return mode_labels(points, values, precisions)[0]


def _reaches(means, variances, modes):
    """Whether every mode lies in the typical set of the start as a whole: its
    squared Mahalanobis distance under the start mixture's mean and covariance
    (``diag(variances)`` plus the spread of its means) between the chi-square
    0.001 and 0.999 quantiles. Not only far modes are out of reach: in D
    dimensions the start's samples lie on a shell, and a mode near its centre
    (below the 0.001 quantile; on the seed problem, D = 8, every mode lies
    within a third of the start's scale of its mean) is where they do not go."""
    from scipy.stats import chi2

    spread = np.cov(means, rowvar=False, bias=True).reshape(means.shape[1], -1)
    envelope = np.diag(variances) + spread
    diff = modes - means.mean(axis=0)
    z2 = np.sum(diff * np.linalg.solve(envelope, diff.T).T, axis=1)
    low, high = chi2.ppf([0.001, 0.999], means.shape[1])
    return bool(np.all((z2 >= low) & (z2 <= high)))


def _newton_step(target, dtype_name, points, values, grads, covariances):
    """One Newton step ``x + Sigma grad`` per point, kept where ``log p~`` rose
    (``Sigma``: :func:`newton_covariances`). The search's end points can lie far
    out along a direction much flatter than the start's scale, where the
    gradient is too small for L-BFGS's stopping rule; the step takes them to
    the mode, so that they merge there."""
    trial = points + np.einsum("nde,ne->nd", covariances, grads)
    trial_values = TargetEvaluator(target, dtype_name)(trial)
    better = np.isfinite(trial_values) & (trial_values >= values)
    return (np.where(better[:, None], trial, points), np.where(better, trial_values, values),
            points.shape[0])


def number_of_starts(n_components):
    """Starting points of the first batch of the search for ``n_components`` components."""
    return max(MIN_STARTS, n_components)


def unseen_chance(hits):
    """Good-Turing estimate of the chance that one more start ends at a mode not
    found yet, and its standard error.

    The estimate is the fraction ``f1 / n`` of the ``n`` starts that ended at a
    mode no other start reached (``hits``: starts per distinct mode; ``f1``,
    ``f2`` the modes reached by one and by two starts); its standard error is
    Esty's (1983), ``sqrt(f1 (1 - f1 / n) + 2 f2) / n``. NaN without modes.
    """
    hits = np.asarray(hits)
    n = hits.sum()
    if not n:
        return float("nan"), float("nan")
    f1, f2 = np.sum(hits == 1), np.sum(hits == 2)
    return float(f1 / n), float(np.sqrt(f1 * (1.0 - f1 / n) + 2.0 * f2) / n)


def likely_unseen(hits):
    """Whether a mode not found yet is still plausible: the Good-Turing estimate
    plus :data:`UNSEEN_Z` standard errors exceeds :data:`MAX_UNSEEN_CHANCE`."""
    chance, se = unseen_chance(hits)
    return bool(chance + UNSEEN_Z * se > MAX_UNSEEN_CHANCE)


def unseen_mass_bound(hits):
    """Upper confidence bound (level ``1 - UNSEEN_ALPHA``) on the mass of the
    starts' distribution in basins no start has reached: all ``n`` starts at
    found modes has probability ``(1 - u)^n <= exp(-n u)`` when the unseen
    basins hold ``u``, so ``u <= log(1 / UNSEEN_ALPHA) / n``. Infinite without
    modes."""
    n = int(np.sum(hits))
    return float(np.log(1.0 / UNSEEN_ALPHA) / n) if n else float("inf")


def estimated_n_modes(hits):
    """Chao1 estimate of the number of modes the starts can reach:
    ``S + f1^2 / (2 f2)`` (``S + f1 (f1 - 1) / 2`` when no mode was reached
    twice), with ``S`` the modes found and ``f1``, ``f2`` those reached by one
    and by two starts."""
    hits = np.asarray(hits)
    f1, f2 = np.sum(hits == 1), np.sum(hits == 2)
    unseen = f1 * f1 / (2.0 * f2) if f2 else f1 * (f1 - 1) / 2.0
    return float(hits.size + unseen)


class _ModeTally:
    """The distinct modes found so far (points, ``log p~``, Laplace covariances
    and precisions) and how many starts ended at each."""

    def __init__(self, n_features):
        self.points = np.empty((0, n_features))
        self.values = np.empty(0)
        self.covariances = self.precisions = np.empty((0, n_features, n_features))
        self.hits = np.empty(0, dtype=int)
        self.n_unbounded = 0

    def count_known(self, points):
        """Count the end points within one Laplace standard deviation of a known
        mode as hits on it; returns the mask of the others (new candidates)."""
        if not self.hits.size:
            return np.ones(points.shape[0], dtype=bool)
        diff = points[:, None, :] - self.points[None]
        distance2 = np.einsum("nkd,kde,nke->nk", diff, self.precisions, diff)
        close = distance2 < SAME_MODE_DISTANCE2
        known = np.any(close, axis=1)
        np.add.at(self.hits, np.argmax(close[known], axis=1), 1)
        return ~known

    def add(self, points, values, covariances, precisions):
        """Merge new modes (one hit each) with the known ones (:func:`mode_labels`)."""
        points, values, covariances, precisions, hits = (
            np.concatenate([old, new]) for old, new in (
                (self.points, points), (self.values, values),
                (self.covariances, covariances), (self.precisions, precisions),
                (self.hits, np.ones(values.shape[0], dtype=int))))
        kept, labels = mode_labels(points, values, precisions)
        merged = np.bincount(labels[labels >= 0], weights=hits[labels >= 0],
                             minlength=kept.size)
        self.points, self.values, self.covariances, self.precisions = (
            points[kept], values[kept], covariances[kept], precisions[kept])
        self.hits = merged.astype(int)

    def summary(self, n_starts, n_evaluations, stopped):
        chance, se = unseen_chance(self.hits)
        return SearchSummary(n_starts, int(self.hits.sum()), int(self.hits.size),
                             int(np.sum(self.hits == 1)), chance, se,
                             estimated_n_modes(self.hits), int(n_evaluations), stopped,
                             self.n_unbounded)


def _climb(target, dtype_name, starts, variances, budget, tally):
    """One batch: L-BFGS from ``starts``, end points at known modes counted as
    hits, the others examined (Laplace covariance, mode test, Newton step) and
    added to ``tally`` as modes. Returns the target evaluations spent."""
    first_step = float(np.sqrt(np.mean(variances)))
    points, values, converged, used = _search(target, dtype_name, starts, first_step, budget)
    finite = converged & np.isfinite(values) & np.all(np.isfinite(points), axis=1)
    points = points[finite]
    points = points[tally.count_known(points)]
    if not points.shape[0]:
        return used
    values, grads, hessians, count = _hessians(target, dtype_name, points)
    used += count
    covariances, precisions = laplace_covariances(hessians, variances)
    tally.n_unbounded += int(np.sum(~resolved_widths(points, covariances)))
    at_mode = at_modes(points, grads, covariances) & not_saddles(hessians, variances)
    if not np.any(at_mode):
        return used
    points, values, grads, covariances, precisions = (
        a[at_mode] for a in (points, values, grads, covariances, precisions))
    points, values, count = _newton_step(target, dtype_name, points, values, grads,
                                         newton_covariances(hessians[at_mode], covariances))
    tally.add(points, values, covariances, precisions)
    return used + count


def _draw_starts(means, variances, n_starts, rng, pool=None, first=False):
    """``n_starts`` starting points: rows of ``pool`` when given, else
    over-dispersed draws around ``means``: for the ``first`` batch at
    :data:`FIRST_DISPERSION` times the start's scale, the means themselves
    first; later at :data:`DISPERSION` times (cycling)."""
    if pool is not None:
        return pool[rng.choice(pool.shape[0], size=n_starts,
                               replace=pool.shape[0] < n_starts)]
    k, d = means.shape
    radii = np.resize(np.asarray((FIRST_DISPERSION,) if first else DISPERSION), n_starts)
    noise = rng.standard_normal((n_starts, d)) * radii[:, None] * np.sqrt(variances)
    if first:
        noise[:k] = 0.0
    return means[np.arange(n_starts) % k] + noise


def _place_components(tally, means, variances, max_components):
    """Indices (into ``tally``) of the modes the components start at, best
    Laplace evidence first, or None when the start is to be kept: several modes
    of non-negligible evidence, all within its reach."""
    evidence = laplace_log_masses(tally.values, tally.covariances)
    weighty, chosen = _ranked_modes(evidence, means.shape[0], max_components)
    if weighty.shape[0] > 1 and _reaches(means, variances, tally.points[weighty]):
        return None
    return chosen


def _ranked_modes(log_masses, k, max_components):
    """The modes of non-negligible mass (within :data:`LOG_NEGLIGIBLE_MASS` of
    the largest), and those the components start at: best first, one each (up
    to ``max_components``, at least ``k``), the best repeated when they are
    fewer than ``k``."""
    ranked = np.argsort(-log_masses, kind="stable")
    weighty = ranked[log_masses[ranked] >= np.max(log_masses) - LOG_NEGLIGIBLE_MASS]
    n_start = max(k, min(weighty.shape[0], k if max_components is None else max_components))
    return weighty, ranked[np.arange(n_start) % ranked.shape[0]]


def search_modes(target, dtype_name, means, variances, rng, pool=None, budget=SEARCH_BUDGET,
                 max_components=None, first_starts=None, missed=None):
    """Climb ``log p~`` from batches of starts until a new mode is unlikely.

    The starts are a sample of the target's basins of attraction: the modes
    reached by one or two starts only say how likely another start is to find
    a mode not found yet (:func:`unseen_chance`). The first batch has
    :func:`number_of_starts` starts; each further batch as many as all before
    it (fewer when the budget would not cover them at the cost per start so
    far). The search stops when no start ended at a mode (``'no mode'``), when
    the start is to be kept (``'start kept'``: several modes, all within its
    reach, see :func:`_place_components`; its own samples then explore; once
    kept, it stays kept, and the search goes on while ``missed(tally)``, the
    modes its samples miss, is not empty), when a
    new mode is no longer plausible (``'complete'``, :func:`likely_unseen`;
    with components at the modes, only once the starts at modes also bound an
    unseen basin's mass, :func:`_confirming`, or the budget cannot afford
    another doubling), or
    when ``budget`` (target evaluations: searches, Hessians, Newton steps) is
    spent while one still is (``'budget'``). ``first_starts``: the first
    batch, when drawn already. ``missed``: None, or ``tally -> indices`` of
    the modes a kept start misses (:func:`missed_modes`).

    Returns
    -------
    tally : _ModeTally
    chosen : ndarray of int or None
        The modes the components start at (:func:`_place_components`).
    summary : SearchSummary
    """
    tally = _ModeTally(means.shape[1])
    n_starts, used, chosen, draws, confirmed = 0, 0, None, rng, None
    batch = number_of_starts(means.shape[0]) if first_starts is None else len(first_starts)
    while True:
        starts = (first_starts if n_starts == 0 and first_starts is not None else
                  _draw_starts(means, variances, batch, draws, pool, first=n_starts == 0))
        kept = n_starts > 0 and chosen is None  # once kept, the start stays kept
        used += _climb(target, dtype_name, starts, variances, budget - used, tally)
        n_starts += batch
        batch = int(min(n_starts, (budget - used) // max(used / n_starts, 1.0)))
        if not tally.hits.size:
            stopped = "no mode"
            break
        chosen = None if kept else _place_components(tally, means, variances, max_components)
        if chosen is None and (missed is None or not missed(tally).size):
            stopped = "start kept"
            break
        if not likely_unseen(tally.hits):
            stopped = "complete" if chosen is not None else "start kept"
            if chosen is None or not _confirming(tally, batch, n_starts):
                break
            if confirmed is None:  # draw the confirming starts from a copy of rng
                confirmed, draws = tally.hits.size, _copy_of(rng)
        elif batch < 1:
            stopped = "budget"
            break
    if confirmed is not None and tally.hits.size > confirmed:
        rng.set_state(draws.get_state())  # they found a mode: the fit's path changes anyway
    return tally, chosen, tally.summary(n_starts, used, stopped)


def _confirming(tally, batch, n_starts):
    """Whether to run a confirming batch (:data:`UNSEEN_ALPHA`): the starts at
    modes do not yet bound an unseen basin's mass below
    :data:`MAX_UNSEEN_CHANCE`, and a batch of as many starts as all before it
    (``batch`` is what the budget affords) fits in the budget."""
    return batch >= n_starts and unseen_mass_bound(tally.hits) > MAX_UNSEEN_CHANCE


def _copy_of(rng):
    """A RandomState in the state of ``rng``: starts drawn from it leave ``rng``,
    and so the fit's random stream, as they were."""
    copy = np.random.RandomState()
    copy.set_state(rng.get_state())
    return copy


def missed_modes(tally, means, variances, log_ratios):
    """Indices (into ``tally``) of the modes that the start's samples miss,
    largest miss first.

    A mode is missed when its ratio ``p~/q0`` (``q0``: the equal-weight mixture
    of ``N(means_k, diag(variances))``) exceeds every ratio of the start's check
    samples (``log_ratios``): ``q0`` puts too little mass there for its samples
    to land on it, and q's later components start near its own samples.
    """
    finite = log_ratios[np.isfinite(log_ratios)]
    bound = np.max(finite) if finite.size else -np.inf
    gaps = tally.values - _diagonal_log_q(tally.points, means, variances)
    order = np.argsort(-gaps, kind="stable")
    return order[gaps[order] > bound]


def _mode_components(target, dtype_name, tally, modes, variances, diagonal):
    """The components started at ``modes`` (indices into ``tally``): their
    Laplace approximations, or where a mode is the far end of a flat ridge,
    the moments of the ridge's mass (:func:`.ridge_profile.ridge_components`);
    only the covariances' diagonals when ``diagonal``. Returns their means,
    covariances, log masses (the Laplace evidence, or the ridge's) and the
    target evaluations this cost."""
    unique, position = np.unique(modes, return_inverse=True)
    means, covariances, log_masses, used = ridge_components(
        lambda x: _hessians(target, dtype_name, x), tally.points[unique],
        tally.values[unique], tally.covariances[unique], variances)
    means, covariances = means[position], covariances[position]
    if diagonal:
        covariances = np.einsum("kd,de->kde", np.diagonal(covariances, axis1=1, axis2=2),
                                np.eye(covariances.shape[1]))
    return means, covariances, log_masses[position], used


#: Weight each mode the kept start misses starts with (the start's components
#: share the rest).
MISSED_MODE_WEIGHT = 1e-3


def _with_modes(start, components):
    """The kept ``start`` plus ``components`` (means, covariances, log masses,
    target evaluations: :func:`_mode_components`), each with weight
    :data:`MISSED_MODE_WEIGHT`."""
    means, covariances, _, used = components
    if not means.shape[0]:
        return start
    k = start.means.shape[0]
    weights = np.concatenate([np.full(k, (1.0 - means.shape[0] * MISSED_MODE_WEIGHT) / k),
                              np.full(means.shape[0], MISSED_MODE_WEIGHT)])
    return start._replace(means=np.concatenate([start.means, means]),
                          covariances=np.concatenate([start.covariances, covariances]),
                          weights=weights, n_evaluations=start.n_evaluations + used)


def laplace_start(target, dtype_name, means, variances, rng, pool=None,
                  diagonal=False, budget=SEARCH_BUDGET, max_components=None):
    """Initial components at the target's modes (see the module docstring).

    The caller has checked the target (:func:`.target_adapter.check_target`) and
    knows that it has a usable gradient, which the search needs.

    Parameters
    ----------
    target : Target
    dtype_name : {"float64", "float32"}
    means : ndarray of shape (K, D)
        The prior start's means; K is the number of components returned.
    variances : ndarray of shape (D,)
        The prior start's per-feature variances.
    rng : RandomState
    pool : ndarray of shape (n, D), default=None
        Points the starts of the search are drawn from (e.g. rows of X); None:
        over-dispersed draws around ``means``, the means included.
    diagonal : bool, default=False
        Keep only the diagonal of the Laplace covariances.
    budget : int, default=SEARCH_BUDGET
        Target evaluations the search (L-BFGS, Hessians, Newton steps) may spend.
    max_components : int, default=None
        Most components the start may have: when the search finds more
        distinct modes of non-negligible Laplace evidence than K, each gets a
        component, up to this many; a kept start gets a component at each
        mode its samples miss, up to this many (None: K, the components stay K).

    Returns
    -------
    Start
        ``means`` (K', D), ``covariances`` (K', D, D), ``n_evaluations`` (all target
        evaluations of this phase), ``searched`` (False when the start was kept)
        ``summary`` (the :class:`SearchSummary`, None when no search ran) and
        ``weights`` (None: equal; given when a kept start gets components at
        the modes it misses).
    """
    k = means.shape[0]
    first = None if pool is None else _draw_starts(means, variances, number_of_starts(k),
                                                   rng, pool)
    evaluator = TargetEvaluator(target, dtype_name)
    variances, _, log_p, log_q, used = _usable_scale(evaluator, means, variances, rng)
    prior = Start(means, np.tile(np.diag(variances), (k, 1, 1)), used, False, None)
    if _ess_fraction(log_p - log_q) >= GOOD_START_ESS:
        return prior
    room = 0 if max_components is None else max(0, max_components - k)

    def missed(tally):
        return missed_modes(tally, means, variances, log_p - log_q)[:room]

    tally, chosen, summary = search_modes(target, dtype_name, means, variances, rng, pool,
                                          budget, max_components, first, missed)
    prior = prior._replace(n_evaluations=used + summary.n_evaluations, summary=summary)
    if chosen is None:  # no mode, or several modes all within reach of the start
        modes = missed(tally) if tally.hits.size else np.empty(0, dtype=int)
        return _with_modes(prior, _mode_components(target, dtype_name, tally, modes,
                                                   variances, diagonal))
    # rank the modes again by the mass their components account for (a ridge's
    # far end has a tiny Laplace evidence, its profile not)
    means, covariances, log_masses, count = _mode_components(
        target, dtype_name, tally, np.arange(tally.hits.size), variances, diagonal)
    _, chosen = _ranked_modes(log_masses, k, max_components)
    return prior._replace(means=means[chosen], covariances=covariances[chosen], searched=True,
                          n_evaluations=prior.n_evaluations + count)
