"""Variational Bayesian Gaussian mixture: the hooks of the numpy EM loop.

The loop of :mod:`skgmmvi._numpy.em` is shared: its E-step accumulates the
same sufficient statistics and its M-step turns them into EM's parameters
(counts, weighted means, weighted covariances plus ``reg_covar``).
:class:`VariationalObjective` then maps those to the variational posterior
(Dirichlet or Dirichlet-process weights, Gaussian-Wishart components; Bishop,
*Pattern Recognition and Machine Learning*, sec. 10.2, with the precision
scale normalised by the degrees of freedom as scikit-learn does), and scores
the fit by the evidence lower bound up to a constant.

Parameters travel through the loop as a 7-tuple ``(scoring_weights, means,
covariances, precisions_cholesky, concentration, mean_precision,
degrees_of_freedom)``: the first four are what the E-step and the scoring of
a fitted model read (``log scoring_weights`` holds the expected log-weights
and the expected log-determinant terms), the last three complete the
posterior. ``concentration`` is (2, K) for a Dirichlet process (the Beta
parameters of the stick-breaking fractions) and (K,) for a Dirichlet
distribution. All arithmetic is float64.
"""

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import betaln, digamma, gammaln

from . import gaussian as g
from .em import softmax_parts


def covariance_prior_from_scatter(scatter, total_weight, covariance_type):
    """The sample covariance ``scatter / (total - 1)`` shaped for ``covariance_type``
    (scikit-learn's default ``covariance_prior``); ``scatter`` is
    ``sum_n w_n (x_n - mean)(x_n - mean)^T``."""
    if not total_weight > 1.0:
        raise ValueError(
            "The default covariance_prior is the sample covariance of X, which needs "
            f"a total sample weight above 1; got {total_weight!r}. Pass "
            "covariance_prior explicitly or use larger sample weights.")
    covariance = np.asarray(scatter, np.float64) / (total_weight - 1.0)
    if covariance_type in ("full", "tied"):
        return covariance
    variances = np.diagonal(covariance).copy()
    return variances if covariance_type == "diag" else float(np.mean(variances))


#: Floor of the log scoring weights: ``log`` of the smallest normal float64, so
#: that a component the weights' posterior switches off (``E[log pi_k]`` of
#: -1e10, say) keeps a finite log-weight and a responsibility of 0 to rounding.
LOG_SMALLEST_WEIGHT = float(np.log(np.finfo(np.float64).tiny))


@dataclass(frozen=True)
class Priors:
    """The prior of a variational mixture (scikit-learn's ``*_prior_``).

    ``default_mean`` and ``default_covariance`` say whether ``mean`` and
    ``covariance`` are the data's moments (scikit-learn's defaults), which a
    fit that streams the data replaces by those of all its rows.
    """

    prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray
    default_mean: bool = False
    default_covariance: bool = False

    def needs_data_moments(self):
        """True when the mean or the covariance is a default from the data."""
        return self.default_mean or self.default_covariance

    def with_data_moments(self, mean, scatter, total_weight, covariance_type):
        """These priors with the defaults taken from the given moments of the data."""
        changes = {}
        if self.default_mean:
            changes["mean"] = np.asarray(mean, np.float64)
        if self.default_covariance:
            changes["covariance"] = np.asarray(covariance_prior_from_scatter(
                scatter, total_weight, covariance_type), np.float64)
        return replace(self, **changes)

    def loop_tensors(self):
        """The values the compiled loop takes as its prior tensors, in order."""
        return (self.weight_concentration, self.mean_precision, self.mean,
                self.degrees_of_freedom, self.covariance)


def expected_log_weights(concentration, prior_type):
    """``E[log pi_k]`` under the weights' posterior, shape (K,)."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        log_total = digamma(a + b)
        log_stick = digamma(a) - log_total
        log_rest = np.cumsum(digamma(b) - log_total)
        return log_stick + np.concatenate([[0.0], log_rest[:-1]])
    return digamma(concentration) - digamma(np.sum(concentration))


def posterior_weights(concentration, prior_type):
    """Posterior mean of the mixture weights, normalised (``weights_``)."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        stick = a / (a + b)
        remaining = np.concatenate([[1.0], np.cumprod((b / (a + b))[:-1])])
        weights = stick * remaining
    else:
        weights = np.asarray(concentration, np.float64)
    return weights / np.sum(weights)


def _sum_over_dimensions(function, degrees_of_freedom, n_features):
    """``sum_{i<D} function((nu - i) / 2)`` for each nu (shape of ``nu``)."""
    halves = 0.5 * (np.asarray(degrees_of_freedom)[..., None] - np.arange(n_features))
    return np.sum(function(halves), axis=-1)


def log_scoring_weights(concentration, mean_precision, degrees_of_freedom,
                        n_features, prior_type):
    """``E[log pi_k] + (E[log det Lambda_k] - log det(nu_k W_k) - D / beta_k) / 2``.

    Added to ``log N(x | m_k, (nu_k W_k)^-1)`` this is scikit-learn's weighted
    log-probability of a variational mixture, shape (K,); floored at
    :data:`LOG_SMALLEST_WEIGHT` so that its ``exp`` is positive.
    """
    log_det_shift = (n_features * math.log(2.0)
                     + _sum_over_dimensions(digamma, degrees_of_freedom, n_features)
                     - n_features * np.log(degrees_of_freedom))
    return np.maximum(expected_log_weights(concentration, prior_type)
                      + 0.5 * (log_det_shift - n_features / mean_precision),
                      LOG_SMALLEST_WEIGHT)


