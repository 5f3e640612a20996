"""The EM loop of the TensorFlow backend, written once for every source of rows.

One iteration (:func:`em_iteration`) sums the E-step's statistics over the chunks
of a :class:`ChunkSource` (in-memory column chunks in :mod:`skgmmvi._tf.em`, a
dataset's batches, under a strategy or not, in :mod:`skgmmvi._tf.em_stream`), then
runs the M-step and the objective's hooks (:class:`MaximumLikelihood` for EM, the
variational mixture's in :mod:`skgmmvi._tf.bayesian`). :func:`em_loop` repeats it
inside one compiled call; :class:`TimeSlicedLoop` calls that loop from Python in
slices of about :data:`.time_slices.SLICE_SECONDS`.
"""

import numpy as np

from . import gaussian as g
from ._runtime import tensorflow
from .time_slices import SliceClock


class IllDefinedCovariance(ArithmeticError):
    """An M-step produced a covariance that is not positive definite."""


def pairs_if_full(covariance_type, n_features):
    return g.upper_triangle_pairs(n_features) if covariance_type == "full" else None


class MaximumLikelihood:
    """EM's hooks of the compiled loop (the numpy twin is
    :class:`skgmmvi._numpy.em.MaximumLikelihood`; the variational Bayesian
    mixture's are in :mod:`skgmmvi._tf.bayesian`). EM has no extra parameters
    and no prior."""

    @staticmethod
    def extra_specs():
        return ()

    @staticmethod
    def prior_specs():
        return ()

    @staticmethod
    def e_step(log_prob, weight):
        """``(resp * w, weighted log-likelihood)``: see ``weighted_responsibilities``."""
        return g.weighted_responsibilities(log_prob, weight)

    @staticmethod
    def m_step(params, total_weight, priors):
        return params

    @staticmethod
    def lower_bound(e_step_term, params, total_weight, priors):
        return e_step_term / total_weight


class Chunk:
    """One chunk of rows as the E-step reads it, whatever the source.

    Parameters
    ----------
    columns : callable
        ``columns(center)``: the rows centred on ``center`` and transposed over a
        row of ones, (D + 1, batch), float64 (the input of :func:`gaussian.features`).
    rows : callable
        ``rows()``: the rows, (batch, D), float64.
    weight : tensor of shape (batch,)
        The rows' sample weights, float64.
    kept_features : callable or None
        ``kept_features(build)``: the chunk's feature rows about the fit's centre
        where the source keeps them from before the loop, else ``build()``
        (which makes them from ``columns``). None: the source keeps none.

    Both views are built only where a branch of the E-step asks for them.
    """

    def __init__(self, columns, rows, weight, kept_features=None):
        self.columns, self.rows, self.weight = columns, rows, weight
        self.kept_features = kept_features


class ChunkSource:
    """Where an EM iteration's chunks come from, and how their statistics are summed.

    Parameters
    ----------
    sum_over_chunks : callable
        ``sum_over_chunks(statistics, zeros)`` sums ``statistics(chunk)`` (a tuple
        of tensors) over every :class:`Chunk` of the source, starting from
        ``zeros``: row chunks of in-memory data, batches of a dataset, or a
        strategy's replicas' shares of them, all-reduced.
    collective : bool
        True where the sum ends in a collective all-reduce (a strategy's), which
        must not sit inside a conditional branch: the E-step then chooses its
        kind of statistics per chunk. Otherwise it chooses once per iteration,
        outside the pass over the chunks (fewer operations to trace and run).
    """

    def __init__(self, sum_over_chunks, collective=False):
        self.sum_over_chunks, self.collective = sum_over_chunks, collective


class IterationContext:
    """What one EM iteration needs besides the parameters and the chunk source.

    ``center``, ``gram`` (tied, else empty), ``total_weight``, ``reg_covar`` and
    ``priors`` are tensors; ``objective`` holds the loop's hooks
    (:class:`MaximumLikelihood` for EM).
    """

    def __init__(self, covariance_type, n_features, center, gram, total_weight,
                 reg_covar, objective, priors):
        self.covariance_type = covariance_type
        self.n_features = n_features
        self.pairs = pairs_if_full(covariance_type, n_features)
        self.center, self.gram, self.total_weight = center, gram, total_weight
        self.reg_covar, self.objective, self.priors = reg_covar, objective, priors

    def zero_feature_sums(self, n_components):
        """Zeros of :func:`_feature_map_statistics`'s result."""
        tf = tensorflow()
        f64 = tf.float64
        n_phi = tf.shape(g.features(
            tf.zeros(tf.stack([self.n_features + 1, 0]), f64), self.covariance_type,
            self.pairs, tf.eye(self.n_features, dtype=f64)))[0]
        return tf.zeros(tf.stack([n_phi, n_components]), f64), tf.zeros([], f64)

    def zero_residual_sums(self, n_components):
        """Zeros of :func:`_residual_statistics`'s result."""
        tf = tensorflow()
        return tuple(g.zero_residual_statistics(n_components, self.n_features,
                                                self.covariance_type, tf.float64)
                     ) + (tf.zeros([], tf.float64),)


