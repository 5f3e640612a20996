"""Inference with a fitted Gaussian mixture: what every skgmmvi estimator shares.

Fitted state as plain numpy arrays (``weights_``, ``means_``, ``covariances_``,
``precisions_cholesky_``, ``precisions_``) and the methods that only read it:
``score_samples``, ``score``, ``predict``, ``predict_proba``, ``sample``, ``bic``
and ``aic``. The number of components is read from the fitted arrays, so an
estimator whose fit changes it (variational inference) is served too.

Scoring runs in numpy (:func:`skgmmvi._numpy.em.log_prob_resp`) unless the work is
large (see :data:`INFERENCE_NUMPY_MAX_WORK`), so a fitted or unpickled model scores
a few rows without importing TensorFlow.
"""

import functools
import math
import sys

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from ._checks import check_finite_parameters
from ._numpy.gaussian import n_features_of_phi
from ._stream import is_dataset

#: Rows per chunk are chosen so that one chunk's work arrays hold about this many
#: numbers (a few MiB), unless ``batch_size`` says otherwise.
_AUTO_CHUNK_ELEMENTS = 2**19

#: Scoring runs in numpy while ``n_rows * n_components * n_features**2`` is at
#: most this (or when TensorFlow is not imported yet, or rows are too far out
#: for the TensorFlow kernel's feature map), else on the TensorFlow backend.
INFERENCE_NUMPY_MAX_WORK = 2e8

#: Rows with a coordinate beyond this are scored in numpy: its residuals about each
#: component keep their accuracy (and give -inf, as scikit-learn) where the
#: squared coordinates of the TensorFlow kernel's feature map would overflow.
_FEATURE_MAP_SAFE_ABS = 1e100


def sampling_probabilities(weights):
    """The mixture weights as float64 probabilities summing to one.

    ``numpy``'s ``multinomial`` refuses probabilities whose sum (bar the last)
    exceeds one, which float32 weights that sum to one in float32 can do once
    cast to float64; dividing by their float64 sum makes any weights valid and
    moves float64 weights that already sum to one by a few units in the last
    place at most.

    Parameters
    ----------
    weights : ndarray of shape (n_components,)
        Fitted mixture weights (float32 or float64).

    Returns
    -------
    ndarray of shape (n_components,), float64
    """
    weights = np.asarray(weights, dtype=np.float64)
    return weights / np.sum(weights)


