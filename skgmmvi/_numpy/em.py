"""EM on the numpy backend: the same loop as :mod:`skgmmvi._tf.em`, numpy in, numpy out.

:class:`FitData` has the interface of :class:`skgmmvi._tf.em.FitData`
(``initial_parameters`` and ``em_steps``) and :func:`log_prob_resp` that of
:func:`skgmmvi._tf.em.log_prob_resp`, so the estimators call either backend the
same way. Rows are processed in chunks, so memory beyond the data is
O(batch_size * (K + P)) per worker thread, plus the training rows' feature rows
where they fit :data:`FEATURE_CACHE_BYTES` (kept from a fit's first pass for the
others); every chunk is cast to float64 as it is read, and statistics and
parameters are float64. Large passes hand their chunks to a few worker threads,
each on one BLAS thread, and add the chunks' sums in order, so the numbers do
not depend on the number of threads (:mod:`skgmmvi._numpy._chunk_workers`).

Each EM iteration uses the feature map of :mod:`skgmmvi._numpy.gaussian` about
the data's weighted mean, unless the entering parameters put that centre more
than :data:`~skgmmvi._cancellation.CANCELLATION_LIMIT` squared Mahalanobis
units from a component; then the iteration works with residuals about each
component's entering mean instead (the far-apart rule shared with the
TensorFlow backend).
"""

import numpy as np

from .._cancellation import CANCELLATION_LIMIT, INIT_CANCELLATION_LIMIT
from . import gaussian as g
from ._chunk_workers import n_workers, sum_over_chunks
from ._threads import one_thread

#: Numbers per chunk of the per-component residuals (K, batch, D): a few MiB.
_RESIDUAL_CHUNK_ELEMENTS = 2**19

#: A fit keeps the feature rows phi(x - c) of its training rows, built in its
#: first pass, while they take at most this many bytes (N * P * 8): later passes
#: then skip building them (about a sixth of an iteration's time at 100 000 x 16,
#: K=16, full). Above it every pass builds them chunk by chunk, in bounded memory.
FEATURE_CACHE_BYTES = 2**28


def keeps_features(covariance_type, n_bytes):
    """Whether a fit keeps its training rows' feature rows, ``n_bytes`` in all.

    The one rule of both backends (the TensorFlow path's store, in its own
    layout, is sized by its own ``n_bytes``): never for ``tied``, whose quadratic
    feature depends on the precision, and only within :data:`FEATURE_CACHE_BYTES`.
    """
    return covariance_type != "tied" and n_bytes <= FEATURE_CACHE_BYTES


class IllDefinedCovariance(ArithmeticError):
    """An M-step produced a covariance that is not positive definite."""


def softmax_parts(log_prob, overwrite=False):
    """``(exp(log_prob - peak), its sum over components, log-sum-exp)`` of (K, batch)
    log-probabilities: the pieces of a softmax over components. With
    ``overwrite``, the first is computed in ``log_prob``'s memory (the same
    numbers, fewer passes over memory)."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        peak = np.max(log_prob, axis=0, keepdims=True)
        unnorm = np.subtract(log_prob, peak, out=log_prob if overwrite else None)
        np.exp(unnorm, out=unnorm)
        total = np.sum(unnorm, axis=0, keepdims=True)
        log_norm = (np.log(total) + peak)[0]
    return unnorm, total, log_norm


def _normalised(log_prob, weight):
    """Softmax over components of (K, batch) log-probabilities, times ``weight``.

    Returns ``(resp * w, log_lik)``: weighted responsibilities (K, batch), in
    ``log_prob``'s memory, and the weighted log-likelihood sum, to which rows of
    weight 0 add nothing even where their density underflows.
    """
    unnorm, total, log_norm = softmax_parts(log_prob, overwrite=True)
    with np.errstate(invalid="ignore", over="ignore"):
        log_lik = float(np.sum(np.where(weight == 0, 0.0, log_norm * weight)))
    return np.multiply(unnorm, weight / total, out=unnorm), log_lik


class MaximumLikelihood:
    """EM's hooks of the loop (the default of :class:`FitData`).

    A loop variant (the variational Bayesian mixture of
    :mod:`skgmmvi._numpy.bayesian`) supplies the same three methods: the
    E-step's responsibilities and its term of the objective, the M-step from EM's
    maximum-likelihood parameters, and the objective after an iteration.
    """

    @staticmethod
    def e_step(log_prob, weight):
        """``(resp * w, sum_n w_n log p(x_n))`` of (K, batch) log-probabilities
        (overwritten: the responsibilities take their memory)."""
        return _normalised(log_prob, weight)

    @staticmethod
    def m_step(params, total_weight):
        """EM's parameters are the M-step's result."""
        return params

    @staticmethod
    def lower_bound(e_step_term, params, total_weight):
        """The mean log-likelihood of the rows."""
        return e_step_term / total_weight


def labelled_rows(labels, covariance_type):
    """Indices of the rows that carry an initial label (``labels >= 0``), or None.

    Rows without a label (``-1``: every row but one per component after
    ``random_from_data`` or ``k-means++``) have zero initial responsibilities, so
    the initial weights, means and ``full``/``diag``/``spherical`` covariances
    are sums over the labelled rows alone, exactly: leaving the others out saves
    passes over the data. ``tied`` covariances use every row (scikit-learn's
    ``X^T X``), so they keep them all (None), as does a labelling of every row.
    """
    if labels is None or covariance_type == "tied":
        return None
    labelled = np.flatnonzero(np.asarray(labels) >= 0)
    return None if labelled.size == len(labels) else labelled


def _finite(params):
    """The TensorFlow backend's test: means and precision factors all finite."""
    return bool(np.all(np.isfinite(params[3])) and np.all(np.isfinite(params[1])))