def _concentration(counts, priors):
    if priors.prior_type == "dirichlet_process":
        later = np.concatenate([np.cumsum(counts[::-1])[::-1][1:], [0.0]])
        return np.stack([1.0 + counts, priors.weight_concentration + later])
    return priors.weight_concentration + counts


def _scale_matrices(counts, means, covariances, mean_precision, priors,
                    covariance_type):
    """``W_k^-1`` before normalisation: prior scale, scatter and prior-mean pull."""
    pull = priors.mean_precision / mean_precision * counts  # (K,)
    offset = means - priors.mean
    if covariance_type == "full":
        outer = offset[:, :, None] * offset[:, None, :]
        return (priors.covariance + counts[:, None, None] * covariances
                + pull[:, None, None] * outer)
    if covariance_type == "tied":
        n_components = counts.shape[0]
        return (priors.covariance + covariances * (np.sum(counts) / n_components)
                + ((pull[:, None] * offset).T @ offset) / n_components)
    if covariance_type == "diag":
        return priors.covariance + counts[:, None] * covariances + pull[:, None] * offset**2
    return (priors.covariance + counts * covariances
            + pull * np.mean(offset**2, axis=1))


class VariationalObjective:
    """The hooks of the EM loop for a variational Bayesian Gaussian mixture.

    Parameters
    ----------
    priors : Priors
        The prior (see :class:`Priors`).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The covariance structure.
    """

    def __init__(self, priors, covariance_type):
        self.priors = priors
        self.covariance_type = covariance_type

    def with_data_moments(self, mean, scatter, total_weight):
        """These hooks with the prior's defaults from the given data moments
        (mean and ``sum_n w_n (x_n - mean)(x_n - mean)^T``)."""
        return VariationalObjective(
            self.priors.with_data_moments(mean, scatter, total_weight,
                                          self.covariance_type), self.covariance_type)

    @staticmethod
    def e_step(log_prob, weight):
        """``(resp * w, -sum_n w_n sum_k r_nk log r_nk)`` of (K, batch) log-probabilities
        (overwritten: the entropy's terms take their memory). Terms of zero
        responsibility are 0, whatever their log-probability."""
        unnorm, total, log_norm = softmax_parts(log_prob)
        resp_w = np.multiply(unnorm, weight / total, out=unnorm)
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.subtract(log_prob, log_norm, out=log_prob)
            np.multiply(resp_w, terms, out=terms)
        np.copyto(terms, 0.0, where=~(resp_w > 0))
        return resp_w, -float(np.sum(terms))

    def m_step(self, params, total_weight):
        """The variational posterior from EM's parameters (counts ``w_k * total``)."""
        weights, means, covariances = (np.asarray(p, np.float64) for p in params[:3])
        counts = weights * total_weight
        priors, covariance_type = self.priors, self.covariance_type
        mean_precision = priors.mean_precision + counts
        post_means = ((priors.mean_precision * priors.mean + counts[:, None] * means)
                      / mean_precision[:, None])
        if covariance_type == "tied":
            degrees_of_freedom = priors.degrees_of_freedom + np.sum(counts) / len(counts)
        else:
            degrees_of_freedom = priors.degrees_of_freedom + counts
        scale = _scale_matrices(counts, means, covariances, mean_precision, priors,
                                covariance_type)
        nu = (degrees_of_freedom if covariance_type in ("tied", "spherical")
              else degrees_of_freedom[:, None] if covariance_type == "diag"
              else degrees_of_freedom[:, None, None])
        post_covariances = scale / nu
        concentration = _concentration(counts, priors)
        with np.errstate(over="ignore"):
            scoring = np.exp(log_scoring_weights(
                concentration, mean_precision, degrees_of_freedom, means.shape[1],
                priors.prior_type))
        return (scoring, post_means, post_covariances,
                g.precision_cholesky(post_covariances, covariance_type),
                concentration, mean_precision, degrees_of_freedom)

    def lower_bound(self, e_step_term, params, total_weight):
        """scikit-learn's evidence lower bound (up to a constant) after an M-step."""
        _, means, _, precision_chol, concentration, mean_precision, nu = params
        n_components, n_features = means.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            log_det = (g.log_det_precision_chol(precision_chol, self.covariance_type,
                                                n_features)
                       - 0.5 * n_features * np.log(nu))
            log_wishart = -(nu * log_det + 0.5 * nu * n_features * math.log(2.0)
                            + _sum_over_dimensions(gammaln, nu, n_features))
            if self.covariance_type == "tied":
                log_wishart = n_components * log_wishart
            if self.priors.prior_type == "dirichlet_process":
                log_norm_weight = -np.sum(betaln(concentration[0], concentration[1]))
            else:
                log_norm_weight = (gammaln(np.sum(concentration))
                                   - np.sum(gammaln(concentration)))
            return float(e_step_term - np.sum(log_wishart) - log_norm_weight
                         - 0.5 * n_features * np.sum(np.log(mean_precision)))
