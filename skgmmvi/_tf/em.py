"""Compiled EM kernels: numpy in, numpy out.

Each public function here wraps one ``tf.function`` that is traced once per
(kernel, covariance type, dtype): every shape in the input signatures is
dynamic, so new data sizes, feature counts or component counts never retrace.
Rows are processed in chunks of ``batch_size`` inside a ``tf.while_loop``, so the
memory a call needs beyond the data is O(batch_size * (K + P)), where P is the
feature count of :mod:`skgmmvi._tf.gaussian` (D (D + 1) / 2 + D + 1 for ``full``),
plus, for a fit whose feature rows fit the numpy backend's budget, those rows,
built once before its loop (:func:`kept_features`).

The whole EM loop (E-step, M-step, lower bound, convergence test) for as many
iterations as asked runs inside one call, with no Python in between. The loop and
its iteration are written once, in :mod:`skgmmvi._tf.em_loop`, over a source of
chunks: here the in-memory rows' column chunks (:func:`_in_memory_chunks`).

The data are held once, transposed, over a row of ones (shape (D + 1, N), see
:func:`transposed_with_ones`), so that a chunk of rows is a column slice already in
the layout of the feature map. They stay in the dtype asked for (float32 halves
their memory); each chunk is cast to float64 as it is read, and statistics and
parameters are float64. The
moment form of the M-step loses about ``|mu_k - c|^2 / sigma_k^2`` in relative
accuracy, which float32 cannot afford for narrow components.
"""

import numpy as np

from .._cancellation import INIT_CANCELLATION_LIMIT
from .._numpy.em import keeps_features, labelled_rows
from . import gaussian as g
from ._runtime import device_name, tensorflow, tf_dtype
from .compile_cache import COMPILED
from .em_loop import (Chunk, ChunkSource, IllDefinedCovariance, IterationContext,
                      MaximumLikelihood, TimeSlicedLoop, em_loop, loop_results,
                      pairs_if_full)


def _parameter_shapes(covariance_type):
    """TensorSpec shapes of (weights, means, covariances, precision_chol)."""
    cov = {"full": [None, None, None], "tied": [None, None], "diag": [None, None],
           "spherical": [None]}[covariance_type]
    return [None], [None, None], cov, cov


def _compiled(kind, covariance_type, dtype_name):
    """The compiled kernel ``kind`` for this covariance type and dtype (cached)."""
    return COMPILED.get(("em", kind, covariance_type, dtype_name),
                        lambda: _BUILDERS[kind](covariance_type, tf_dtype(dtype_name)))


def _over_chunks(n_rows, batch_size, step, accumulators):
    """Run ``step(start, stop, *acc) -> acc`` over row chunks; return final ``acc``."""
    tf = tensorflow()

    def cond(start, *acc):
        return start < n_rows

    def body(start, *acc):
        stop = tf.minimum(start + batch_size, n_rows)
        return (stop,) + tuple(step(start, stop, *acc))

    out = tf.while_loop(cond, body, (tf.constant(0, tf.int32),) + tuple(accumulators))
    return out[1:]


def _rows(Xt, start, stop):
    """Rows ``start:stop`` of the data, (batch, D), in float64."""
    tf = tensorflow()
    return tf.transpose(tf.cast(Xt[:-1, start:stop], tf.float64))


def _augmented_center(center):
    """The centre with a 0 appended: subtracting it leaves the row of ones alone."""
    tf = tensorflow()
    return tf.concat([center, tf.zeros([1], center.dtype)], axis=0)[:, None]


def _centered_columns(Xt, start, stop, center_aug):
    """Columns ``start:stop`` of the stored data, centred, over a row of ones.

    Shape (D + 1, batch), float64: the input of :func:`gaussian.features`.
    """
    tf = tensorflow()
    return tf.cast(Xt[:, start:stop], tf.float64) - center_aug


