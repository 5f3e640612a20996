"""EM over a ``tf.data.Dataset`` and under ``tf.distribute`` strategies.

One EM iteration is one pass over the dataset: every batch adds its sufficient
statistics (weighted responsibilities times the feature map of
:mod:`skgmmvi._tf.gaussian`, and the log-likelihood) to running sums, and the
M-step follows the pass. Under a strategy every replica computes the
statistics of its share of each batch and the strategy's all-reduce sums them,
so every replica holds the same sums and computes the same M-step.

All iterations run inside one compiled function per (covariance type, element
structure, strategy); the dataset is an argument, so a new dataset of the same
structure reuses it.
"""

import numpy as np

from . import gaussian as g
from ._runtime import device_name, quiet_graph_mode_notice, tensorflow
from .batches import unpack_batch, weighted_pairs
from .compile_cache import COMPILED
from .em import FitData, IllDefinedCovariance, MaximumLikelihood, in_time_slices


def _columns(x, center):
    """Rows ``x`` (B, D) centred and transposed over a row of ones: (D + 1, B)."""
    tf = tensorflow()
    xt = tf.transpose(x) - center[:, None]
    return tf.concat([xt, tf.ones([1, tf.shape(x)[0]], x.dtype)], axis=0)


class _Kernels:
    """Compiled passes over a dataset for one covariance type and strategy.

    ``objective`` holds the loop's hooks (see :func:`skgmmvi._tf.em._em_iteration`).
    """

    def __init__(self, covariance_type, strategy, objective=MaximumLikelihood):
        tf = tensorflow()
        self.strategy = strategy
        dtype = tf.float64
        cov = covariance_type
        sum_op = tf.distribute.ReduceOp.SUM

        def over_replicas(fn, *args):
            """``fn(*args)`` on every replica, summed (or just ``fn`` without one)."""
            if strategy is None:
                return fn(*args)
            per_replica = strategy.run(fn, args=args)
            # One reduction per tensor: collective ops cannot pack mixed shapes.
            return tf.nest.map_structure(
                lambda value: strategy.reduce(sum_op, value, axis=None), per_replica)

        def batch_moments(x, w):
            x, w = unpack_batch((x, w), dtype)
            return tf.reduce_sum(w), tf.linalg.matvec(x, w, transpose_a=True)

        def batch_gram(x, w, center):
            x, w = unpack_batch((x, w), dtype)
            xc = x - center
            return tf.matmul(xc * w[:, None], xc, transpose_a=True)

        def batch_statistics(x, w, center, params, accurate):
            """Both kinds of statistics of a batch; the kind not ``accurate`` is zeros.

            The choice is local (``tf.cond`` inside the replica), so the all-reduce
            of the result never sits inside a conditional branch.
            """
            x, w = unpack_batch((x, w), dtype)
            weights, means, _, precision_chol = params[:4]
            pairs = (g.upper_triangle_pairs(tf.shape(x)[1]) if cov == "full" else None)
            zeros = g.zero_residual_statistics(tf.shape(means)[0], tf.shape(means)[1],
                                               cov, dtype)

            def feature_map():
                coef = g.coefficients(weights, means - center, precision_chol, cov, pairs)
                phi = g.features(_columns(x, center), cov, pairs,
                                 precision_chol if cov == "tied" else None)
                resp_w, log_lik = objective.e_step(tf.matmul(coef, phi), w[None, :])
                return (tf.matmul(phi, resp_w, transpose_b=True),) + zeros + (log_lik,)

            def residuals():
                log_prob, diff = g.component_log_prob(x, weights, means, precision_chol,
                                                      cov)
                resp_w, log_lik = objective.e_step(log_prob, w[None, :])
                n_phi = tf.shape(g.features(tf.zeros(tf.stack([tf.shape(x)[1] + 1, 0]),
                                                     dtype), cov, pairs, precision_chol))[0]
                return ((tf.zeros(tf.stack([n_phi, tf.shape(means)[0]]), dtype),)
                        + g.residual_statistics(diff, resp_w, cov) + (log_lik,))

            return tf.cond(accurate, feature_map, residuals)

        @tf.function(reduce_retracing=True)
        def moments(dataset, n_features):
            count = tf.constant(0.0, dtype)
            first = tf.zeros(tf.reshape(n_features, [1]), dtype)
            for x, w in dataset:
                c, s = over_replicas(batch_moments, x, w)
                count += c
                first += s
            return count, first

        @tf.function(reduce_retracing=True)
        def gram(dataset, center):
            n_features = tf.shape(center)[0]
            acc = tf.zeros(tf.stack([n_features, n_features]), dtype)
            for x, w in dataset:
                acc += over_replicas(batch_gram, x, w, center)
            return acc

        @tf.function(reduce_retracing=True)
        def em_steps(dataset, center, gram_matrix, total_weight, params, priors,
                     n_steps, tol, reg_covar, previous_lower_bound):
            n_features = tf.shape(center)[0]
            n_components = tf.shape(params[1])[0]
            pairs = g.upper_triangle_pairs(n_features) if cov == "full" else None
            n_phi = tf.shape(g.features(tf.zeros(tf.stack([n_features + 1, 0]), dtype),
                                        cov, pairs, tf.eye(n_features, dtype=dtype)))[0]
            params = tuple(params)
            history = tf.TensorArray(dtype, size=0, dynamic_size=True)
            it = tf.constant(0)
            lower_bound = previous_lower_bound
            converged = tf.constant(False)
            ok = tf.constant(True)
            while (it < n_steps) & tf.logical_not(converged) & ok:
                accurate = g.use_feature_map(params[1], center, params[3], cov)
                sums = (tf.zeros(tf.stack([n_phi, n_components]), dtype),) + \
                    g.zero_residual_statistics(n_components, n_features, cov, dtype) + \
                    (tf.constant(0.0, dtype),)
                for x, w in dataset:
                    batch = over_replicas(batch_statistics, x, w, center, params, accurate)
                    sums = tuple(a + b for a, b in zip(sums, batch))
                new_params = objective.m_step(
                    _m_step(sums, params, accurate, gram_matrix, total_weight, center,
                            reg_covar, cov, pairs), total_weight, priors)
                new_lower_bound = objective.lower_bound(sums[-1], new_params,
                                                        total_weight, priors)
                ok = g.all_finite(new_params[3]) & g.all_finite(new_params[1])
                params = tuple(tf.where(ok, new, old) for new, old in zip(new_params, params))
                converged = tf.abs(new_lower_bound - lower_bound) < tol
                lower_bound = new_lower_bound
                history = history.write(it, new_lower_bound)
                it += 1
            return params + (history.stack(), converged, ok)

        self.moments, self.gram, self.em_steps = moments, gram, em_steps