def _feature_map_statistics(chunk, coef, params, context):
    """E-step of a chunk through the feature map about the centre.

    Returns ``(sum of phi * resp_w, shape (P, K), objective term)``; ``coef`` is
    :func:`gaussian.coefficients` of ``params``. The objective term is
    ``objective.e_step``'s (for EM the weighted log-likelihood, which ignores rows
    of weight 0 even where their density underflows).
    """
    tf = tensorflow()
    cov = context.covariance_type

    def build():
        return g.features(chunk.columns(context.center), cov, context.pairs,
                          params[3] if cov == "tied" else None)

    phi = build() if chunk.kept_features is None else chunk.kept_features(build)
    resp_w, objective_term = context.objective.e_step(tf.matmul(coef, phi),
                                                      chunk.weight[None, :])
    # (P, batch) @ (batch, K): the long output axis first suits Eigen's GEMM
    # kernel better than (K, batch) @ (batch, P) (K is small).
    return tf.matmul(phi, resp_w, transpose_b=True), objective_term


def _residual_statistics(chunk, params, context):
    """E-step of a chunk through residuals about each component's mean.

    Returns ``(S0, S1, S2, objective term)`` (see :func:`gaussian.residual_statistics`).
    """
    weights, means, _, precision_chol = params[:4]
    cov = context.covariance_type
    log_prob, diff = g.component_log_prob(chunk.rows(), weights, means, precision_chol,
                                          cov)
    resp_w, objective_term = context.objective.e_step(log_prob, chunk.weight[None, :])
    return tuple(g.residual_statistics(diff, resp_w, cov)) + (objective_term,)


def _coefficients(params, context):
    weights, means, _, precision_chol = params[:4]
    return g.coefficients(weights, means - context.center, precision_chol,
                          context.covariance_type, context.pairs)


def _params_from_feature_sums(sums, context):
    tf = tensorflow()
    cov, pairs = context.covariance_type, context.pairs
    stats = g.canonical_statistics(tf.transpose(sums[0]), cov, pairs)
    return g.parameters_from_statistics(
        stats, context.gram, context.total_weight, context.center, context.reg_covar,
        cov, pairs, normalize_by="counts")


def _params_from_residual_sums(sums, params, context):
    return g.parameters_from_residuals(sums[:3], params[1], context.reg_covar,
                                       context.covariance_type)


def _e_and_m_step(source, params, accurate, context):
    """``(M-step parameters before the objective's hook, objective term)``.

    The feature map about the centre where ``accurate`` (see
    :func:`gaussian.use_feature_map`), else residuals about each component's mean,
    chosen once for the pass (or per chunk for a collective source).
    """
    tf = tensorflow()
    if source.collective:
        return _e_and_m_step_per_chunk(source, params, accurate, context)
    n_components = tf.shape(params[1])[0]

    def by_feature_map():
        coef = _coefficients(params, context)
        sums = source.sum_over_chunks(
            lambda chunk: _feature_map_statistics(chunk, coef, params, context),
            context.zero_feature_sums(n_components))
        return _params_from_feature_sums(sums, context), sums[-1]

    def by_residuals():
        sums = source.sum_over_chunks(
            lambda chunk: _residual_statistics(chunk, params, context),
            context.zero_residual_sums(n_components))
        return _params_from_residual_sums(sums, params, context), sums[-1]

    return tf.cond(accurate, by_feature_map, by_residuals)


def _e_and_m_step_per_chunk(source, params, accurate, context):
    """As :func:`_e_and_m_step`, with the kind of statistics chosen inside each chunk.

    Every chunk gives both kinds, the kind not chosen zeros, so the source's
    all-reduce of the sums never sits inside a conditional branch.
    """
    tf = tensorflow()
    n_components = tf.shape(params[1])[0]

    def both_kinds(chunk):
        def by_feature_map():
            stats, term = _feature_map_statistics(chunk, _coefficients(params, context),
                                                  params, context)
            return (stats,) + context.zero_residual_sums(n_components)[:3] + (term,)

        def by_residuals():
            return (context.zero_feature_sums(n_components)[:1]
                    + _residual_statistics(chunk, params, context))

        return tf.cond(accurate, by_feature_map, by_residuals)

    sums = source.sum_over_chunks(both_kinds, context.zero_feature_sums(n_components)[:1]
                                  + context.zero_residual_sums(n_components))
    new = tf.cond(accurate, lambda: _params_from_feature_sums(sums[:1], context),
                  lambda: _params_from_residual_sums(sums[1:], params, context))
    return new, sums[-1]


