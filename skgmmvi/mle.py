"""MLEGaussianMixture: maximum likelihood by gradient ascent (Adam), with partial_fit."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._base import BaseGaussianMixture
from ._estimator_state import output_dtype
from ._mle_reseed import reseed, reset_slots, responsibility_mass
from ._stream import REREAD_HINT, STREAM_INIT_ROWS

#: Plateau decays of the learning rate with ``learning_rate_schedule="adaptive"``.
PLATEAU_DECAYS = 5

DIVERGED = (
    "The log-likelihood became NaN or infinite during training: the optimiser "
    "diverged. Try a smaller learning_rate, or standardise the input data."
)
#: Added to :data:`DIVERGED` for a dataset, which an epoch without rows also explains.
EMPTY_PASS = (f" With a tf.data.Dataset, an epoch that reads no rows gives the same: "
              f"{REREAD_HINT}.")


class _RunState:
    """What one ``fit`` (or ``partial_fit`` call) shares between its pieces.

    ``make_em_data`` builds the EM backend's view of the initialisation rows,
    only when an initialisation needs it.
    """

    def __init__(self, data, make_em_data, seed):
        self.data = data
        self.make_em_data = make_em_data
        self._em_data = None
        self.seed = seed
        self.training_state = None
        self.final_log_lik = -np.inf
        self.running_weight = None
        self.epochs_done = 0
        self.stalled_epochs = 0
        self.fell_from = None  # the first epoch's log-likelihood, when the fit ended below it

    @property
    def em_data(self):
        if self._em_data is None:
            self._em_data = self.make_em_data()
        return self._em_data


class MLEGaussianMixture(BaseGaussianMixture):
    """Gaussian mixture fitted by gradient ascent on the log-likelihood.

    The same model, parameters, attributes and methods as
    :class:`~skgmmvi.EMGaussianMixture`, fitted the way TensorFlow users train a
    model: a Keras optimiser (Adam by default) maximises the mean log-likelihood,
    on all rows at once or on mini-batches. Mini-batches and :meth:`partial_fit`
    let it learn from data that never sits in memory at once.

    The parameters are kept unconstrained: softmax logits for the weights, the
    means, and for the covariances an upper-triangular Cholesky factor of the
    precision with a log-parameterised diagonal ('full', one shared factor for
    'tied') or log standard deviations ('diag', 'spherical'). The model's
    covariance is the one they describe plus ``reg_covar`` on the diagonal, so
    it is positive definite at every step. The initialisation is
    :class:`~skgmmvi.EMGaussianMixture`'s, draw for draw.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Covariance structure, as in :class:`~skgmmvi.EMGaussianMixture`.
    tol : float, default=1e-4
        Plateau threshold: an epoch stalls when its mean log-likelihood does not
        beat the best epoch so far by ``tol``. ``n_iter_no_change`` consecutive
        stalled epochs decay the learning rate (``learning_rate_schedule``) or,
        when no decay is left, mean convergence.
    reg_covar : float, default=1e-6
        Floor added to the diagonal of every covariance.
    max_iter : int, default=200
        Maximum number of epochs (passes over the data).
    n_init : int, default=1
        Number of initialisations; the best final log-likelihood is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the starting point is drawn (as in EMGaussianMixture).
    weights_init, means_init, precisions_init : array-like, default=None
        User-provided starting parameters (shapes as in EMGaussianMixture).
    random_state : int, RandomState instance or None, default=None
        Controls the initialisation, the mini-batch order and :meth:`sample`.
    warm_start : bool, default=False
        If True, ``fit`` continues from the previous solution (with a fresh
        optimiser state).
    verbose : int, default=0
        1 prints the initialisation and epochs; 2 also the change in the mean
        log-likelihood and timings.
    verbose_interval : int, default=10
        Number of epochs between progress lines.
    learning_rate : float, default=0.05
        The optimiser's step size (not used when ``optimizer`` is an instance,
        whose own learning rate applies).
    optimizer : {'adam', 'sgd', 'rmsprop'} or keras optimizer, default='adam'
        Keras' Adam, SGD or RMSprop update (with Keras' default settings), or an
        instance of ``keras.optimizers.Adam``, ``SGD`` or ``RMSprop`` whose
        settings and learning rate are read from its ``get_config()`` (the
        instance is never built or changed). The updates run on the backend's
        own state tensors; see ``doc/mle.rst``.
    learning_rate_schedule : {'adaptive', 'constant'}, default='adaptive'
        'adaptive' multiplies the learning rate by 0.2 after every
        ``n_iter_no_change`` stalled epochs (see ``tol``), up to five times,
        as Keras' ``ReduceLROnPlateau`` does; 'constant' keeps it. Not applied
        by :meth:`partial_fit`.
    reassignment_ratio : float, default=0.01
        :meth:`partial_fit` re-seeds the component with the smallest running
        weight on the rows of the current chunk that no component explains,
        when they make up at least this share of the chunk's weight (as
        scikit-learn's ``MiniBatchKMeans`` re-seeds starved centres). 0 turns it
        off.
    batch_size : int, default=None
        Rows per optimiser step. None trains full-batch: one step per epoch on
        the exact gradient over all rows, accumulated in bounded-memory chunks.
    shuffle : bool, default=True
        Visit the mini-batches in a new random order every epoch.
    n_iter_no_change : int, default=10
        Number of consecutive epochs with an improvement below ``tol`` after
        which training has converged (as in scikit-learn's MLP estimators).
    dtype : {'float64', 'float32'}, default='float64'
        Precision of the training computation. Fitted arrays and outputs are
        float32 when this is 'float32' or when ``X`` is float32.
    strategy : tf.distribute.Strategy, default=None
        Train on the strategy's replicas (several GPUs, or several hosts with
        ``MultiWorkerMirroredStrategy``): each batch is split over the replicas,
        their gradients are summed by all-reduce, and every replica applies the
        same update, so the fit equals the single-device one. With a strategy,
        shuffling uses ``tf.data`` (a different, still seeded order). An
        estimator holding a strategy does not pickle; set it to None first.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        The fitted mixture, as in :class:`sklearn.mixture.GaussianMixture`.
    converged_ : bool
        True when the best initialisation met the ``tol`` criterion.
    n_iter_ : int
        Epochs run by the best initialisation (``partial_fit`` adds one per call).
    lower_bound_ : float
        Mean log-likelihood of the training data under the fitted parameters
        (for :meth:`partial_fit`, of the last chunk), equal to ``score(X)``
        (with ``sample_weight``, the weighted mean).
    lower_bounds_ : list of float
        Mean log-likelihood of each epoch of the best initialisation.
    loss_curve_ : list of float
        Mean negative log-likelihood of each epoch (``-lower_bounds_``; for
        mini-batches, averaged over the epoch's steps as they were taken).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    EMGaussianMixture : The same model fitted by expectation-maximisation.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmmvi import MLEGaussianMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.randn(200, 2) - 4, rng.randn(200, 2) + 4])
    >>> gm = MLEGaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.round(gm.means_[np.argsort(gm.means_[:, 0])], 1)
    array([[-4.1, -4. ],
           [ 3.9,  3.9]])
    """

    _parameter_constraints: dict = {
        **BaseGaussianMixture._parameter_constraints,
        "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
        "optimizer": [StrOptions({"adam", "sgd", "rmsprop"}),
                      HasMethods(["get_config", "apply_gradients"])],
        "learning_rate_schedule": [StrOptions({"adaptive", "constant"})],
        "reassignment_ratio": [Interval(Real, 0.0, None, closed="left")],
        "shuffle": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-4,
        reg_covar=1e-6,
        max_iter=200,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        learning_rate=0.05,
        optimizer="adam",
        learning_rate_schedule="adaptive",
        reassignment_ratio=0.01,
        batch_size=None,
        shuffle=True,
        n_iter_no_change=10,
        dtype="float64",
        strategy=None,
    ):
        super().__init__(
            n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            weights_init=weights_init, means_init=means_init,
            precisions_init=precisions_init, random_state=random_state,
            warm_start=warm_start, verbose=verbose, verbose_interval=verbose_interval,
            dtype=dtype, batch_size=batch_size, strategy=strategy)
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.learning_rate_schedule = learning_rate_schedule
        self.reassignment_ratio = reassignment_ratio
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture by gradient ascent on the mean log-likelihood.

        Runs ``n_init`` initialisations, each for up to ``max_iter`` epochs or
        until the epoch's mean log-likelihood improves by less than ``tol``, and
        keeps the best. A :class:`~sklearn.exceptions.ConvergenceWarning` is
        raised when the kept run did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
            Training rows; or a dataset of row batches (or ``(rows, weights)``
            pairs), each element one mini-batch, initialised from its first rows
            (see ``doc/scaling.rst``).
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; the objective is the weighted mean
            log-likelihood.

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the mixture on X and return the most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels (equal to ``fit(X).predict(X)``).
        """
        return self._fit(X, sample_weight, final_e_step=True).argmax(axis=1)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """One epoch over ``X`` from the current state.

        Call it on successive chunks of a dataset too large for memory. The
        first call (on an unfitted estimator) initialises the mixture from its
        chunk as :meth:`fit` would; later calls continue from the fitted
        parameters and the optimiser's state (kept as numpy arrays), after
        re-seeding a starved component on rows no component explains (see
        ``reassignment_ratio``). ``max_iter``, ``tol``, ``n_init``,
        ``warm_start`` and the plateau schedule do not apply. Changing
        ``covariance_type``, ``n_components`` or the number of features
        between calls raises a ``ValueError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or tf.data.Dataset
            A chunk of training rows, or a dataset of row batches.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's rows; the epoch ascends their
            weighted mean log-likelihood.

        Returns
        -------
        self : object
            The updated mixture.
        """
        with self._guarded(X):
            self._partial_fit(X, sample_weight)
        return self

    def _partial_fit(self, X, sample_weight):
        first = not hasattr(self, "converged_")
        if not first:
            self._check_same_structure("partial_fit continues",
                                       "fit (or a new estimator)")
        stream = self._open_stream(X, sample_weight)
        if stream is not None:
            # Later calls read the head too: re-seeding looks at the chunk's rows.
            X, sample_weight = stream.head(STREAM_INIT_ROWS)
            if not first and X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input.")
        if first:
            X, sample_weight = self._validate_fit_input(X, sample_weight)
        elif stream is None:
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                              ensure_min_samples=1)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(
                    sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        out_dtype = output_dtype(self.dtype, X)
        random_state = check_random_state(self.random_state)
        fit_state = self._start_fit(X, weight, self.dtype, random_state, stream=stream)
        if first:
            inits = self._checked_inits(X.shape[1])
            params = self._initialize(fit_state, X, sample_weight, random_state, inits)
            curve, n_iter = [], 0
        else:
            params = self._fitted_parameters()
            curve, n_iter = list(self.lower_bounds_), self.n_iter_
        fit_state.training_state = self._stream_training_state()
        saved = None if first else (getattr(self, "_optimizer_state", None) or {})
        running = None if saved is None else saved.get("running_weight")
        if running is not None:
            params, running = self._reseed_starved(fit_state, X, weight, params, running)
        fit_state.epochs_done = n_iter
        params, history, _ = self._refine(fit_state, params, 1, -np.inf)
        gained = responsibility_mass(np.asarray(X, np.float64), weight, params,
                                     self.covariance_type)
        fit_state.running_weight = gained if running is None else running + gained
        self._store_fit(params, out_dtype, False, n_iter + 1,
                        self._final_lower_bound(fit_state, history),
                        curve + [history[-1]], self._run_extras(fit_state))

    # ------------------------------------------------------------ backend glue
    def _start_fit(self, X, sample_weight, compute_dtype, random_state=None,
                   stream=None):
        from ._tf.em import FitData
        from ._tf.mle import StreamData, TrainingData

        if self.warm_start and hasattr(self, "converged_"):
            self._check_same_structure("warm_start=True continues", "warm_start=False")
        if random_state is None:
            random_state = check_random_state(self.random_state)

        def make_em_data():
            return FitData(X, sample_weight, self.covariance_type,
                           self._batch_rows(X.shape[1]), compute_dtype)

        # Drawn from a copy of the generator, so that the initialisation sees the
        # same random numbers as EMGaussianMixture's.
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        seed = copy.randint(np.iinfo(np.int32).max, size=2)
        data = (TrainingData(X, sample_weight, compute_dtype) if stream is None
                else StreamData(stream.dataset, compute_dtype))
        return _RunState(data, make_em_data, seed)

    def _chunk_row_limit(self):
        """None: ``batch_size`` is the optimiser's mini-batch, not a bound on the rows
        of a chunk; initialisation, full-batch gradients and scoring chunk by the
        memory budget."""
        return None

    def _reseed_starved(self, fit_state, X, weight, params, running):
        """Re-seed the most starved component on the chunk's unexplained rows."""
        params = tuple(np.asarray(p, np.float64) for p in params)
        params, component, mass = reseed(
            np.asarray(X, np.float64), weight, params, running, self.covariance_type,
            self.reg_covar, self.reassignment_ratio)
        if component is None:
            return params, running
        running = running.copy()
        running[component] = mass
        state = fit_state.training_state
        if state.slots is not None:
            state.slots = reset_slots(state.slots, component, self.covariance_type)
        if self.verbose:
            print(f"  Re-seeded component {component} on unexplained rows of the chunk")
        return params, running

    def _check_same_structure(self, continues, instead):
        """Raise when the mixture's structure changed since the fit being continued."""
        saved = getattr(self, "_optimizer_state", None) or {}
        fitted = {"covariance_type": saved.get("covariance_type", self.covariance_type),
                  "n_components": self.means_.shape[0]}
        for name, old in fitted.items():
            new = getattr(self, name)
            if new != old:
                raise ValueError(
                    f"{name}={new!r}, but {type(self).__name__} was fitted with "
                    f"{name}={old!r} and {continues} from that fit. Set {name}={old!r} "
                    f"back, or use {instead} to start afresh with {name}={new!r}.")

    def _fresh_training_state(self):
        from ._tf.mle import TrainingState
        from ._tf.mle_optimizers import optimizer_spec

        spec = optimizer_spec(self.optimizer)
        learning_rate = (self.learning_rate if spec.learning_rate is None
                         else spec.learning_rate)
        decays = PLATEAU_DECAYS if self.learning_rate_schedule == "adaptive" else 0
        return TrainingState(None, None, learning_rate, decays)

    def _initial_parameters(self, fit_state, labels, resp, X_init, weight_init):
        fit_state.training_state = self._fresh_training_state()
        fit_state.epochs_done = 0
        fit_state.stalled_epochs = 0
        return fit_state.em_data.initial_parameters(
            self.n_components, self.reg_covar, labels=labels, resp=resp, X=X_init,
            sample_weight=weight_init)

    def _refine(self, fit_state, params, n_steps, previous_lower_bound):
        from ._tf.mle import StreamData, TrainingDiverged, train

        if fit_state.training_state is None:  # warm start: a fresh optimiser
            fit_state.training_state = self._fresh_training_state()
        n_features = np.shape(params[1])[1]
        try:
            params, history, stalled, state, final = train(
                fit_state.data, params, self.covariance_type,
                optimizer=self.optimizer, training_state=fit_state.training_state,
                n_epochs=n_steps, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
                reg_covar=self.reg_covar, stalled_epochs=fit_state.stalled_epochs,
                previous_log_lik=previous_lower_bound, batch_size=self.batch_size,
                chunk_size=self._batch_rows(n_features),
                shuffle=self.shuffle,
                seed=(int(fit_state.seed[0]),
                      int(fit_state.seed[1]) + fit_state.epochs_done),
                strategy=self.strategy)
        except TrainingDiverged:
            stream = isinstance(fit_state.data, StreamData)
            raise ValueError(DIVERGED + (EMPTY_PASS if stream else "")) from None
        fit_state.training_state = state
        fit_state.final_log_lik = final
        fit_state.epochs_done += len(history)
        fit_state.stalled_epochs = stalled
        converged = stalled >= self.n_iter_no_change and state.decays_left == 0
        return params, history, converged

    def _iterate(self, fit_state, params, lower_bound, clock):
        """All epochs of one initialisation; a fit that ends below where it
        started (its first epoch's log-likelihood, by more than ``tol`` per
        epoch of patience) has not converged, whatever its plateau says: the
        optimiser overshot, and each later epoch, below the best one, counted
        as a stall."""
        params, history, converged = super()._iterate(fit_state, params, lower_bound, clock)
        margin = self.tol * self.n_iter_no_change
        if len(history) and fit_state.final_log_lik < history[0] - margin:
            fit_state.fell_from = float(history[0])
            converged = False
        return params, history, converged

    def _final_lower_bound(self, fit_state, history):
        """The log-likelihood after the last step (``history`` holds each epoch's
        from before its step), so that ``n_init`` keeps the start whose final
        parameters are best and ``lower_bound_`` is theirs."""
        final = fit_state.final_log_lik
        return final if np.isfinite(final) else history[-1]

    def _run_extras(self, fit_state):
        return {"dtype": self.dtype, "covariance_type": self.covariance_type,
                "state": fit_state.training_state,
                "running_weight": fit_state.running_weight,
                "final_log_lik": fit_state.final_log_lik,
                "fell_from": fit_state.fell_from}

    def _set_run_extras(self, extras):
        self._optimizer_state = extras
        self.loss_curve_ = [-value for value in self.lower_bounds_]
        if extras is not None and extras.get("fell_from") is not None:
            warnings.warn(
                f"{type(self).__name__} ended at a mean log-likelihood of "
                f"{float(self.lower_bound_):.4g}, below the {extras['fell_from']:.4g} of its "
                "first epoch: the optimiser overshot and did not recover. Try a smaller "
                "learning_rate, standardise the features (a feature of near-zero variance "
                "makes the steps too large for it), or use EMGaussianMixture.",
                ConvergenceWarning)

    def _stream_training_state(self):
        """Training state for the next ``partial_fit`` call.

        The optimiser's slots carry over when they fit the current settings. The
        learning rate is the current one, without plateau decays: the
        log-likelihoods of different chunks are not comparable.
        """
        from ._tf.mle import TrainingState

        fresh = self._fresh_training_state()
        saved = getattr(self, "_optimizer_state", None)
        if (saved is None or saved.get("state") is None
                or saved["dtype"] != self.dtype):
            return TrainingState(None, None, fresh.learning_rate, 0)
        return TrainingState(saved["state"].optimizer_key, saved["state"].slots,
                             fresh.learning_rate, 0)

    def _ill_defined(self):
        from ._tf.em import IllDefinedCovariance

        return IllDefinedCovariance