def _m_step(sums, params, accurate, gram, total_weight, center, reg_covar, cov, pairs):
    """New parameters from the summed statistics of the kind ``accurate`` chose."""
    tf = tensorflow()

    def from_feature_map():
        stats = g.canonical_statistics(tf.transpose(sums[0]), cov, pairs)
        return g.parameters_from_statistics(stats, gram, total_weight, center, reg_covar,
                                            cov, pairs, normalize_by="counts")

    def from_residuals():
        return g.parameters_from_residuals(sums[1:4], params[1], reg_covar, cov)

    return tf.cond(accurate, from_feature_map, from_residuals)


def _kernels(covariance_type, strategy, prior_type=None):
    """The compiled passes (EM's, or a variational mixture's with ``prior_type``)."""
    key = ("em_stream", covariance_type, None if strategy is None else id(strategy))
    if prior_type is None:
        return COMPILED.get(key, lambda: _Kernels(covariance_type, strategy),
                            owner=strategy)

    def build():
        from .bayesian import VariationalObjective

        return _Kernels(covariance_type, strategy,
                        VariationalObjective(covariance_type, prior_type))

    return COMPILED.get(key + (prior_type,), build, owner=strategy)


class StreamFitData:
    """EM over a dataset (or in-memory rows under a strategy), one fit's state.

    Parameters
    ----------
    dataset : tf.data.Dataset
        Elements: row batches or ``(rows, weights)`` pairs.
    init_rows, init_weight : ndarray
        Rows (and their weights) the initialisation is computed from.
    covariance_type : str
    batch_size : int
        Rows per chunk for the initialisation kernels.
    dtype : {"float64", "float32"}
    strategy : tf.distribute.Strategy or None
    objective : None or skgmmvi._numpy.bayesian.VariationalObjective
        None for EM; a variational mixture's hooks, whose data-dependent prior
        defaults are replaced by the moments of the whole dataset
        (``self.objective``).
    """

    def __init__(self, dataset, init_rows, init_weight, covariance_type, batch_size,
                 dtype, strategy=None, objective=None):
        tf = tensorflow()
        self.covariance_type = covariance_type
        self.strategy = strategy
        self.kernels = _kernels(covariance_type, strategy,
                                None if objective is None else objective.priors.prior_type)
        dataset = weighted_pairs(dataset)
        if strategy is not None:
            dataset = strategy.experimental_distribute_dataset(dataset)
        self.dataset = dataset
        with self._scope(), quiet_graph_mode_notice():
            total, first = self.kernels.moments(self.dataset,
                                                tf.constant(init_rows.shape[1]))
        self.total_weight = total
        if not float(total) > 0:
            raise ValueError("The dataset's rows have no positive weight in total; "
                             "give at least one row a positive weight.")
        self.center = first / total
        needs_scatter = objective is not None and objective.priors.needs_data_moments()
        if covariance_type == "tied" or needs_scatter:
            with self._scope(), quiet_graph_mode_notice():
                self.gram = self.kernels.gram(self.dataset, self.center)
        else:
            self.gram = tf.zeros([0, 0], tf.float64)
        if needs_scatter:
            objective = objective.with_data_moments(
                self.center.numpy(), self.gram.numpy(), float(total))
        self.objective = objective
        self.prior_tensors = () if objective is None else tuple(
            tf.constant(value, tf.float64) for value in objective.priors.loop_tensors())
        self.init_data = FitData(init_rows, init_weight, covariance_type, batch_size,
                                 dtype, objective=objective)
        if covariance_type != "tied":
            self.gram = tf.zeros([0, 0], tf.float64)

    def _scope(self):
        tf = tensorflow()
        return self.strategy.scope() if self.strategy is not None else tf.device(
            device_name())

    def initial_parameters(self, *args, **kwargs):
        """As :meth:`skgmmvi._tf.em.FitData.initial_parameters`, on the init rows."""
        return self.init_data.initial_parameters(*args, **kwargs)

    def em_steps(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        """Up to ``n_steps`` EM iterations, one pass over the dataset each.

        Returns ``(params, lower_bounds, converged)`` as
        :meth:`skgmmvi._tf.em.FitData.em_steps` does, also in time slices, except
        under a strategy: there every worker must run the same number of iterations
        per call (their collective operations pair up), so it is one call.
        """
        if self.strategy is not None:
            return self._em_steps_call(params, n_steps, tol, reg_covar,
                                       previous_lower_bound)
        return in_time_slices(
            lambda p, n, previous: self._em_steps_call(p, n, tol, reg_covar, previous),
            params, n_steps, previous_lower_bound)

    def _em_steps_call(self, params, n_steps, tol, reg_covar, previous_lower_bound):
        """One call of the compiled passes: up to ``n_steps`` EM iterations."""
        tf = tensorflow()
        const = lambda v: tf.constant(np.asarray(v), tf.float64)  # noqa: E731
        with self._scope(), quiet_graph_mode_notice():
            out = self.kernels.em_steps(
                self.dataset, self.center, self.gram, self.total_weight,
                tuple(const(p) for p in params), self.prior_tensors,
                tf.constant(int(n_steps)), const(tol), const(reg_covar),
                const(previous_lower_bound))
        n_params = len(params)
        history, converged, ok = out[n_params:]
        if not bool(ok):
            raise IllDefinedCovariance()
        return tuple(p.numpy() for p in out[:n_params]), history.numpy(), bool(converged)


def rows_dataset(X, sample_weight, batch_size):
    """In-memory rows as a dataset of ``(rows, weights)`` batches."""
    tf = tensorflow()
    return tf.data.Dataset.from_tensor_slices(
        (X, np.asarray(sample_weight, np.float64))).batch(int(batch_size))
