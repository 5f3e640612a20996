"""EMGaussianMixture: expectation-maximisation on a numpy or TensorFlow backend."""

import sys

from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions

from ._base import BaseGaussianMixture
from ._inference import n_features_of_phi

#: ``backend="auto"`` fits in numpy while ``n_samples * n_components * P`` (P the
#: feature count, D (D + 1) / 2 + D + 1 for 'full') is at most this. Both
#: backends keep the training rows' feature rows within the same budget, so an
#: iteration is the same two products and a softmax on either; numpy's products
#: (OpenBLAS, 23.5 GFLOP/s on one core here) took less CPU than TensorFlow's
#: (Eigen, 19.3), and numpy's fits were the faster in 7 of 8 interleaved pairs,
#: one thread each or default threads, EM and BayesianGaussianMixture, up to the
#: largest cell measured, 100 000 x 16, K=16, full (work 2.45e8;
#: ``benchmarks/bench_em_backends.py``, ``doc/performance.rst``). Beyond it,
#: TensorFlow.
NUMPY_MAX_WORK = 3e8

def tensorflow_sees_gpu():
    """True when TensorFlow is already imported and sees a GPU (never imports it)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return False
    try:
        return bool(tf.config.list_logical_devices("GPU"))
    except Exception:  # noqa: BLE001 - a half-imported or stub module: no GPU
        return False


class EMLoopMixin:
    """How an estimator fits with the EM loop of either backend (a mixin).

    Chooses the backend (``backend``, ``strategy`` and the size of the work),
    prepares its per-fit state and runs its loop; an estimator whose loop
    differs from EM's in the E-step term, the M-step algebra or the objective
    (the variational Bayesian mixture) returns its hooks from
    :meth:`_loop_objective`.
    """

    _SKLEARN_SAMPLE_MESSAGE = True  # the drop-ins' messages are scikit-learn's

    # ------------------------------------------------------------ backend glue
    def _fit_backend(self, n_samples, n_features, streamed):
        """'numpy' or 'tensorflow': the backend this fit runs on."""
        if self.backend == "numpy":
            if streamed:
                raise ValueError(
                    "backend='numpy' fits in-memory arrays only; a tf.data.Dataset or a "
                    "strategy needs backend='tensorflow' (or 'auto').")
            return "numpy"
        if self.backend == "tensorflow" or streamed or tensorflow_sees_gpu():
            return "tensorflow"
        work = n_samples * self.n_components * n_features_of_phi(n_features,
                                                                 self.covariance_type)
        return "numpy" if work <= NUMPY_MAX_WORK else "tensorflow"

    def _loop_objective(self, X, sample_weight):
        """The hooks of the EM loop for this estimator (None: EM's own)."""
        return None

    def _fit_chunk_rows(self, n_features):
        """Rows per chunk of a fit's passes: ``batch_size`` as set, or the automatic
        size rounded down to a multiple of 8, so that the TensorFlow loop reads every
        chunk of its kept feature rows without a copy (see
        :func:`skgmmvi._tf.em.kept_features`); both backends chunk alike."""
        rows = self._batch_rows(n_features)
        return rows if self._chunk_row_limit() is not None else max(8, rows // 8 * 8)

    def _start_fit(self, X, sample_weight, compute_dtype, stream=None):
        objective = self._loop_objective(X, sample_weight)
        streamed = stream is not None or self.strategy is not None
        backend = self._fit_backend(X.shape[0], X.shape[1], streamed)
        batch = self._fit_chunk_rows(X.shape[1])
        if backend == "numpy":
            from ._numpy.em import FitData as NumpyFitData
            from ._numpy.em import MaximumLikelihood

            return NumpyFitData(X, sample_weight, self.covariance_type, batch,
                                compute_dtype, objective=objective or MaximumLikelihood)
        from ._tf.em import FitData

        if streamed:
            from ._tf.em_stream import StreamFitData, rows_dataset

            dataset = (stream.dataset if stream is not None
                       else rows_dataset(X, sample_weight, batch))
            return StreamFitData(dataset, X, sample_weight, self.covariance_type, batch,
                                 compute_dtype, strategy=self.strategy,
                                 objective=objective)
        return FitData(X, sample_weight, self.covariance_type, batch, compute_dtype,
                       objective=objective)

    def _initial_parameters(self, fit_state, labels, resp, X_init, weight_init):
        return fit_state.initial_parameters(self.n_components, self.reg_covar,
                                            labels=labels, resp=resp, X=X_init,
                                            sample_weight=weight_init)

    def _refine(self, fit_state, params, n_steps, previous_lower_bound):
        return fit_state.em_steps(params, n_steps, self.tol, self.reg_covar,
                                  previous_lower_bound)

    def _ill_defined(self):
        from ._numpy.em import IllDefinedCovariance as NumpyIllDefined
        from ._tf.em import IllDefinedCovariance

        return (IllDefinedCovariance, NumpyIllDefined)


class EMGaussianMixture(EMLoopMixin, BaseGaussianMixture):
    """Gaussian mixture fitted by expectation-maximisation (EM) on TensorFlow.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the same
    parameters, defaults, fitted attributes, methods, messages and, for the same
    data and ``random_state``, the same fitted parameters (to rounding) whenever
    no row of the data repeats (see ``init_params`` for data whose rows do). On top:
    ``sample_weight`` in :meth:`fit`, a compute ``dtype``, and bounded memory
    through ``batch_size``. The whole EM loop runs inside one compiled TensorFlow
    function, on a GPU when TensorFlow sees one.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own general covariance matrix;
        'tied': all components share one general covariance matrix;
        'diag': each component has its own diagonal covariance matrix;
        'spherical': each component has its own single variance.
    tol : float, default=1e-3
        Convergence threshold: EM stops when the change of the lower bound (the
        mean log-likelihood of the training data) is below it.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of initialisations; the best result is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the initial responsibilities are drawn: labels from k-means,
        centres from k-means++ or drawn from the data, or random
        responsibilities. Draws are scikit-learn's. Rows of weight zero are
        left out, equal weights count as none, and rows that all repeat alike
        count once. With unequal sample weights or
        unequally repeated rows, the initialisation runs on the distinct rows (in
        lexicographic order) with their total weights, so that an integer weight
        equals repeating the row exactly, initialisation included. On data with
        repeated rows the starting point then differs from scikit-learn's (and
        so may the local optimum EM reaches).
    weights_init : array-like of shape (n_components,), default=None
        User-provided initial weights.
    means_init : array-like of shape (n_components, n_features), default=None
        User-provided initial means.
    precisions_init : array-like, default=None
        User-provided initial precisions (inverse covariances); shape
        (n_components,) for 'spherical', (n_features, n_features) for 'tied',
        (n_components, n_features) for 'diag', (n_components, n_features,
        n_features) for 'full'.
    random_state : int, RandomState instance or None, default=None
        Controls the initialisation and :meth:`sample`.
    warm_start : bool, default=False
        If True, each ``fit`` starts from the previous solution (``n_init`` is
        then ignored).
    verbose : int, default=0
        1 prints the initialisation and each iteration; 2 also prints the
        change of the lower bound and timings.
    verbose_interval : int, default=10
        Number of iterations between progress lines.
    dtype : {'float64', 'float32'}, default='float64'
        Precision in which the backend holds the data ('float32' halves the
        memory of a fit). Sufficient statistics and parameters are accumulated
        in float64 either way, so narrow components do not break a float32 fit.
        Fitted arrays and outputs are float32 when this is 'float32' or when
        ``X`` is float32 (as in scikit-learn).
    batch_size : int, default=None
        Rows processed at once. Memory beyond the data is
        O(batch_size * (n_components + P)) with P = D (D + 1) / 2 + D + 1 for
        'full' and 2 D + 1 for 'diag'. None picks a size whose work arrays hold
        about half a million numbers.
    strategy : tf.distribute.Strategy, default=None
        Fit on the strategy's replicas (several GPUs with ``MirroredStrategy``,
        several hosts with ``MultiWorkerMirroredStrategy``): each replica
        computes the sufficient statistics of its share of every batch, the
        strategy's all-reduce sums them, and every replica applies the same
        M-step, so the fit equals the single-device one. An estimator holding
        a strategy does not pickle; set it to None first.
    backend : {'auto', 'numpy', 'tensorflow'}, default='auto'
        Where the EM loop runs. 'auto' fits in-memory arrays with numpy while
        ``n_samples * n_components * P`` is at most 3e8 (``NUMPY_MAX_WORK``;
        100 000 x 16 with 16 'full' components is 2.45e8), where numpy was
        measured the faster, and with TensorFlow's compiled loop otherwise, or
        always when TensorFlow is already imported and sees a GPU. A
        ``tf.data.Dataset`` or a ``strategy`` always runs on TensorFlow. Both
        backends give the same parameters to rounding.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The weights of each mixture component.
    means_ : ndarray of shape (n_components, n_features)
        The mean of each mixture component.
    covariances_ : ndarray
        The covariance of each mixture component (shape by ``covariance_type``).
    precisions_ : ndarray
        The precision matrices (inverse covariances).
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions (upper triangular), as in scikit-learn.
    converged_ : bool
        True when the best initialisation converged.
    n_iter_ : int
        Number of EM steps of the best initialisation.
    lower_bound_ : float
        Lower bound (mean log-likelihood) of the best initialisation.
    lower_bounds_ : list of float
        Lower bound at each iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.mixture.GaussianMixture : The reference implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmmvi import EMGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = EMGaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_.round(3)
    array([[10.,  2.],
           [ 1.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        **BaseGaussianMixture._parameter_constraints,
        "backend": [StrOptions({"auto", "numpy", "tensorflow"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        dtype="float64",
        batch_size=None,
        strategy=None,
        backend="auto",
    ):
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            weights_init=weights_init, means_init=means_init,
            precisions_init=precisions_init, random_state=random_state,
            warm_start=warm_start, verbose=verbose, verbose_interval=verbose_interval,
            dtype=dtype, batch_size=batch_size, strategy=strategy)
        self.backend = backend

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate model parameters with the EM algorithm.

        Fits ``n_init`` times and keeps the parameters with the largest lower
        bound. Each run iterates E- and M-steps up to ``max_iter`` times, until
        the lower bound changes by less than ``tol``; a
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised when the best
        run did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
            Training rows; or a dataset of row batches (or of ``(rows, weights)``
            pairs), read once per iteration and initialised from its first rows
            (see ``doc/scaling.rst``).
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows. An integer weight has exactly the
            effect of repeating the row that many times; 0 removes it (so at least
            ``n_components`` rows need a positive weight).

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Estimate model parameters using X and predict the labels for X.

        Ends with an E-step under the final parameters, so the result equals
        ``fit(X).predict(X)``.

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


class GaussianMixture(EMGaussianMixture):
    """:class:`EMGaussianMixture` under scikit-learn's class name.

    The same estimator, parameters and results; only the name differs, so that
    replacing ``from sklearn.mixture import GaussianMixture`` by
    ``from skgmmvi import GaussianMixture`` keeps ``make_pipeline`` step names
    (``"gaussianmixture"``), ``param_grid`` keys such as
    ``"gaussianmixture__n_components"`` and messages that name the class.
    See :class:`EMGaussianMixture` for the parameters and attributes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skgmmvi import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> pipe = make_pipeline(StandardScaler(), GaussianMixture(2, random_state=0))
    >>> pipe.set_params(gaussianmixture__n_components=2).fit(X).predict([[0, 0], [12, 3]])
    array([1, 0])
    """
