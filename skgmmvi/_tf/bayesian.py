"""Variational Bayesian Gaussian mixture: the hooks of the compiled EM loop.

The TensorFlow twin of :mod:`skgmmvi._numpy.bayesian` (see there for the
algebra and the 7-tuple of parameters): traced inside the compiled loop of
:mod:`skgmmvi._tf.em`, with the prior passed as tensors (so a new prior never
retraces). All arithmetic is float64.
"""

import math

from .._numpy.bayesian import LOG_SMALLEST_WEIGHT
from . import gaussian as g
from ._runtime import tensorflow


def _sum_over_dimensions(function, degrees_of_freedom, n_features):
    """``sum_{i<D} function((nu - i) / 2)`` for each nu (shape of ``nu``)."""
    tf = tensorflow()
    offsets = tf.cast(tf.range(n_features), degrees_of_freedom.dtype)
    return tf.reduce_sum(function(0.5 * (degrees_of_freedom[..., None] - offsets)),
                         axis=-1)


class VariationalObjective:
    """Loop hooks for one prior type and covariance type (see the numpy twin).

    ``priors`` inside the loop is the tuple of tensors ``(weight_concentration,
    mean_precision, mean, degrees_of_freedom, covariance)``.
    """

    def __init__(self, covariance_type, prior_type):
        self.covariance_type = covariance_type
        self.prior_type = prior_type

    def extra_specs(self):
        """TensorSpecs of the posterior's extra parameters (concentration,
        mean precision, degrees of freedom)."""
        tf = tensorflow()
        spec, f64 = tf.TensorSpec, tf.float64
        concentration = [2, None] if self.prior_type == "dirichlet_process" else [None]
        nu = [] if self.covariance_type == "tied" else [None]
        return (spec(concentration, f64), spec([None], f64), spec(nu, f64))

    def prior_specs(self):
        """TensorSpecs of the prior tensors."""
        tf = tensorflow()
        spec, f64 = tf.TensorSpec, tf.float64
        covariance = {"full": [None, None], "tied": [None, None], "diag": [None],
                      "spherical": []}[self.covariance_type]
        return (spec([], f64), spec([], f64), spec([None], f64), spec([], f64),
                spec(covariance, f64))

    @staticmethod
    def e_step(log_prob, weight):
        """``(resp * w, -sum w r log r)`` of (K, B) log-probabilities."""
        tf = tensorflow()
        peak = tf.reduce_max(log_prob, axis=0, keepdims=True)
        unnorm = tf.exp(log_prob - peak)
        total = tf.reduce_sum(unnorm, axis=0, keepdims=True)
        resp_w = unnorm * (weight / total)
        log_resp = log_prob - (tf.math.log(total) + peak)
        return resp_w, -tf.reduce_sum(tf.math.multiply_no_nan(log_resp, resp_w))

    def _expected_log_weights(self, concentration):
        tf = tensorflow()
        if self.prior_type == "dirichlet_process":
            a, b = concentration[0], concentration[1]
            log_total = tf.math.digamma(a + b)
            return (tf.math.digamma(a) - log_total
                    + tf.math.cumsum(tf.math.digamma(b) - log_total, exclusive=True))
        return tf.math.digamma(concentration) - tf.math.digamma(
            tf.reduce_sum(concentration))

    def _concentration(self, counts, prior):
        tf = tensorflow()
        if self.prior_type == "dirichlet_process":
            later = tf.math.cumsum(counts, exclusive=True, reverse=True)
            return tf.stack([1.0 + counts, prior + later])
        return prior + counts

    def _scale_matrices(self, counts, means, covariances, mean_precision, priors):
        tf = tensorflow()
        _, beta0, m0, _, psi0 = priors
        pull = beta0 / mean_precision * counts
        offset = means - m0
        if self.covariance_type == "full":
            outer = offset[:, :, None] * offset[:, None, :]
            return (psi0 + counts[:, None, None] * covariances
                    + pull[:, None, None] * outer)
        if self.covariance_type == "tied":
            n_components = tf.cast(tf.shape(counts)[0], counts.dtype)
            return (psi0 + covariances * (tf.reduce_sum(counts) / n_components)
                    + tf.matmul(pull[:, None] * offset, offset, transpose_a=True)
                    / n_components)
        if self.covariance_type == "diag":
            return psi0 + counts[:, None] * covariances + pull[:, None] * offset**2
        return (psi0 + counts * covariances
                + pull * tf.reduce_mean(offset**2, axis=1))

    def m_step(self, params, total_weight, priors):
        """The posterior 7-tuple from EM's parameters (counts ``w_k * total``)."""
        tf = tensorflow()
        weights, means, covariances = params[:3]
        concentration0, beta0, m0, nu0, _ = priors
        counts = weights * total_weight
        mean_precision = beta0 + counts
        post_means = (beta0 * m0 + counts[:, None] * means) / mean_precision[:, None]
        if self.covariance_type == "tied":
            nu = nu0 + tf.reduce_sum(counts) / tf.cast(tf.shape(counts)[0], counts.dtype)
        else:
            nu = nu0 + counts
        scale = self._scale_matrices(counts, means, covariances, mean_precision, priors)
        shaped_nu = {"full": lambda: nu[:, None, None], "diag": lambda: nu[:, None]}.get(
            self.covariance_type, lambda: nu)()
        post_covariances = scale / shaped_nu
        concentration = self._concentration(counts, concentration0)
        n_features = tf.shape(means)[1]
        d = tf.cast(n_features, tf.float64)
        log_det_shift = (d * math.log(2.0)
                         + _sum_over_dimensions(tf.math.digamma, nu, n_features)
                         - d * tf.math.log(nu))
        scoring = tf.exp(tf.maximum(self._expected_log_weights(concentration)
                                    + 0.5 * (log_det_shift - d / mean_precision),
                                    LOG_SMALLEST_WEIGHT))
        return (scoring, post_means, post_covariances,
                g.precision_cholesky(post_covariances, self.covariance_type),
                concentration, mean_precision, nu)

    def lower_bound(self, e_step_term, params, total_weight, priors):
        """scikit-learn's evidence lower bound (up to a constant) after an M-step."""
        tf = tensorflow()
        _, means, _, precision_chol, concentration, mean_precision, nu = params
        n_features = tf.shape(means)[1]
        d = tf.cast(n_features, tf.float64)
        log_det = (g.log_det_precision_chol(precision_chol, self.covariance_type,
                                            n_features) - 0.5 * d * tf.math.log(nu))
        log_wishart = -(nu * log_det + 0.5 * nu * d * math.log(2.0)
                        + _sum_over_dimensions(tf.math.lgamma, nu, n_features))
        if self.covariance_type == "tied":
            log_wishart = tf.cast(tf.shape(means)[0], tf.float64) * log_wishart
        if self.prior_type == "dirichlet_process":
            a, b = concentration[0], concentration[1]
            log_norm_weight = -tf.reduce_sum(tf.math.lgamma(a) + tf.math.lgamma(b)
                                             - tf.math.lgamma(a + b))
        else:
            log_norm_weight = (tf.math.lgamma(tf.reduce_sum(concentration))
                               - tf.reduce_sum(tf.math.lgamma(concentration)))
        return (e_step_term - tf.reduce_sum(log_wishart) - log_norm_weight
                - 0.5 * d * tf.reduce_sum(tf.math.log(mean_precision)))