def _accumulate_statistics(Xt, center, covariance_type, pairs, tied_chol, batch_size,
                           n_components, responsibilities):
    """Sums of ``w * resp * phi`` over all rows, with ``resp`` given per chunk.

    ``responsibilities(start, stop, features_t)`` returns ``(resp_w, log_lik)``:
    the weighted responsibilities of the chunk, shape (K, batch), and the chunk's
    weighted log-likelihood sum (0 where not applicable). The result is in the
    canonical layout, shape (K, P).
    """
    tf = tensorflow()
    dtype = tf.float64
    n_rows = tf.shape(Xt)[1]
    n_feat = tf.shape(
        g.features(tf.zeros([tf.shape(Xt)[0], 0], dtype), covariance_type, pairs, tied_chol)
    )[0]
    center_aug = _augmented_center(center)

    def step(start, stop, stats, log_lik):
        xa = _centered_columns(Xt, start, stop, center_aug)
        phi = g.features(xa, covariance_type, pairs, tied_chol)
        resp_w, chunk_log_lik = responsibilities(start, stop, phi)
        # (P, batch) @ (batch, K): the long output axis first suits Eigen's GEMM
        # kernel better than (K, batch) @ (batch, P) (K is small).
        stats = stats + tf.matmul(phi, resp_w, transpose_b=True)
        return stats, log_lik + chunk_log_lik

    zeros = (tf.zeros(tf.stack([n_feat, n_components]), dtype), tf.zeros([], dtype))
    stats, log_lik = _over_chunks(n_rows, batch_size, step, zeros)
    return g.canonical_statistics(tf.transpose(stats), covariance_type, pairs), log_lik


def _accumulate_residual_statistics(Xt, params, covariance_type, batch_size, resp_of):
    """Residual statistics about the means of ``params`` over all rows (far-apart path).

    ``resp_of(start, stop, log_prob)`` returns ``(resp_w, log_lik)`` of a chunk
    from its per-component log-densities (K, batch).
    Returns ``((S0, S1, S2), log_lik)`` (see :func:`gaussian.residual_statistics`).
    """
    tf = tensorflow()
    weights, means, _, precision_chol = params[:4]

    def step(start, stop, s0, s1, s2, log_lik):
        log_prob, residuals = g.component_log_prob(
            _rows(Xt, start, stop), weights, means, precision_chol, covariance_type)
        resp_w, chunk_log_lik = resp_of(start, stop, log_prob)
        d0, d1, d2 = g.residual_statistics(residuals, resp_w, covariance_type)
        return s0 + d0, s1 + d1, s2 + d2, log_lik + chunk_log_lik

    zeros = g.zero_residual_statistics(tf.shape(means)[0], tf.shape(means)[1],
                                       covariance_type, tf.float64)
    out = _over_chunks(tf.shape(Xt)[1], batch_size, step,
                       zeros + (tf.zeros([], tf.float64),))
    return out[:3], out[3]


def _in_memory_chunks(Xt, weight, batch_size, kept):
    """A :class:`ChunkSource` over the column chunks of ``Xt``.

    ``kept`` is the store of :func:`kept_features` (empty: none kept), from
    which a chunk's feature rows are read instead of built.
    """
    def sum_over_chunks(statistics, zeros):
        def step(start, stop, *sums):
            def columns(center):
                return _centered_columns(Xt, start, stop, _augmented_center(center))

            def kept_features(build):
                return tensorflow().cond(
                    tensorflow().size(kept) > 0,
                    lambda: _kept_chunk(kept, tensorflow().shape(Xt)[1], batch_size,
                                        start, stop), build)

            chunk = Chunk(columns, lambda: _rows(Xt, start, stop), weight[start:stop],
                          kept_features)
            return tuple(a + b for a, b in zip(sums, statistics(chunk)))

        return _over_chunks(tensorflow().shape(Xt)[1], batch_size, step, zeros)

    return ChunkSource(sum_over_chunks)


def _chunk_stride(batch_size):
    """Columns reserved per chunk in the kept store: ``batch_size`` rounded up to a
    multiple of 8, so that every chunk starts on a 64-byte boundary (float64) and
    TensorFlow slices it out of the store without a copy."""
    return (batch_size + 7) // 8 * 8


