"""BayesianGaussianMixture: variational Bayesian mixtures on the EM loop's backends."""

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseGaussianMixture
from ._bayesian_priors import checked_priors
from ._numpy.bayesian import (VariationalObjective, log_scoring_weights,
                              posterior_weights)
from .em import EMLoopMixin

_POSITIVE = Interval(Real, 0.0, None, closed="neither")
_NO_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")


class BayesianGaussianMixture(EMLoopMixin, BaseGaussianMixture):
    """Variational Bayesian estimation of a Gaussian mixture.

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture`:
    the same parameters, defaults, fitted attributes, methods and messages and,
    for the same data and ``random_state``, the same fitted parameters (to
    rounding). The variational updates reuse the EM loop of the backend: the
    same sufficient statistics per iteration, mapped to the posterior of the
    weights (a Dirichlet process or a Dirichlet distribution) and of each
    component's mean and precision (Gaussian-Wishart). On top: ``sample_weight``
    in :meth:`fit` (an integer weight equals repeating the row), a compute
    ``dtype``, bounded memory through ``batch_size``, ``tf.data.Dataset`` input
    and ``strategy=`` (``doc/scaling.rst``), a numpy or TensorFlow ``backend``,
    and :meth:`bic` / :meth:`aic` (which scikit-learn's lacks): those of the
    mixture with ``weights_``, ``means_`` and ``covariances_``.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components; the posterior may leave some of them
        with negligible weight.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        The structure of the covariances (see :class:`~skgmmvi.EMGaussianMixture`).
    tol : float, default=1e-3
        Convergence threshold: iterations stop when the lower bound changes by
        less than this.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of the weighted
        covariances of each iteration.
    max_iter : int, default=100
        The number of iterations to perform.
    n_init : int, default=1
        The number of initialisations; the one with the largest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the initial responsibilities are drawn (as scikit-learn draws them).
    weight_concentration_prior_type : {'dirichlet_process', \
            'dirichlet_distribution'}, default='dirichlet_process'
        The prior of the weights: a (truncated, stick-breaking) Dirichlet process
        or a Dirichlet distribution.
    weight_concentration_prior : float or None, default=None
        The concentration of the weights' prior (gamma); small values put the
        mass on few components. None means ``1 / n_components``.
    mean_precision_prior : float or None, default=None
        The precision prior of the means (beta_0). None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        The prior mean of the means; None means the (weighted) mean of X.
    degrees_of_freedom_prior : float or None, default=None
        The degrees of freedom of the Wishart prior (nu_0), above
        ``n_features - 1``; None means ``n_features``.
    covariance_prior : float or array-like, default=None
        The scale of the Wishart prior; shape (n_features, n_features) for
        'full' and 'tied', (n_features,) for 'diag', a float for 'spherical'.
        None means the (weighted) sample covariance of X.
    random_state : int, RandomState instance or None, default=None
        Controls the initialisation and :meth:`sample`.
    warm_start : bool, default=False
        If True, each ``fit`` starts from the previous solution (``n_init`` is
        then ignored).
    verbose : int, default=0
        1 prints the initialisation and each iteration; 2 also the change of the
        lower bound and timings.
    verbose_interval : int, default=10
        Number of iterations between progress lines.
    dtype : {'float64', 'float32'}, default='float64'
        Precision in which the backend holds the data; statistics and
        parameters are float64 either way.
    batch_size : int, default=None
        Rows processed at once (memory beyond the data is
        O(batch_size * (n_components + P))); None picks a size.
    strategy : tf.distribute.Strategy, default=None
        Fit on the strategy's replicas (see :class:`~skgmmvi.EMGaussianMixture`).
    backend : {'auto', 'numpy', 'tensorflow'}, default='auto'
        Where the loop runs: numpy for small in-memory work, TensorFlow's
        compiled loop otherwise ('auto'), or as given.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean of the weights.
    means_ : ndarray of shape (n_components, n_features)
        Posterior mean of each component's mean.
    covariances_ : ndarray
        Each component's covariance (the inverse of the posterior mean of its
        precision); shape by ``covariance_type``.
    precisions_ : ndarray
        Posterior mean of the precisions.
    precisions_cholesky_ : ndarray
        Cholesky factors of ``precisions_``.
    weight_concentration_prior_ : float
        The weights' prior concentration used.
    weight_concentration_ : ndarray of shape (n_components,) or tuple of two
        The weights' posterior: Dirichlet parameters, or for a Dirichlet
        process the two Beta parameters of each stick-breaking fraction.
    mean_precision_prior_ : float
        The means' prior precision used.
    mean_precision_ : ndarray of shape (n_components,)
        The posterior precision of each mean (beta_k).
    mean_prior_ : ndarray of shape (n_features,)
        The means' prior mean used.
    degrees_of_freedom_prior_ : float
        The Wishart prior's degrees of freedom used.
    degrees_of_freedom_ : ndarray of shape (n_components,) or float
        The posterior degrees of freedom of each component (one for 'tied').
    covariance_prior_ : float or ndarray
        The Wishart prior's scale used.
    converged_ : bool
        True when the best initialisation converged.
    n_iter_ : int
        Number of iterations of the best initialisation.
    lower_bound_ : float
        Lower bound (of the evidence, up to a constant) of the best initialisation.
    lower_bounds_ : list of float
        Lower bound at each iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.mixture.BayesianGaussianMixture : The reference implementation.
    EMGaussianMixture : Maximum-likelihood mixtures with the same loop.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmmvi import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.means_.round(2)
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    >>> bgm.predict([[0, 0], [9, 3]])
    array([0, 1])
    """

    _parameter_constraints: dict = {
        **{name: rule for name, rule in BaseGaussianMixture._parameter_constraints.items()
           if name not in _NO_INIT_ARRAYS},
        "weight_concentration_prior_type": [
            StrOptions({"dirichlet_process", "dirichlet_distribution"})],
        "weight_concentration_prior": [None, _POSITIVE],
        "mean_precision_prior": [None, _POSITIVE],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, _POSITIVE],
        "covariance_prior": [None, "array-like", _POSITIVE],
        "backend": [StrOptions({"auto", "numpy", "tensorflow"})],
    }

    #: The priors count rows, so the weights' scale matters.
    _scale_free_weights = False

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        dtype="float64",
        batch_size=None,
        strategy=None,
        backend="auto",
    ):
        self._store_shared_parameters(locals())
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.backend = backend

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the variational posterior of the mixture.

        Fits ``n_init`` times and keeps the posterior with the largest lower
        bound; each run iterates up to ``max_iter`` times, until the lower bound
        changes by less than ``tol`` (a
        :class:`~sklearn.exceptions.ConvergenceWarning` when the best run did
        not converge).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
            Training rows; or a dataset of row batches (or of ``(rows, weights)``
            pairs), read once per iteration; the default priors come from the
            whole dataset's moments (see ``doc/scaling.rst``).
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows. An integer weight has exactly the
            effect of repeating the row that many times (priors included); 0
            removes it (so at least ``n_components`` rows need a positive weight).

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the posterior and predict the labels of X (as ``fit(X).predict(X)``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        return self._fit(X, sample_weight, final_e_step=True).argmax(axis=1)

    # ------------------------------------------------------------ loop hooks
    def _checked_inits(self, n_features):
        """No user-supplied initial arrays (scikit-learn has none here)."""
        return None, None, None

    def _loop_objective(self, X, sample_weight):
        priors, fitted = checked_priors(self, X, sample_weight)
        for name, value in fitted.items():
            setattr(self, name, value)
        return VariationalObjective(priors, self.covariance_type)

    def _start_fit(self, X, sample_weight, compute_dtype, stream=None):
        fit_state = super()._start_fit(X, sample_weight, compute_dtype, stream=stream)
        priors = fit_state.objective.priors
        if stream is not None:  # defaults from all rows of the dataset, not its head
            if priors.default_mean:
                self.mean_prior_ = priors.mean.astype(X.dtype)
            if priors.default_covariance:
                self.covariance_prior_ = (float(priors.covariance)
                                          if self.covariance_type == "spherical"
                                          else priors.covariance)
        return fit_state

    def _fitted_parameters(self):
        """The loop's 7-tuple of the fitted posterior (for ``warm_start``)."""
        concentration = np.asarray(self.weight_concentration_, np.float64)
        mean_precision = np.asarray(self.mean_precision_, np.float64)
        degrees_of_freedom = np.asarray(self.degrees_of_freedom_, np.float64)
        scoring = np.exp(log_scoring_weights(
            concentration, mean_precision, degrees_of_freedom, self.means_.shape[1],
            self.weight_concentration_prior_type))
        return (scoring, self.means_, self.covariances_, self.precisions_cholesky_,
                concentration, mean_precision, degrees_of_freedom)

    def _scoring_parameters(self):
        return self._fitted_parameters()[:4]

    def _criteria_log_likelihood(self, X):
        """``log L`` of :meth:`bic` and :meth:`aic`: that of the mixture with
        ``weights_``, ``means_`` and ``covariances_`` (the figures
        :class:`~skgmmvi.EMGaussianMixture` gives for those parameters, every
        component counted), not ``n * score(X)``, whose expected log-weights and
        log-densities are no density."""
        X = self._validated_rows(X)
        mixture = (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)
        return float(np.mean(self._log_prob_resp(X, mixture)[0])) * X.shape[0]

    def _set_fitted(self, params, out_dtype):
        _, means, covariances, precision_chol, concentration, mean_precision, nu = params
        concentration = np.asarray(concentration, np.float64)
        weights = posterior_weights(concentration, self.weight_concentration_prior_type)
        super()._set_fitted((weights, means, covariances, precision_chol), out_dtype)
        concentration = concentration.astype(out_dtype)
        self.weight_concentration_ = (
            (concentration[0], concentration[1])
            if self.weight_concentration_prior_type == "dirichlet_process"
            else concentration)
        self.mean_precision_ = np.asarray(mean_precision, out_dtype)
        self.degrees_of_freedom_ = (out_dtype(nu) if self.covariance_type == "tied"
                                    else np.asarray(nu, out_dtype))