def em_iteration(source, params, context):
    """One E-step and M-step from ``params``: ``(new_params, objective term)``.

    ``source`` is a :class:`ChunkSource`; ``context`` an :class:`IterationContext`,
    whose objective's ``m_step`` hook finishes the M-step.
    """
    accurate = g.use_feature_map(params[1], context.center, params[3],
                                 context.covariance_type)
    new, objective_term = _e_and_m_step(source, params, accurate, context)
    return (context.objective.m_step(new, context.total_weight, context.priors),
            objective_term)


def em_loop(source, context, params, n_steps, tol, previous_lower_bound):
    """Up to ``n_steps`` EM iterations (:func:`em_iteration`) until converged.

    Stops early when the objective changes by less than ``tol`` or an M-step gives
    non-finite parameters (``ok`` false; the parameters before it are kept).

    Returns ``params + (lower_bound, history, n_done, converged, ok)``.
    """
    tf = tensorflow()
    objective = context.objective

    def cond(it, params, lower_bound, history, converged, ok):
        return (it < n_steps) & tf.logical_not(converged) & ok

    def body(it, params, lower_bound, history, converged, ok):
        new_params, objective_term = em_iteration(source, params, context)
        new_lower_bound = objective.lower_bound(objective_term, new_params,
                                                context.total_weight, context.priors)
        new_ok = g.all_finite(new_params[3]) & g.all_finite(new_params[1])
        kept = tuple(tf.where(new_ok, new, old) for new, old in zip(new_params, params))
        change = new_lower_bound - lower_bound
        return (it + 1, kept, new_lower_bound, history.write(it, new_lower_bound),
                tf.abs(change) < tol, new_ok)

    history = tf.TensorArray(tf.float64, size=0, dynamic_size=True)
    it, params, lower_bound, history, converged, ok = tf.while_loop(
        cond, body,
        (tf.constant(0), tuple(params), previous_lower_bound, history, tf.constant(False),
         tf.constant(True)))
    return params + (lower_bound, history.stack(), it, converged, ok)


class TimeSlicedLoop:
    """``em_steps`` of a fit's state, over its ``_em_steps_call`` in time slices.

    A subclass supplies ``_em_steps_call(params, n_steps, tol, reg_covar,
    previous_lower_bound)`` (one call of its compiled loop) and may set
    ``time_sliced`` false where every call must run all the steps asked.
    """

    time_sliced = True

    def em_steps(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        """Run up to ``n_steps`` EM iterations from ``params``, in time slices.

        The same numbers as one call of the compiled loop (see :func:`in_time_slices`),
        and Ctrl-C stops the fit within about :data:`.time_slices.SLICE_SECONDS`.

        Returns
        -------
        params : tuple of ndarray
            (weights, means, covariances, precision_chol) after the last M-step
            (and a variational mixture's extra parameters).
        lower_bounds : ndarray of shape (n_done,)
            The objective after each iteration (EM: the mean log-likelihood
            of the E-step).
        converged : bool
        """
        def run(p, n, previous):
            return self._em_steps_call(p, n, tol, reg_covar, previous)

        if not self.time_sliced:
            return run(params, n_steps, previous_lower_bound)
        return in_time_slices(run, params, n_steps, previous_lower_bound)


def loop_results(out, n_params):
    """``(params, lower_bounds, converged)`` as numpy from :func:`em_loop`'s outputs.

    Raises IllDefinedCovariance where an M-step gave non-finite parameters.
    """
    _, history, _, converged, ok = out[n_params:]
    if not bool(ok):
        raise IllDefinedCovariance()
    return tuple(p.numpy() for p in out[:n_params]), history.numpy(), bool(converged)


def in_time_slices(run, params, n_steps, previous_lower_bound):
    """Run ``n_steps`` iterations as calls of ``run`` that last about
    :data:`.time_slices.SLICE_SECONDS` each.

    Parameters
    ----------
    run : callable
        ``run(params, n, previous_lower_bound) -> (params, lower_bounds, converged)``
        runs up to ``n`` iterations in one compiled call.
    params : tuple of ndarray
    n_steps : int
    previous_lower_bound : float

    Returns
    -------
    params, lower_bounds, converged : as ``run``, over all the slices.

    Each slice continues from the parameters and lower bound the previous one
    returned (exact float64 arrays), so the result is bit for bit that of a single
    call. The number of iterations per slice follows the measured time of one
    iteration in the slice before (the first slice, which may trace, runs one).
    """
    pieces, done, converged, clock = [], 0, False, SliceClock()
    while done < n_steps and not converged:
        n = clock.size(n_steps - done)
        clock.start()
        params, history, converged = run(params, n, previous_lower_bound)
        clock.stop(len(history))
        if len(history):
            previous_lower_bound = history[-1]
        pieces.append(history)
        done += n
    return params, np.concatenate(pieces) if pieces else np.zeros(0), converged