class FitData:
    """The training rows for a numpy fit (lives only for the duration of a fit).

    Takes the parameters of :class:`skgmmvi._tf.em.FitData`; the rows are held
    in ``dtype`` as there, and each chunk is cast to float64 as it is read.
    ``objective`` holds the loop's hooks (:class:`MaximumLikelihood` for EM).
    """

    def __init__(self, X, sample_weight, covariance_type, batch_size, dtype,
                 objective=MaximumLikelihood):
        self.covariance_type = covariance_type
        self.objective = objective
        self.dtype = dtype
        self.batch_size = int(batch_size)
        self.X = np.asarray(X).astype(dtype, copy=False)
        self.weight = np.asarray(sample_weight, np.float64)
        self.total_weight = float(np.sum(self.weight))
        self.pairs = g.upper_pairs(X.shape[1]) if covariance_type == "full" else None
        total = sum(chunk.T @ w for chunk, w in self._chunks(self.X, self.weight))
        self.center = total / np.sum(self.weight, dtype=np.float64)
        self.gram = (self._gram(self.X, self.weight) if covariance_type == "tied"
                     else None)
        self._kept_features = self._feature_store(X.shape, covariance_type)

    @staticmethod
    def _feature_store(shape, covariance_type):
        """Where the first pass keeps the training rows' features, or None.

        ``(flat, built)``: one allocation for all chunks (so the kernel can back
        it with huge pages instead of faulting in 4 KiB pages chunk by chunk),
        chunk ``start:stop`` in ``flat[P * start:P * stop]``, and the set of the
        chunks built. None for ``tied``, whose quadratic feature depends on the
        precision, and beyond :data:`FEATURE_CACHE_BYTES`.
        """
        n_phi = g.n_features_of_phi(shape[1], covariance_type)
        if not keeps_features(covariance_type, shape[0] * n_phi * 8):
            return None
        return np.empty(shape[0] * n_phi), set()

    def _chunks(self, X, weight, rows=None):
        """(rows in float64, weights) of successive chunks."""
        step = self.batch_size if rows is None else rows
        for start in range(0, X.shape[0], step):
            yield np.asarray(X[start:start + step], np.float64), weight[start:start + step]

    def _centred_columns(self, X, weight):
        """(centred rows as C-contiguous columns (D, batch), weights) of the chunks."""
        for rows, w in self._chunks(X, weight):
            yield np.ascontiguousarray((rows - self.center).T), w

    def _gram(self, X, weight):
        """``sum_n w_n (x_n - c)(x_n - c)^T`` (for ``tied``)."""
        return sum((xt * w) @ xt.T for xt, w in self._centred_columns(X, weight))

    def _residual_rows(self, n_components):
        """Rows per chunk for the per-component residuals (K, batch, D)."""
        width = n_components * max(self.X.shape[1], 1)
        return int(min(self.batch_size, max(64, _RESIDUAL_CHUNK_ELEMENTS // width)))

    # ------------------------------------------------------------ statistics
    def _feature_statistics(self, X, weight, responsibilities, tied_chol, n_components):
        """``sum_n w_n r_nk phi(x_n - c)`` (K, P) and the weighted log-likelihood.

        ``responsibilities(start, phi, w)`` gives ``(r * w, log_lik)`` of a chunk,
        with ``r * w`` of shape (K, batch); it is called from worker threads when
        the pass is large (see :mod:`skgmmvi._numpy._chunk_workers`), so it must
        only read shared state.
        """
        n_rows, n_features = X.shape
        n_phi = g.n_features_of_phi(n_features, self.covariance_type)
        batch = self.batch_size
        width = min(batch, n_rows)

        kept = self._kept_features if X is self.X else None

        def chunk_features(start, stop, scratch):
            if kept is not None:
                phi = kept[0][n_phi * start:n_phi * stop].reshape(n_phi, stop - start)
                if start in kept[1]:
                    return phi
            if "xt" not in scratch:  # this thread's buffers, reused chunk after chunk
                scratch["xt"] = np.empty((n_features, width))
                scratch["phi"] = np.empty((n_phi, width))
            xt = np.subtract(X[start:stop].T, self.center[:, None],
                             out=scratch["xt"][:, :stop - start])
            if kept is None:
                phi = scratch["phi"][:, :stop - start]
            g.features(xt, self.covariance_type, tied_chol, out=phi)
            if kept is not None:
                kept[1].add(start)  # each chunk is built by one thread only
            return phi

        def chunk_terms(start, scratch):
            stop = min(start + batch, n_rows)
            phi = chunk_features(start, stop, scratch)
            resp_w, chunk_log_lik = responsibilities(start, phi, weight[start:stop])
            return resp_w @ phi.T, chunk_log_lik

        starts = range(0, n_rows, batch)
        return sum_over_chunks(chunk_terms, starts,
                               n_workers(n_rows * n_components * n_phi, len(starts)))

    def _feature_map_step(self, params, reg_covar):
        """One EM iteration with the feature map about the data's mean."""
        weights, means, _, precision_chol = params[:4]
        coef = g.coefficients(weights, means - self.center, precision_chol,
                              self.covariance_type, self.pairs)
        tied = precision_chol if self.covariance_type == "tied" else None

        def responsibilities(start, phi, w):
            return self.objective.e_step(coef @ phi, w)

        stats, log_lik = self._feature_statistics(self.X, self.weight, responsibilities,
                                                  tied, len(weights))
        new = g.parameters_from_statistics(
            stats, self.gram, np.sum(self.weight), self.center, reg_covar,
            self.covariance_type, self.pairs, normalize_by="counts")
        return self.objective.m_step(new, self.total_weight), log_lik

    def _residual_statistics(self, X, weight, params, responsibilities):
        """Residual statistics ``(S0, S1, S2)`` about the means of ``params`` and the
        weighted log-likelihood, over all rows of ``X``.

        ``responsibilities(start, log_prob, w)`` gives ``(r * w, log_lik)`` of a
        chunk from its per-component log-densities (K, batch).
        """
        weights, means, _, precision_chol = params[:4]
        totals, log_lik, start = None, 0.0, 0
        for rows, w in self._chunks(X, weight, rows=self._residual_rows(len(means))):
            log_prob, residuals = g.component_log_prob(rows, weights, means,
                                                       precision_chol, self.covariance_type)
            resp_w, chunk_log_lik = responsibilities(start, log_prob, w)
            chunk = g.residual_statistics(residuals, resp_w, self.covariance_type)
            totals = chunk if totals is None else tuple(a + b for a, b in zip(totals, chunk))
            log_lik += chunk_log_lik
            start += rows.shape[0]
        return totals, log_lik

    def _component_step(self, params, reg_covar):
        """One EM iteration about each component's entering mean (far-apart data)."""
        statistics, log_lik = self._residual_statistics(
            self.X, self.weight, params,
            lambda start, log_prob, w: self.objective.e_step(log_prob, w))
        new = g.parameters_from_residuals(statistics, params[1], reg_covar,
                                          self.covariance_type)
        return self.objective.m_step(new, self.total_weight), log_lik

    # ------------------------------------------------------------ public API
    def initial_parameters(self, n_components, reg_covar, labels=None, resp=None,
                           X=None, sample_weight=None):
        """Initial parameters from hard labels (-1 = none) or soft responsibilities.

        ``X``/``sample_weight`` default to the training rows; pass other rows (for
        instance, the distinct rows of the data) to initialise from those.
        """
        rows = self.X if X is None else np.asarray(X).astype(self.dtype, copy=False)
        weight = self.weight if X is None else np.asarray(sample_weight, np.float64)
        gram = self.gram if X is None or self.gram is None else self._gram(rows, weight)
        total_weight = float(np.sum(weight))
        keep = labelled_rows(labels, self.covariance_type)
        if keep is not None:
            rows, weight, labels = rows[keep], weight[keep], np.asarray(labels)[keep]
        if labels is not None:
            labels = np.asarray(labels)
            source = (labels[:, None] == np.arange(n_components)).astype(np.float64)
        else:
            source = np.asarray(resp, np.float64)

        def responsibilities(start, phi, w):
            return source[start:start + phi.shape[1]].T * w, 0.0

        tied = np.eye(rows.shape[1]) if self.covariance_type == "tied" else None
        stats, _ = self._feature_statistics(rows, weight, responsibilities, tied,
                                            n_components)
        params = g.parameters_from_statistics(
            stats, gram, total_weight, self.center, reg_covar, self.covariance_type,
            self.pairs, normalize_by="total")
        if self.covariance_type == "full":
            params = self._exact_full_covariances(rows, weight, source, stats, params,
                                                  reg_covar)
        elif not g.centre_distance(params[1] - self.center, params[3],
                                   self.covariance_type) <= INIT_CANCELLATION_LIMIT:
            params = self._covariances_about_means(rows, weight, source, params,
                                                   reg_covar)
        params = self.objective.m_step(params, total_weight)
        if not all(np.all(np.isfinite(p)) for p in params):
            raise IllDefinedCovariance()
        return params

    def _exact_full_covariances(self, rows, weight, source, stats, params, reg_covar):
        """Second pass around the new means: exact centred scatter matrices, as
        initial responsibilities can make components arbitrarily narrow."""
        weights, means, _, _ = params
        counts = stats[:, -1] + g.guard()
        scatter, start = 0.0, 0
        for x, w in self._chunks(rows, weight):
            diff = x[None, :, :] - means[:, None, :]
            chunk = source[start:start + x.shape[0]].T * w
            scatter = scatter + np.swapaxes(diff * chunk[:, :, None], 1, 2) @ diff
            start += x.shape[0]
        covariances = g.add_to_diagonal(scatter / counts[:, None, None], reg_covar)
        return (weights, means, covariances,
                g.precision_cholesky(covariances, self.covariance_type))

    def _covariances_about_means(self, rows, weight, source, params, reg_covar):
        """Initial covariances from second moments about the new means: for a first
        pass that cancelled to a covariance that is not positive definite, or to
        less than about 1e-4 relative accuracy (far-apart components)."""
        def responsibilities(start, log_prob, w):
            return source[start:start + log_prob.shape[1]].T * w, 0.0

        (s0, s1, s2), _ = self._residual_statistics(rows, weight, params,
                                                    responsibilities)
        counts = s0 + g.guard()
        covariances = g.covariances_from_residuals(counts, s1 / counts[:, None], s2,
                                                   reg_covar, self.covariance_type)
        return (params[0], params[1], covariances,
                g.precision_cholesky(covariances, self.covariance_type))

    def em_steps(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        """Run up to ``n_steps`` EM iterations from ``params``.

        Returns ``(params, lower_bounds, converged)`` as
        :meth:`skgmmvi._tf.em.FitData.em_steps`; raises
        :class:`IllDefinedCovariance` when a covariance stops being positive
        definite. Runs on one BLAS thread (see :mod:`skgmmvi._numpy._threads`).
        """
        with one_thread("blas"):
            return self._em_loop(params, n_steps, tol, reg_covar, previous_lower_bound)

    def _em_loop(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        params = tuple(np.asarray(p, np.float64) for p in params)
        total_weight = self.total_weight
        history, lower_bound, converged = [], float(previous_lower_bound), False
        for _ in range(int(n_steps)):
            rho = g.centre_distance(params[1] - self.center, params[3],
                                    self.covariance_type)
            step = (self._feature_map_step if rho <= CANCELLATION_LIMIT
                    else self._component_step)
            new_params, log_lik = step(params, reg_covar)
            new_lower_bound = self.objective.lower_bound(log_lik, new_params,
                                                         total_weight)
            history.append(new_lower_bound)
            if not _finite(new_params):
                raise IllDefinedCovariance()
            params = new_params
            converged = abs(new_lower_bound - lower_bound) < tol
            lower_bound = new_lower_bound
            if converged:
                break
        return params, np.asarray(history), converged


def log_prob_resp(X, params, covariance_type, batch_size):
    """Per-row ``(log p(x), log responsibilities)`` under ``params``.

    As :func:`skgmmvi._tf.em.log_prob_resp` (without its ``dtype``), but from
    residuals about each component's mean (as scikit-learn), so rows far from
    the model, up to the float range and beyond, score as scikit-learn scores
    them (``-inf`` where the density underflows).
    """
    weights, means, _, precision_chol = (np.asarray(p, np.float64) for p in params)
    n_components, n_features = means.shape
    rows = int(min(batch_size, max(64, _RESIDUAL_CHUNK_ELEMENTS
                                   // (n_components * max(n_features, 1)))))
    log_norm = np.empty(X.shape[0])
    log_resp = np.empty((X.shape[0], n_components))
    for start in range(0, X.shape[0], rows):
        x = np.asarray(X[start:start + rows], np.float64)
        log_prob = g.component_log_prob(x, weights, means, precision_chol,
                                        covariance_type)[0].T
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            peak = np.max(log_prob, axis=1, keepdims=True)
            peak[~np.isfinite(peak)] = 0.0  # all -inf: log-sum-exp is -inf, not NaN
            norm = np.log(np.sum(np.exp(log_prob - peak), axis=1)) + peak[:, 0]
            log_norm[start:start + rows] = norm
            log_resp[start:start + rows] = log_prob - norm[:, None]
    return log_norm, log_resp
