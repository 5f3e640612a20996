"""What every skgmmvi Gaussian mixture estimator shares.

Parameter constraints, input validation, fitted state as plain numpy arrays, the
``n_init``/``warm_start`` bookkeeping of ``fit``, and the inference methods
(``score_samples``, ``predict_proba``, ``predict``, ``sample``, ``bic``, ``aic``).
Subclasses supply how one initialisation is refined (``_refine``).
"""

import math
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from time import time

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    validate_data,
)

from . import _checks
from ._initialization import initial_responsibilities, initialization_rows

ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed samples). "
    "Try to decrease the number of components, increase reg_covar, or scale the input "
    "data."
)
FLOAT32_HINT = (
    " The numerical accuracy can also be improved by passing float64 data instead of"
    " float32."
)

#: Rows per chunk are chosen so that one chunk's work arrays hold about this many
#: numbers (a few MiB), unless ``batch_size`` says otherwise.
_AUTO_CHUNK_ELEMENTS = 2**19


def n_features_of_phi(n_features, covariance_type):
    """Number of features the backend builds per row (see ``_tf.gaussian``)."""
    quad = {"full": n_features * (n_features + 1) // 2, "diag": n_features}.get(
        covariance_type, 1)
    return quad + n_features + 1


class BaseGaussianMixture(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the Gaussian mixture estimators (not for direct use)."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float64", "float32"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    # ------------------------------------------------------------------ fitting
    @abstractmethod
    def _start_fit(self, X, sample_weight, compute_dtype):
        """Prepare per-fit backend state; return an object ``_refine`` understands."""

    @abstractmethod
    def _initial_parameters(self, fit_state, labels, resp, X_init, weight_init):
        """Parameters (weights, means, covariances, precisions_cholesky) from
        initial responsibilities given on rows ``X_init`` (None = training rows)."""

    @abstractmethod
    def _refine(self, fit_state, params, n_steps, previous_lower_bound):
        """Improve ``params`` for up to ``n_steps`` iterations.

        Returns ``(params, lower_bounds, converged)``; raises
        ``IllDefinedCovariance`` when a covariance stops being positive definite.
        """

    @abstractmethod
    def _ill_defined(self):
        """The exception type ``_refine`` raises for ill-defined covariances."""

    def _batch_rows(self, n_features):
        if self.batch_size is not None:
            return int(self.batch_size)
        width = n_features_of_phi(n_features, self.covariance_type) + self.n_components
        return int(min(65536, max(256, _AUTO_CHUNK_ELEMENTS // width)))

    def _validate_fit_input(self, X, sample_weight):
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        if X.shape[0] < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {X.shape[0]}"
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not np.sum(sample_weight) > 0:
                raise ValueError(
                    "sample_weight must have a positive sum; got all weights zero. "
                    "Give at least one sample a positive weight.")
        return X, sample_weight

    def _checked_inits(self, n_features):
        """The user's ``*_init`` arrays, validated (never written back to self)."""
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _checks.check_weights(self.weights_init, self.n_components)
        if self.means_init is not None:
            means = _checks.check_means(self.means_init, self.n_components, n_features)
        if self.precisions_init is not None:
            precisions = _checks.check_precisions(
                self.precisions_init, self.covariance_type, self.n_components, n_features)
        return weights, means, precisions

    def _initialize(self, fit_state, X, sample_weight, random_state, inits):
        """One starting point: scikit-learn's initialisation with the user's overrides."""
        weights_init, means_init, precisions_init = inits
        params = [None, None, None, None]
        if weights_init is None or means_init is None or precisions_init is None:
            X_init, weight_init = initialization_rows(X, sample_weight, self.n_components)
            labels, resp = initial_responsibilities(
                self.init_params, X_init, weight_init, self.n_components, random_state)
            same_rows = X_init is X
            params = list(self._initial_parameters(
                fit_state, labels, resp, None if same_rows else X_init,
                None if same_rows else weight_init))
        if weights_init is not None:
            params[0] = weights_init
        if means_init is not None:
            params[1] = means_init
        if precisions_init is not None:
            params[3] = _checks.precision_cholesky_from_precisions(
                precisions_init, self.covariance_type)
            params[2] = _checks.covariances_from_precisions(
                precisions_init, self.covariance_type)
        return tuple(params)

    def _fit(self, X, sample_weight, final_e_step=False):
        """Shared fit driver: a failed fit leaves the estimator as it was.

        Returns the training rows' log-responsibilities under the fitted
        parameters when ``final_e_step`` (for ``fit_predict``), else None.
        """
        before = dict(self.__dict__)
        try:
            return self._fit_unguarded(X, sample_weight, final_e_step)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_unguarded(self, X, sample_weight, final_e_step):
        previous_n_features = getattr(self, "n_features_in_", None)
        X, sample_weight = self._validate_fit_input(X, sample_weight)
        if (self.warm_start and hasattr(self, "converged_")
                and X.shape[1] != previous_n_features):
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} was fitted "
                f"with {previous_n_features} features and warm_start=True continues "
                "from that fit. Pass data with the same features, or set "
                "warm_start=False to start afresh.")
        inits = self._checked_inits(X.shape[1])
        compute_dtype = self.dtype
        out_dtype = np.float32 if (X.dtype == np.float32 or compute_dtype == "float32") \
            else np.float64
        weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        fit_state = self._start_fit(X, weight, compute_dtype)

        best = None
        try:
            for init in range(n_init):
                clock = self._verbose_init_begin(init)
                if do_init:
                    params = self._initialize(fit_state, X, sample_weight, random_state,
                                              inits)
                    lower_bound = -np.inf
                else:
                    params = self._fitted_parameters()
                    lower_bound = self.lower_bound_
                if self.max_iter == 0:
                    candidate = (-np.inf, params, 0, [], False)
                else:
                    params, history, converged = self._iterate(fit_state, params,
                                                               lower_bound, clock)
                    lower_bound = history[-1]
                    self._verbose_init_end(lower_bound, converged, clock)
                    candidate = (lower_bound, params, len(history), list(history),
                                 converged)
                if best is None or candidate[0] > best[0] or best[0] == -np.inf:
                    best = candidate
        except self._ill_defined():
            message = ILL_DEFINED_COVARIANCE
            if out_dtype == np.float32:
                message += FLOAT32_HINT
            raise ValueError(message) from None

        max_lower_bound, params, n_iter, lower_bounds, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_fitted(params, out_dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = out_dtype(max_lower_bound)
        self.lower_bounds_ = [out_dtype(v) for v in lower_bounds]
        return self._log_prob_resp(X)[1] if final_e_step else None

    def _iterate(self, fit_state, params, lower_bound, clock):
        """All iterations of one initialisation, in verbose-sized pieces if asked."""
        if not self.verbose:
            return self._refine(fit_state, params, self.max_iter, lower_bound)
        history, done, converged = [], 0, False
        while done < self.max_iter and not converged:
            n_steps = min(self.verbose_interval - done % self.verbose_interval,
                          self.max_iter - done)
            params, piece, converged = self._refine(fit_state, params, n_steps,
                                                    lower_bound)
            for value in piece:
                done += 1
                self._verbose_iter_end(done, value - lower_bound, clock)
                lower_bound = value
            history.extend(piece)
        return params, np.asarray(history), converged

    # ------------------------------------------------------------ fitted state
    def _set_fitted(self, params, out_dtype):
        weights, means, covariances, precisions_cholesky = (
            np.asarray(p, dtype=out_dtype) for p in params)
        self.weights_ = weights
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = precisions_cholesky
        if self.covariance_type == "full":
            self.precisions_ = precisions_cholesky @ np.transpose(precisions_cholesky,
                                                                  (0, 2, 1))
        elif self.covariance_type == "tied":
            self.precisions_ = precisions_cholesky @ precisions_cholesky.T
        else:
            self.precisions_ = precisions_cholesky**2

    def _fitted_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    @abstractmethod
    def _log_prob_resp(self, X):
        """(log p(x), log responsibilities) of validated rows under the fit."""

    # --------------------------------------------------------------- inference
    def score_samples(self, X):
        """Compute the log-likelihood of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            List of n_features-dimensional data points. Each row corresponds to a
            single data point.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Log-likelihood of each sample in `X` under the current model.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._log_prob_resp(X)[0]

    def score(self, X, y=None):
        """Compute the per-sample average log-likelihood of the given data X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            List of n_features-dimensional data points.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        log_likelihood : float
            Log-likelihood of `X` under the Gaussian mixture model.
        """
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """Predict the labels for the data samples in X using the trained model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            List of n_features-dimensional data points.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.argmax(self._log_prob_resp(X)[1], axis=1)

    def predict_proba(self, X):
        """Evaluate the components' posterior probability for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            List of n_features-dimensional data points.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Posterior probability of each Gaussian component for each sample in X.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.exp(self._log_prob_resp(X)[1])

    def sample(self, n_samples=1):
        """Generate random samples from the fitted Gaussian mixture.

        Draws are those of ``sklearn.mixture.GaussianMixture.sample`` for the same
        fitted parameters and ``random_state``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Randomly generated sample.
        y : ndarray of shape (n_samples,)
            Component labels.
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "
                "least one sample." % (self.n_components)
            )
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_.astype(np.float64))
        means = self.means_.astype(np.float64)
        covariances = self.covariances_.astype(np.float64)
        if self.covariance_type == "full":
            pieces = [rng.multivariate_normal(m, c, int(n))
                      for m, c, n in zip(means, covariances, counts)]
        elif self.covariance_type == "tied":
            pieces = [rng.multivariate_normal(m, covariances, int(n))
                      for m, n in zip(means, counts)]
        else:
            pieces = [m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                      for m, c, n in zip(means, covariances, counts)]
        labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return np.vstack(pieces), labels

    def _n_parameters(self):
        """Number of free parameters of the model."""
        n_features = self.means_.shape[1]
        if self.covariance_type == "full":
            cov_params = self.n_components * n_features * (n_features + 1) / 2.0
        elif self.covariance_type == "diag":
            cov_params = self.n_components * n_features
        elif self.covariance_type == "tied":
            cov_params = n_features * (n_features + 1) / 2.0
        else:
            cov_params = self.n_components
        return int(cov_params + n_features * self.n_components + self.n_components - 1)

    def bic(self, X):
        """Bayesian information criterion for the current model on the input X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        bic : float
            The lower the better.
        """
        n = _num_samples(X)
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion for the current model on the input X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        aic : float
            The lower the better.
        """
        return -2 * self.score(X) * _num_samples(X) + 2 * self._n_parameters()

    # ----------------------------------------------------------------- verbose
    def _verbose_init_begin(self, init):
        """Print the start of an initialisation; return its clock [start, last]."""
        if self.verbose >= 1:
            print("Initialization %d" % init)
        now = time()
        return [now, now]

    def _verbose_iter_end(self, n_iter, change, clock):
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            elif self.verbose >= 2:
                now = time()
                print("  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                      % (n_iter, now - clock[1], change))
                clock[1] = now

    def _verbose_init_end(self, lower_bound, converged, clock):
        status = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        elif self.verbose >= 2:
            lapse = time() - clock[0]
            print(f"Initialization {status}. time lapse {lapse:.5f}s\t lower bound"
                  f" {lower_bound:.5f}.")
