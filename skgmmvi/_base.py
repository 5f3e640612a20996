"""What every skgmmvi Gaussian mixture estimator shares.

Parameter constraints, input validation and the ``n_init``/``warm_start``
bookkeeping of ``fit``; the inference methods come from
:class:`~skgmmvi._inference.FittedMixtureMixin`. Subclasses supply how one
initialisation is refined (``_refine``).
"""

import contextlib
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from time import time

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from . import _checks
from ._estimator_state import output_dtype, restored_on_failure, store_parameters
from ._inference import FittedMixtureMixin, batch_rows
from ._initialization import initial_responsibilities, initialization_rows
from ._stream import (STREAM_INIT_ROWS, StreamSource, bad_batch_errors, is_dataset,
                      rows_dtype)

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

class BaseGaussianMixture(FittedMixtureMixin, DensityMixin, BaseEstimator,
                          metaclass=ABCMeta):
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
        "strategy": [None, HasMethods(["run", "reduce", "scope"])],
    }

    #: Whether the fit depends only on the ratios of the sample weights, so that
    #: they may be rescaled by a power of two (False where priors count rows).
    _scale_free_weights = True

    #: The ``__init__`` parameters of every estimator here (EM, MLE and Bayesian).
    _SHARED_PARAMETERS = ("n_components", "covariance_type", "tol", "reg_covar", "max_iter",
                          "n_init", "init_params", "random_state", "warm_start", "verbose",
                          "verbose_interval", "dtype", "batch_size", "strategy")

    def __init__(self, n_components, *, covariance_type, tol, reg_covar, max_iter,
                 n_init, init_params, weights_init, means_init, precisions_init,
                 random_state, warm_start, verbose, verbose_interval, dtype,
                 batch_size, strategy):
        """Store the parameters EM and MLE share (each subclass lists its defaults)."""
        self._store_shared_parameters(locals())
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init

    def _store_shared_parameters(self, arguments):
        """Store the parameters every estimator here takes (EM, MLE and Bayesian).

        Parameters
        ----------
        arguments : dict
            The ``locals()`` of an ``__init__``: the values of the names in
            :attr:`_SHARED_PARAMETERS` are stored, nothing else (an ``__init__``
            only stores, as scikit-learn requires; the Bayesian mixture has
            priors where EM has initial parameters, so it cannot pass those on).
        """
        store_parameters(self, arguments, self._SHARED_PARAMETERS)

    # ------------------------------------------------------------------ fitting
    @abstractmethod
    def _start_fit(self, X, sample_weight, compute_dtype, stream=None):
        """Prepare per-fit backend state; return an object ``_refine`` understands.

        ``X``/``sample_weight`` are the rows to initialise from; ``stream`` (a
        :class:`~skgmmvi._stream.StreamSource` or None) is the data to fit when
        it is a dataset, of which ``X`` is then the head.
        """

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

    def _final_lower_bound(self, fit_state, history):
        """The lower bound of the parameters one initialisation ends with, by
        which ``n_init`` keeps the best: the last of ``history`` (EM's bound is
        that of the final parameters)."""
        return history[-1]

    def _run_extras(self, fit_state):
        """State of the finished initialisation to keep if it is the best one
        (e.g. an optimiser's state); None by default."""
        return None

    def _set_run_extras(self, extras):
        """Store what :meth:`_run_extras` returned for the kept initialisation."""

    def _chunk_row_limit(self):
        """``batch_size``: rows processed at once, a bound on memory."""
        return self.batch_size

    def _batch_rows(self, n_features):
        """Rows per backend chunk of a fit (and of scoring, through the same limit)."""
        return batch_rows(n_features, self.covariance_type, self.n_components,
                          self._chunk_row_limit())

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
            n_weighted = int(np.count_nonzero(sample_weight))
            if n_weighted < self.n_components:
                # a row of weight zero is as good as absent, and scikit-learn
                # refuses fewer rows than components
                raise ValueError(
                    "Expected n_samples >= n_components "
                    f"but got n_components = {self.n_components}, "
                    f"n_samples = {n_weighted} (rows with a positive sample_weight; "
                    "a row of weight zero counts as absent). Give more rows a "
                    "positive weight, or fit fewer components.")
            if self._scale_free_weights:
                sample_weight = _checks.normalized_sample_weight(sample_weight)
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
            X_init, weight_init, weighted_draws = initialization_rows(
                X, sample_weight, self.n_components)
            labels, resp = initial_responsibilities(
                self.init_params, X_init, weight_init if weighted_draws else None,
                self.n_components, random_state)
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
        with self._guarded(X):
            return self._fit_unguarded(X, sample_weight, final_e_step)

    @contextlib.contextmanager
    def _guarded(self, X):
        """Run a fit step so that failing leaves the estimator as it was, and a
        bad batch of a stream gets scikit-learn's message (fit and partial_fit)."""
        with restored_on_failure(self), bad_batch_errors(type(self).__name__,
                                                          rows_dtype(X)):
            yield

    def _open_stream(self, X, sample_weight, final_e_step=False):
        """A :class:`~skgmmvi._stream.StreamSource` when ``X`` is a dataset, else None."""
        if not is_dataset(X):
            return None
        if sample_weight is not None:
            raise ValueError(
                "sample_weight cannot be given with a tf.data.Dataset; put the weights "
                "in the dataset as (rows, weights) pairs instead.")
        if final_e_step:
            raise ValueError(
                "fit_predict needs the rows in memory; with a tf.data.Dataset, call fit "
                "and then predict on the batches.")
        return StreamSource(X, scale_weights=self._scale_free_weights)

    def _fit_unguarded(self, X, sample_weight, final_e_step):
        previous_n_features = getattr(self, "n_features_in_", None)
        stream = self._open_stream(X, sample_weight, final_e_step)
        if stream is not None:  # initialise from the head of the stream
            X, sample_weight = stream.head(STREAM_INIT_ROWS)
        X, sample_weight = self._validate_fit_input(X, sample_weight)
        if self.warm_start and hasattr(self, "converged_"):
            self._check_warm_start(X.shape[1], previous_n_features)
        inits = self._checked_inits(X.shape[1])
        compute_dtype = self.dtype
        out_dtype = output_dtype(compute_dtype, X)
        weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        fit_state = self._start_fit(X, weight, compute_dtype, stream=stream)

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
                    candidate = (-np.inf, params, 0, [], False,
                                 self._run_extras(fit_state))
                else:
                    params, history, converged = self._iterate(fit_state, params,
                                                               lower_bound, clock)
                    lower_bound = self._final_lower_bound(fit_state, history)
                    self._verbose_init_end(lower_bound, converged, clock)
                    candidate = (lower_bound, params, len(history), list(history),
                                 converged, self._run_extras(fit_state))
                if best is None or candidate[0] > best[0] or best[0] == -np.inf:
                    best = candidate
        except self._ill_defined():
            message = ILL_DEFINED_COVARIANCE
            if out_dtype == np.float32:
                message += FLOAT32_HINT
            raise ValueError(message) from None

        max_lower_bound, params, n_iter, lower_bounds, converged, extras = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._store_fit(params, out_dtype, converged, n_iter, max_lower_bound,
                        lower_bounds, extras)
        return self._log_prob_resp(X)[1] if final_e_step else None

    def _store_fit(self, params, out_dtype, converged, n_iter, lower_bound,
                   lower_bounds, extras):
        """Store a finished fit (or ``partial_fit`` step) as fitted attributes."""
        self._set_fitted(params, out_dtype)
        self._fitted_covariance_type = self.covariance_type
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = out_dtype(lower_bound)
        self.lower_bounds_ = [out_dtype(v) for v in lower_bounds]
        self._set_run_extras(extras)

    def _check_warm_start(self, n_features, previous_n_features):
        """Raise when ``warm_start`` cannot continue from the fitted model as it is."""
        fitted_type = getattr(self, "_fitted_covariance_type", self.covariance_type)
        expected = _checks.covariances_shape(self.covariance_type, self.n_components,
                                             n_features)
        changes = []
        if n_features != previous_n_features:
            changes.append(f"X has {n_features} features, but {type(self).__name__} "
                           f"was fitted with {previous_n_features} features")
        if self.n_components != self.means_.shape[0]:
            changes.append(f"n_components is {self.n_components}, but the fitted model "
                           f"has {self.means_.shape[0]} components")
        if fitted_type != self.covariance_type or (
                not changes and self.covariances_.shape != expected):
            changes.append(f"covariance_type is {self.covariance_type!r}, but the "
                           f"fitted model has {fitted_type!r} covariances")
        if changes:
            raise ValueError(
                "; ".join(changes) + ", and warm_start=True continues from that fit. "
                "Restore the fitted settings (and pass data with the same features), "
                "or set warm_start=False to start afresh.")

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