def batch_rows(n_features, covariance_type, n_components, batch_size=None):
    """Rows per backend chunk: ``batch_size`` (a bound on rows the user set), or
    about 2^19 numbers per chunk."""
    if batch_size is not None:
        return int(batch_size)
    width = n_features_of_phi(n_features, covariance_type) + n_components
    return int(min(65536, max(256, _AUTO_CHUNK_ELEMENTS // width)))


#: Public methods that may run TensorFlow; in every subclass of
#: :class:`FittedMixtureMixin` they run inside
#: :func:`skgmmvi._tf._runtime.quiet_tensorflow`, so TensorFlow's log noise is
#: silenced around our calls only.
TENSORFLOW_METHODS = ("fit", "fit_predict", "partial_fit", "elbo", "log_evidence",
                      "diagnose")


def _quietly(method):
    """``method`` run inside :func:`~skgmmvi._tf._runtime.quiet_tensorflow`."""
    @functools.wraps(method)
    def quiet_method(*args, **kwargs):
        from ._tf._runtime import quiet_tensorflow

        with quiet_tensorflow():
            return method(*args, **kwargs)

    quiet_method.quiet_tensorflow = True
    return quiet_method


def _score_in_numpy(X, n_components, n_features):
    """Whether to score rows ``X`` in numpy rather than on TensorFlow."""
    if "tensorflow" not in sys.modules:
        return True
    if X.shape[0] * n_components * n_features**2 <= INFERENCE_NUMPY_MAX_WORK:
        return True
    with np.errstate(invalid="ignore"):
        return not np.max(np.abs(X)) <= _FEATURE_MAP_SAFE_ABS


class FittedMixtureMixin:
    """Methods that read a fitted mixture (mixin for the estimators).

    The estimator must have ``covariance_type`` and may have a ``dtype``
    parameter and bound the rows per chunk (:meth:`_chunk_row_limit`); ``fit`` stores parameters through :meth:`_set_fitted`.
    The methods of :data:`TENSORFLOW_METHODS` a subclass defines run with
    TensorFlow's loggers silenced.
    """

    #: scikit-learn's ``sample`` reports ``n_components`` as the invalid
    #: ``n_samples``; the drop-ins (:class:`EMLoopMixin`) repeat its message word
    #: for word, the other estimators report the value passed.
    _SKLEARN_SAMPLE_MESSAGE = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in TENSORFLOW_METHODS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "quiet_tensorflow", False):
                setattr(cls, name, _quietly(method))

    # ------------------------------------------------------------ fitted state
    def _set_fitted(self, params, out_dtype):
        check_finite_parameters(params, out_dtype)
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

    def _scoring_parameters(self):
        """``(weights, means, covariances, precisions_cholesky)`` that score rows:
        ``log w_k + log N(x | mean_k, covariance_k)`` (a variational mixture
        passes its expected log-weights and log-determinants in ``w_k``)."""
        return self._fitted_parameters()

    def _chunk_row_limit(self):
        """The user's bound on rows per backend chunk, or None (memory budget only).

        Only a parameter that bounds memory belongs here (EM's ``batch_size``);
        an optimiser's mini-batch size does not.
        """
        return None

    def _log_prob_resp(self, X, parameters=None):
        """(log p(x), log responsibilities) of validated rows under the fit
        (``parameters``: others than :meth:`_scoring_parameters`)."""
        parameters = self._scoring_parameters() if parameters is None else parameters
        n_components, n_features = self.means_.shape
        batch = batch_rows(n_features, self.covariance_type, n_components,
                           self._chunk_row_limit())
        if _score_in_numpy(X, n_components, n_features):
            from ._numpy.em import log_prob_resp

            log_norm, log_resp = log_prob_resp(X, parameters, self.covariance_type, batch)
        else:
            from ._tf._runtime import quiet_tensorflow
            from ._tf.em import log_prob_resp

            with quiet_tensorflow():
                log_norm, log_resp = log_prob_resp(
                    X, parameters, self.covariance_type, batch,
                    getattr(self, "dtype", "float64"))
        # dtype='float32' computes and returns float32; otherwise the dtype of rows
        # and parameters together, as scikit-learn's arithmetic gives it (a fit on
        # float32 rows scoring float64 rows returns float64)
        out = (self.means_.dtype if getattr(self, "dtype", "float64") == "float32"
               else np.result_type(X.dtype, self.means_.dtype))
        return log_norm.astype(out), log_resp.astype(out)

    def _validated_rows(self, X):
        """Rows to score, checked as scikit-learn checks them (same messages)."""
        check_is_fitted(self)
        if is_dataset(X):
            raise ValueError(
                f"{type(self).__name__} scores rows in memory, not a tf.data.Dataset; "
                "score its batches one at a time, e.g. np.concatenate([model.predict("
                "rows.numpy()) for rows in dataset]).")
        X = validate_data(self, X, reset=False)
        if X.dtype not in (np.float64, np.float32):
            X = X.astype(np.float64)
        return X

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
        X = self._validated_rows(X)
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
            The rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        X = self._validated_rows(X)
        return np.argmax(self._log_prob_resp(X)[1], axis=1)

    def predict_proba(self, X):
        """Evaluate the components' posterior probability for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows whose component probabilities are wanted.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Posterior probability of each Gaussian component for each sample in X.
        """
        X = self._validated_rows(X)
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
            shown = self.means_.shape[0] if self._SKLEARN_SAMPLE_MESSAGE else n_samples
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "
                "least one sample." % shown
            )
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, sampling_probabilities(self.weights_))
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
        n_components, n_features = self.means_.shape
        if self.covariance_type == "full":
            cov_params = n_components * n_features * (n_features + 1) / 2.0
        elif self.covariance_type == "diag":
            cov_params = n_components * n_features
        elif self.covariance_type == "tied":
            cov_params = n_features * (n_features + 1) / 2.0
        else:
            cov_params = n_components
        return int(cov_params + n_features * n_components + n_components - 1)

    def bic(self, X):
        """Bayesian information criterion for the current model on the input X.

        ``-2 log L + p log n``: ``log L`` the log-likelihood of the ``n`` rows of
        ``X``, ``p`` the number of free parameters of the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples (their number ``n`` weighs the penalty).

        Returns
        -------
        bic : float
            The lower the better. Its penalty grows with ``n``: it prefers
            fewer components than :meth:`aic` on large data.
        """
        n = _num_samples(X)
        return -2 * self._criteria_log_likelihood(X) + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion for the current model on the input X.

        ``-2 log L + 2 p``: ``log L`` the log-likelihood of the rows of ``X``,
        ``p`` the number of free parameters of the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        aic : float
            The lower the better.
        """
        return -2 * self._criteria_log_likelihood(X) + 2 * self._n_parameters()

    def _criteria_log_likelihood(self, X):
        """``log L`` of :meth:`bic` and :meth:`aic`: ``n * score(X)``, as
        scikit-learn computes it."""
        return self.score(X) * _num_samples(X)