def _kept_chunk(kept, n_rows, batch_size, start, stop):
    """The feature rows (P', stop - start) of the chunk at ``start`` in the store."""
    tf = tensorflow()
    n_chunks = (n_rows + batch_size - 1) // batch_size
    stride = _chunk_stride(batch_size)
    n_phi = tf.size(kept) // (n_chunks * stride)
    offset = (start // batch_size) * n_phi * stride
    return tf.reshape(kept[offset:offset + n_phi * (stop - start)],
                      tf.stack([n_phi, stop - start]))


def kept_features(Xt, center, covariance_type, batch_size, device):
    """The training rows' feature rows about ``center``, built once per fit.

    The TensorFlow twin of the numpy backend's kept features, under the same
    rule and budget (:func:`skgmmvi._numpy.em.keeps_features`): then the loop
    only runs the products and the softmax, instead of building the feature
    rows of every chunk in every iteration. Chunk ``i``'s rows (P', n) (P' rows
    of :func:`gaussian.features`' layout) are stored flat from ``i * P' *
    stride`` (see :func:`_chunk_stride`) in one float64 vector, built chunk by
    chunk with the loop's own operations (so the same numbers, bit for bit),
    and handed to TensorFlow without a copy.

    Returns the store, or an empty vector where none is kept (``tied``, over the
    budget, or a GPU device, whose memory the budget does not describe).
    """
    tf = tensorflow()
    n_aug, n_rows = (int(n) for n in Xt.shape)
    pairs = pairs_if_full(covariance_type, n_aug - 1)
    n_phi = int(g.features(tf.zeros([n_aug, 0], tf.float64), covariance_type, pairs,
                           tf.eye(n_aug - 1, dtype=tf.float64)).shape[0])
    stride = _chunk_stride(batch_size)
    n_chunks = -(-n_rows // batch_size)
    n_bytes = n_chunks * n_phi * stride * 8
    if "GPU" in device or not keeps_features(covariance_type, n_bytes):
        return tf.zeros([0], tf.float64)
    store = _aligned_empty((n_chunks * n_phi * stride,), np.dtype(np.float64))
    center_aug = _augmented_center(center)
    for index, start in enumerate(range(0, n_rows, batch_size)):
        stop = min(start + batch_size, n_rows)
        phi = g.features(_centered_columns(Xt, start, stop, center_aug),
                         covariance_type, pairs, None)
        offset = index * n_phi * stride
        store[offset:offset + n_phi * (stop - start)] = phi.numpy().ravel()
    return _as_tensor(store)


def _build_em_steps(covariance_type, data_dtype, objective=MaximumLikelihood):
    tf = tensorflow()
    dtype = tf.float64
    w_shape, m_shape, c_shape, p_shape = _parameter_shapes(covariance_type)
    spec = tf.TensorSpec
    signature = [
        spec([None, None], data_dtype),  # Xt: the data transposed, over a row of ones
        spec([None], dtype),  # kept feature rows (see kept_features; empty: none)
        spec([None], dtype),  # sample weight
        spec([None], dtype),  # centre
        spec([None, None], dtype),  # gram (tied)
        (spec(w_shape, dtype), spec(m_shape, dtype), spec(c_shape, dtype),
         spec(p_shape, dtype)) + objective.extra_specs(),  # parameters
        objective.prior_specs(),  # prior tensors (none for EM)
        spec([], tf.int32),  # n_steps
        spec([], dtype),  # tol
        spec([], dtype),  # reg_covar
        spec([], tf.int32),  # batch_size
        spec([], dtype),  # previous lower bound
    ]

    @tf.function(input_signature=signature, autograph=False)
    def em_steps(Xt, kept, weight, center, gram, params, priors, n_steps, tol,
                 reg_covar, batch_size, previous_lower_bound):
        context = IterationContext(covariance_type, tf.shape(Xt)[0] - 1, center, gram,
                                   tf.reduce_sum(weight), reg_covar, objective, priors)
        return em_loop(_in_memory_chunks(Xt, weight, batch_size, kept), context, params,
                       n_steps, tol, previous_lower_bound)

    return em_steps


def _build_init(covariance_type, data_dtype):
    tf = tensorflow()
    dtype = tf.float64
    spec = tf.TensorSpec
    resp_spec = spec([None, None], dtype)
    signature = [
        spec([None, None], data_dtype), spec([None], dtype), spec([], dtype),
        spec([None], dtype), spec([None, None], dtype), resp_spec, spec([], tf.int32),
        spec([], dtype), spec([], tf.int32),
    ]

    @tf.function(input_signature=signature, autograph=False)
    def initial_parameters(Xt, weight, total_weight, center, gram, resp, n_components,
                           reg_covar, batch_size):
        """Initial parameters from responsibilities ``resp`` of the rows ``Xt``.

        ``total_weight`` is the weight of all rows, which may be more than that
        of ``weight`` (see :func:`skgmmvi._numpy.em.labelled_rows`)."""
        n_features = tf.shape(Xt)[0] - 1
        pairs = pairs_if_full(covariance_type, n_features)
        tied = tf.eye(n_features, dtype=dtype) if covariance_type == "tied" else None

        def weighted_resp(start, stop):
            """Initial responsibilities of rows start:stop times their weights, (K, B)."""
            return tf.transpose(resp[start:stop]) * weight[start:stop]

        def responsibilities(start, stop, phi):
            return weighted_resp(start, stop), tf.zeros([], dtype)

        stats, _ = _accumulate_statistics(Xt, center, covariance_type, pairs, tied,
                                          batch_size, n_components, responsibilities)
        weights, means, covariances, precision_chol = g.parameters_from_statistics(
            stats, gram, total_weight, center, reg_covar, covariance_type, pairs,
            normalize_by="total")
        if covariance_type == "full":
            covariances, precision_chol = _full_scatter_pass(
                Xt, stats, means, weighted_resp, reg_covar, batch_size)
        else:
            covariances, precision_chol = _residual_pass_if_cancelled(
                Xt, center, (weights, means, covariances, precision_chol),
                covariance_type, weighted_resp, reg_covar, batch_size)
        return weights, means, covariances, precision_chol

    return initial_parameters


def _full_scatter_pass(Xt, stats, means, weighted_resp, reg_covar, batch_size):
    """Initial full covariances from a second pass around the new ``means``.

    Exact centred scatter matrices, as initial responsibilities can make components
    arbitrarily narrow. ``weighted_resp(start, stop)`` gives the chunk's initial
    responsibilities times its weights, (K, batch). Returns
    ``(covariances, precision_chol)``.
    """
    tf = tensorflow()
    dtype = tf.float64
    n_components, n_features = tf.shape(means)[0], tf.shape(means)[1]
    counts = stats[:, -1] + tf.constant(10.0 * g.finfo_eps(dtype), dtype)

    def scatter_step(start, stop, scatter):
        diff = _rows(Xt, start, stop)[None, :, :] - means[:, None, :]
        chunk = weighted_resp(start, stop)
        return (scatter + tf.matmul(diff * chunk[:, :, None], diff, transpose_a=True),)

    zero = tf.zeros(tf.stack([n_components, n_features, n_features]), dtype)
    (scatter,) = _over_chunks(tf.shape(Xt)[1], batch_size, scatter_step, (zero,))
    covariances = g.add_to_diagonal(scatter / counts[:, None, None], reg_covar)
    return covariances, g.precision_cholesky(covariances, "full")


def _residual_pass_if_cancelled(Xt, center, params, covariance_type, weighted_resp,
                                reg_covar, batch_size):
    """Initial ``(covariances, precision_chol)``, redone about the means if needed.

    A first pass that cancelled to a covariance that is not positive definite, or
    to less than about 1e-4 relative accuracy (far-apart components), is replaced
    by second moments about the new means. Otherwise the first pass stands, as
    scikit-learn's moment form does.
    """
    tf = tensorflow()
    dtype = tf.float64
    _, means, covariances, precision_chol = params

    def residual_pass():
        def resp_of(start, stop, log_prob):
            return weighted_resp(start, stop), tf.zeros([], dtype)

        (s0, s1, s2), _ = _accumulate_residual_statistics(
            Xt, params, covariance_type, batch_size, resp_of)
        counts = s0 + tf.constant(10.0 * g.finfo_eps(dtype), dtype)
        fixed = g.covariances_from_residuals(counts, s1 / counts[:, None], s2,
                                             reg_covar, covariance_type)
        return fixed, g.precision_cholesky(fixed, covariance_type)

    accurate = g.centre_cancellation(means, center, precision_chol,
                                     covariance_type) <= INIT_CANCELLATION_LIMIT
    return tf.cond(accurate, lambda: (covariances, precision_chol), residual_pass)


def _build_log_prob(covariance_type, data_dtype):
    tf = tensorflow()
    dtype = tf.float64
    _, m_shape, _, p_shape = _parameter_shapes(covariance_type)
    spec = tf.TensorSpec
    signature = [spec([None, None], data_dtype), spec([None], dtype), spec([None], dtype),
                 spec(m_shape, dtype), spec(p_shape, dtype), spec([], tf.int32)]

    @tf.function(input_signature=signature, autograph=False)
    def log_prob_resp(Xt, center, weights, means, precision_chol, batch_size):
        n_rows = tf.shape(Xt)[1]
        n_components = tf.shape(means)[0]
        pairs = pairs_if_full(covariance_type, tf.shape(Xt)[0] - 1)
        n_chunks = (n_rows + batch_size - 1) // batch_size
        center_aug = _augmented_center(center)

        def feature_map_chunk(start, stop):
            coef = g.coefficients(weights, means - center, precision_chol,
                                  covariance_type, pairs)
            tied = precision_chol if covariance_type == "tied" else None
            xa = _centered_columns(Xt, start, stop, center_aug)
            return tf.matmul(g.features(xa, covariance_type, pairs, tied), coef,
                             transpose_a=True, transpose_b=True)

        def residual_chunk(start, stop):
            log_prob, _ = g.component_log_prob(_rows(Xt, start, stop), weights, means,
                                               precision_chol, covariance_type)
            return tf.transpose(log_prob)

        accurate = g.use_feature_map(means, center, precision_chol, covariance_type)

        def step(start, stop, out):
            log_prob = tf.cond(accurate, lambda: feature_map_chunk(start, stop),
                               lambda: residual_chunk(start, stop))
            return (out.write(start // batch_size, log_prob),)

        out = tf.TensorArray(dtype, size=n_chunks, infer_shape=False)
        (out,) = _over_chunks(n_rows, batch_size, step, (out,))
        weighted = tf.reshape(out.concat(), [n_rows, n_components])
        log_norm = tf.reduce_logsumexp(weighted, axis=1)
        return log_norm, weighted - log_norm[:, None]

    return log_prob_resp


def _build_gram(covariance_type, data_dtype):
    tf = tensorflow()
    dtype = tf.float64
    spec = tf.TensorSpec

    @tf.function(input_signature=[spec([None, None], data_dtype), spec([None], dtype),
                                  spec([None], dtype), spec([], tf.int32)],
                 autograph=False)
    def gram(Xt, weight, center, batch_size):
        n_features = tf.shape(Xt)[0] - 1
        center_aug = _augmented_center(center)

        def step(start, stop, acc):
            xc_t = _centered_columns(Xt, start, stop, center_aug)[:-1]
            return (acc + tf.matmul(xc_t * weight[start:stop], xc_t, transpose_b=True),)

        zero = tf.zeros(tf.stack([n_features, n_features]), dtype)
        return _over_chunks(tf.shape(Xt)[1], batch_size, step, (zero,))[0]

    return gram


def _build_bayesian_steps(prior_type):
    """Builder of the compiled loop of a variational mixture with ``prior_type``."""
    def build(covariance_type, data_dtype):
        from .bayesian import VariationalObjective

        return _build_em_steps(covariance_type, data_dtype,
                               VariationalObjective(covariance_type, prior_type))

    return build


_BUILDERS = {
    "em_steps": _build_em_steps,
    "em_steps:dirichlet_process": _build_bayesian_steps("dirichlet_process"),
    "em_steps:dirichlet_distribution": _build_bayesian_steps("dirichlet_distribution"),
    "init": _build_init,
    "log_prob": _build_log_prob,
    "gram": _build_gram,
}


class FitData(TimeSlicedLoop):
    """The training rows as backend tensors, converted once per ``fit``.

    Lives only for the duration of a fit (never stored on an estimator).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    covariance_type : str
    batch_size : int
    dtype : {"float64", "float32"}
    objective : None or skgmmvi._numpy.bayesian.VariationalObjective
        None for EM; a variational mixture's numpy hooks, whose prior the
        compiled loop receives as tensors.
    """

    def __init__(self, X, sample_weight, covariance_type, batch_size, dtype,
                 objective=None):
        tf = tensorflow()
        self.covariance_type = covariance_type
        self.objective = objective
        self.loop_kind = ("em_steps" if objective is None
                          else "em_steps:" + objective.priors.prior_type)
        self.prior_tensors = () if objective is None else tuple(
            tf.constant(value, tf.float64) for value in objective.priors.loop_tensors())
        self.dtype = dtype
        self.batch_size = tf.constant(int(batch_size), tf.int32)
        self.device = device_name()
        with tf.device(self.device):
            self.Xt, center = transposed_with_ones(X, dtype, sample_weight)
            self.weight = tf.convert_to_tensor(sample_weight, dtype=tf.float64)
        self.center = tf.constant(center, tf.float64)
        self.kept = None  # built by the first call of the loop (see kept_features)
        if covariance_type == "tied":
            with tf.device(self.device):
                self.gram = _compiled("gram", covariance_type, dtype)(
                    self.Xt, self.weight, self.center, self.batch_size)
        else:
            self.gram = tf.zeros([0, 0], tf.float64)

    @staticmethod
    def _const(value):
        return tensorflow().constant(value, tensorflow().float64)

    def initial_parameters(self, n_components, reg_covar, labels=None, resp=None,
                           X=None, sample_weight=None):
        """Initial parameters from hard labels (-1 = none) or soft responsibilities.

        ``X``/``sample_weight`` default to the training rows; pass other rows (for
        instance, the distinct rows of the data) to initialise from those.
        """
        tf = tensorflow()
        with tf.device(self.device):
            rows = self.Xt if X is None else transposed_with_ones(X, self.dtype)[0]
            weight = self.weight if X is None else tf.constant(sample_weight, tf.float64)
            total_weight = tf.reduce_sum(weight)
            gram = self.gram
            if X is not None and self.covariance_type == "tied":
                gram = _compiled("gram", "tied", self.dtype)(rows, weight, self.center,
                                                               self.batch_size)
            keep = labelled_rows(labels, self.covariance_type)
            if keep is not None:
                rows, weight = tf.gather(rows, keep, axis=1), tf.gather(weight, keep)
                labels = np.asarray(labels)[keep]
            if labels is not None:  # one-hot (label -1: no component), exact 0s and 1s
                resp = np.equal(np.asarray(labels)[:, None], np.arange(n_components))
            out = _compiled("init", self.covariance_type, self.dtype)(
                rows, weight, total_weight, self.center, gram,
                tf.constant(np.asarray(resp, np.float64)),
                tf.constant(int(n_components), tf.int32), self._const(reg_covar),
                self.batch_size)
        params = tuple(t.numpy() for t in out)
        if self.objective is not None:
            total = np.sum(self.weight.numpy() if X is None else sample_weight)
            params = self.objective.m_step(params, float(total))
        if not all(np.all(np.isfinite(p)) for p in params):
            raise IllDefinedCovariance()
        return params

    def _em_steps_call(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        """One call of the compiled loop: up to ``n_steps`` EM iterations.

        Returns ``(params, lower_bounds, converged)`` (see :func:`loop_results`).
        """
        tf = tensorflow()
        with tf.device(self.device):
            if self.kept is None:
                self.kept = kept_features(self.Xt, self.center, self.covariance_type,
                                          int(self.batch_size), self.device)
            out = _compiled(self.loop_kind, self.covariance_type, self.dtype)(
                self.Xt, self.kept, self.weight, self.center, self.gram,
                tuple(self._const(np.asarray(p)) for p in params), self.prior_tensors,
                tf.constant(int(n_steps), tf.int32), self._const(tol),
                self._const(reg_covar), self.batch_size,
                self._const(previous_lower_bound))
        return loop_results(out, len(params))


def log_prob_resp(X, params, covariance_type, batch_size, dtype):
    """Per-row log-likelihood and log-responsibilities under ``params``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : tuple (weights, means, covariances, precision_chol) of ndarray
    covariance_type : str
    batch_size : int
    dtype : {"float64", "float32"}

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
    log_resp : ndarray of shape (n_samples, n_components)
    """
    tf = tensorflow()
    weights, means, _, precision_chol = params[:4]
    f64 = tf.float64
    center = np.asarray(weights, np.float64) @ np.asarray(means, np.float64)
    with tf.device(device_name()):
        log_norm, log_resp = _compiled("log_prob", covariance_type, dtype)(
            transposed_with_ones(X, dtype)[0], tf.constant(center, f64),
            tf.constant(weights, f64), tf.constant(means, f64),
            tf.constant(precision_chol, f64), tf.constant(int(batch_size), tf.int32))
    return log_norm.numpy(), log_resp.numpy()


def transposed_with_ones(X, dtype, sample_weight=None):
    """The rows of ``X`` as columns over a row of ones: a (D + 1, N) tensor of ``dtype``.

    This layout lets every chunk of rows be a column slice that is already
    transposed for the feature map; the ones give the constant feature. The
    array is filled block by block in numpy and handed to TensorFlow through
    DLPack without a copy, so a fit holds one copy of the data (the caller's
    aside). Data on a GPU device are copied there once.

    Returns the tensor and, when ``sample_weight`` is given, the weighted mean
    of the rows in float64 (accumulated from the blocks while they are in cache),
    else None.
    """
    tf = tensorflow()
    n_rows, n_features = X.shape
    np_dtype = np.dtype(dtype)
    out = _aligned_empty((n_features + 1, n_rows), np_dtype)
    total = np.zeros(n_features)
    block_rows = max(256, 2**17 // max(n_features, 1))
    for start in range(0, n_rows, block_rows):
        stop = min(start + block_rows, n_rows)
        block = out[:n_features, start:stop]
        block[...] = X[start:stop].T
        if sample_weight is not None:
            total += np.asarray(block, np.float64) @ sample_weight[start:stop]
    out[n_features] = 1
    tensor = _as_tensor(out)
    if "GPU" in device_name():
        tensor = tf.identity(tensor)  # under the caller's device scope: one copy there
    if sample_weight is None:
        return tensor, None
    return tensor, total / np.sum(sample_weight, dtype=np.float64)


def _as_tensor(array):
    """A CPU tensor on ``array``'s memory through DLPack (a copy where that fails)."""
    tf = tensorflow()
    try:
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    except Exception:  # noqa: BLE001 - any failure: fall back to a copy
        return tf.constant(array)


def _aligned_empty(shape, dtype, alignment=64):
    """An uninitialised C-contiguous array whose data start on an ``alignment`` boundary."""
    n_bytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(n_bytes + alignment, np.uint8)
    offset = (-raw.ctypes.data) % alignment
    return raw[offset:offset + n_bytes].view(dtype).reshape(shape)
