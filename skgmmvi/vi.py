"""VariationalGMMTarget: natural-gradient variational inference of a Gaussian
mixture to an unnormalised target density (every design of the unified
framework; SAMTRON by default)."""

import sys
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _checks, diagnostics
from ._estimator_state import output_dtype, restored_on_failure, store_parameters
from ._inference import FittedMixtureMixin, sampling_probabilities
from ._stopping_tails import TailCheck
from ._stopping_rule import (elbo_collapse, elbo_stalled,  # noqa: F401 (re-exported)
                             fit_stalled, proposal_exact)
from ._tf.vi.design import MODULE_OPTIONS, MODULE_PARAMETERS
from ._tf.vi.target_adapter import (check_is_target, warn_if_outside_support,
                                    warn_undefined_values)
from .targets import KernelDensityTarget, Target
from .targets.kde import is_kernel_density

#: Candidate-score thresholds the add heuristic cycles through (VIPS).
ADD_THRESHOLDS = (5000.0, 1000.0, 500.0, 200.0, 100.0, 50.0)
#: Default scale (standard deviation) of the initial components without data.
DEFAULT_INIT_SCALE = 10.0
#: Named settings of the unified framework and their code words.
ALGORITHMS = {"samtron": "SAMTRON", "vips": "ZAMTRUX", "ibayes": "SEPYFUX",
              "lin2019": "SEPIFUX"}
#: Estimator parameter -> its choices (the option names of the module it overrides).
MODULE_CHOICES = {parameter: set(MODULE_OPTIONS[module])
                  for parameter, module in MODULE_PARAMETERS.items()}
#: Samples of q drawn after ``fit`` for its checks: the fraction outside the
#: target's support and the Pareto k-hat (``pareto_k_``). As many as
#: :meth:`VariationalGMMTarget.diagnose` draws by default, so that the warning
#: and the diagnosis judge q alike: with 2000 the k-hat of one q near the 0.7
#: threshold scattered from 0.39 to 1.00 between draws (the seed problem).
FIT_CHECK_SAMPLES = 10000
#: When the fit check's k-hat is above the threshold although its importance
#: ratios all lie within this relative spread of each other (a q that is
#: nearly exact), the Pareto fit to its tail of near-equal values is driven by
#: how they cluster (e.g. one level per mode), not by a heavy tail: on three
#: equal modes fitted to 1e-3, 10 000 samples gave k-hat 1.6 and 1.5, 100 000
#: gave 0.03. The check then looks again at CONFIRM_SAMPLES samples, where a
#: heavy tail would show, and reports and warns by that.
NEAR_CONSTANT_SPREAD = 0.05
CONFIRM_SAMPLES = 100000
#: Iterations per compiled call when the stopping rule is on: how often it is checked.
STOP_CHECK_INTERVAL = 10
#: A quiet stall while the mixture still grows ends the fit only when the
#: Pareto k-hat of the current q (FIT_CHECK_SAMPLES fresh samples) is at most
#: this: the "good" range of PSIS (finite-variance ratios), a margin below the
#: warning threshold (diagnostics.KHAT_THRESHOLD) that the check's own scatter
#: (0.1 to 0.3 between draws near 0.7) needs.
GROWTH_KHAT = 0.5
ALL_NAN_TARGET = (
    "The target's log-density (or its gradient) was NaN or infinite at all {n} samples "
    "drawn in iteration {it}. Check the target, or start q where the target is "
    "defined (init_mean, init_scale, or X). A target defined only on part of the "
    "space (positive or bounded coordinates) is best fitted in an unconstrained space: "
    "wrap it in skgmmvi.targets.TransformedTarget(target, transforms)."
)


def _covariances_and_upper_factors(lower):
    """Covariances and upper precision factors from lower factors ``P``.

    ``Sigma = P^{-T} P^{-1}`` by a triangular inverse, and the upper ``U`` with
    ``U U^T = P P^T`` by a QR decomposition of ``(J P)^T`` (``J`` reverses the
    order): both backward stable, so components that are ill-conditioned (as
    designs without trust regions can make them) keep valid factors where
    re-factorising ``P P^T`` would fail.
    """
    from scipy.linalg import solve_triangular

    n_features = lower.shape[-1]
    eye = np.eye(n_features)
    inverse = np.array([solve_triangular(p, eye, lower=True) for p in lower])
    covariances = np.transpose(inverse, (0, 2, 1)) @ inverse
    r = np.linalg.qr(np.transpose(lower[:, ::-1, :], (0, 2, 1)), mode="r")
    upper = np.transpose(r, (0, 2, 1))[:, ::-1, ::-1]
    signs = np.sign(np.diagonal(upper, axis1=1, axis2=2))
    signs = np.where(signs == 0, 1.0, signs)
    return covariances, upper * signs[:, None, :]


def _stepsize_range(value, name):
    low, high = (float(v) for v in value)
    if not (0 < low <= high):
        raise ValueError(f"{name} must be a pair (min, max) with 0 < min <= max; got "
                         f"{value!r}.")
    return low, high


class VariationalGMMTarget(FittedMixtureMixin, DensityMixin, BaseEstimator):
    """Gaussian mixture fitted to an unnormalised density by natural-gradient VI.

    Maximises the evidence lower bound ``ELBO(q) = E_q[log p~(x)] + beta H(q)`` over
    Gaussian mixtures ``q``, with the setting the unified-perspective paper
    (Arenz et al., TMLR 2023) recommends, SAMTRON: Stein estimates of the natural
    gradients, fresh samples per component (kept in a sample database), KL
    trust-region updates of the components and of the weights, step sizes that
    adapt to improvement, and components added and deleted on the way (VIPS).
    The whole iteration runs as one compiled TensorFlow function, vectorised
    over components.

    Every design of the unified framework is available: ``algorithm`` picks a
    named setting or a seven-letter code word, and each module's parameter
    (``ng_estimation``, ``component_adaptation``, ``sample_selection``,
    ``component_update``, ``component_stepsize_schedule``, ``weight_update``,
    ``weight_stepsize_schedule``) overrides it.

    Parameters
    ----------
    target : Target, default=None
        The unnormalised target density (see :mod:`skgmmvi.targets`). None fits a
        Gaussian kernel density estimate of ``X`` (Scott's bandwidth,
        :class:`~skgmmvi.targets.KernelDensityTarget`), which with ``init='auto'``
        the fit starts from (see ``init``).
    n_components : int, default=1
        Number of initial components.
    algorithm : str, default='samtron'
        The design: ``'samtron'`` (SAMTRON, recommended), ``'vips'`` (ZAMTRUX),
        ``'ibayes'`` (iBayes-GMM as run in the paper, SEPYFUX), ``'lin2019'``
        (SEPIFUX), or any seven-letter code word, one letter per module in the
        order NG estimation (Z more, S stein), component adaptation (E fixed,
        A adaptive), sample selection (P mixture, M component), component
        update (I direct, Y iblr, T trust-region), component step size
        (F fixed, D decaying, R improvement), weight update (U direct,
        O trust-region), weight step size (X fixed, G decaying,
        N improvement); e.g. ``'SAMYRUX'``. Case does not matter.
    ng_estimation : {'stein', 'more'}, default=None
        Overrides the design's natural-gradient estimator: Stein's lemma
        (first order, needs target gradients) or MORE (zero order: weighted
        ridge regression on quadratic features; needs no gradients, so a numpy
        target may return ``None`` as its gradient). None: the design's.
    component_adaptation : {'fixed', 'adaptive'}, default=None
        Overrides whether components are added and deleted. None: the
        design's (``adaptive_components=False`` also forces ``'fixed'``).
    sample_selection : {'component', 'mixture'}, default=None
        Overrides the sample selection: ``n_samples_per_component`` per
        component (VIPS) or ``n_samples_per_component * K`` from the whole
        mixture (iBayes-GMM). None: the design's.
    component_update : {'trust-region', 'direct', 'iblr'}, default=None
        Overrides the component update: KL trust region (the step size is the
        KL bound), a plain natural-gradient step (the step size is the
        learning rate; non-positive-definite updates are rejected), or the
        improved Bayesian learning rule (learning rate; always positive
        definite). None: the design's.
    component_stepsize_schedule : {'improvement', 'fixed', 'decaying'}, default=None
        Overrides how component step sizes evolve: grow/shrink with the
        component's reward, stay at ``component_stepsize``, or
        ``component_stepsize / (1 + n^a)`` with ``n`` the component's updates
        and ``a = component_stepsize_decay``. None: the design's.
    weight_update : {'trust-region', 'direct'}, default=None
        Overrides the weight update: KL trust region or
        ``log w += (weight_stepsize / temperature) R``. None: the design's.
    weight_stepsize_schedule : {'improvement', 'fixed', 'decaying'}, default=None
        Overrides how the weight step size evolves (``decaying``:
        ``weight_stepsize / (1 + n^a)``, ``n`` the iteration,
        ``a = weight_stepsize_decay``). None: the design's.
    covariance_type : {'full', 'diag'}, default='full'
        Full or diagonal component covariances.
    max_iter : int, default=2000
        Most iterations (a ceiling: the stopping rule, ``tol``, usually ends the
        fit earlier). Each iteration draws ``n_samples_per_component`` samples
        per component. Easy problems converge in one to three hundred
        iterations, hard ones need a thousand or more (breast cancer: about
        1500). When the ceiling is reached before convergence, a
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised.
    tol : float or None, default=0.004
        Stopping rule, checked every 10 iterations: with ``n`` iterations done,
        the median of the last ``span = max(n_iter_no_change, n // 4)`` ELBO
        estimates (``elbo_history_``) is compared with the median of the
        ``span`` before. The fit stops when that gain is below ``tol`` nats per
        ``n_iter_no_change`` iterations (an absolute floor: 0.004 nats per 50
        iterations by default), or when it is not measurable, below twice its
        Monte-Carlo standard error (estimated from the history itself). So a
        fit goes on while it gains more than the floor *and* more than its
        noise; the span grows with the fit, so a slow but steady gain is
        measured over many iterations instead of being lost in the noise of
        one window, and the median ignores single wild estimates. Noise-free
        easy problems stop on the floor, noisy flat ones on the noise test.
        While adaptive additions still raise the number of components, a
        stall ends the fit only when the ELBO estimates are quiet (q nearly
        the target) *and* the Pareto k-hat of the current q (10000 fresh
        samples) is at most 0.5; otherwise the fit goes on for at least
        another span (the ELBO hardly sees the tails that the k-hat judges).
        Before the first two spans, a fit whose last 10 ELBO estimates agree
        to within ``tol`` may look at fresh samples of q (about 10 iterations'
        evaluations, counted) and stops when what it could still gain, about
        half the variance of ``log p~ - log q``, is below ``tol``.
        None runs ``max_iter`` iterations.
    n_iter_no_change : int, default=50
        Shortest span (in iterations) of the stopping rule, and the unit of
        ``tol``. The earliest stop is after ``2 * n_iter_no_change`` iterations
        (100 by default; the old fixed count was 200), unless q already is the
        target up to rounding (ten ELBO estimates of fresh samples agree to
        within 1000 machine epsilons: the fit stops there, converged) or nearly
        so (see ``tol``), and a fit stops only
        after a whole span without measurable gain, which leaves room for the
        components added every ``add_iters`` iterations to pay off.
    n_samples_per_component : int, default=250
        Desired (effective) number of samples per component and iteration.
    ratio_reused : float, default=0.0
        Re-use the newest ``ratio_reused * n_samples_per_component`` database
        samples per component (drawn in the last ``10 ceil(ratio_reused) + 1``
        iterations); each component then draws only
        ``max(1, n_samples_per_component - floor(ESS))`` new samples, ESS being
        the effective sample size of the re-used ones under it. 0 (SAMTRON's
        setting) draws ``n_samples_per_component`` new samples per component.
        For a target whose evaluations are costly, 1.0 cuts them several-fold
        (a GP hyperparameter posterior: 11 times fewer, the same answer); for a
        cheap one it costs more arithmetic than it saves (user guide: "When
        each evaluation of the target is costly").
    component_stepsize : float, default=0.01
        Initial KL bound of the component updates.
    component_stepsize_range : tuple (min, max), default=(0.001, 1.0)
        Bounds of the adapted component step sizes.
    weight_stepsize : float, default=0.1
        Initial KL bound of the weight update.
    weight_stepsize_range : tuple (min, max), default=(1e-5, 4.0)
        Bounds of the adapted weight step size.
    stepsize_increase, stepsize_decrease : float, default=1.15, 0.85
        Factors of the improvement-based step sizes.
    component_stepsize_decay, weight_stepsize_decay : float, default=0.55, 0.55
        Exponents ``a`` of the decaying step sizes.
    adaptive_components : bool, default=True
        False keeps ``n_components`` whatever the design (the same as
        ``component_adaptation='fixed'``); True leaves it to the design.
    add_iters : int, default=25
        A component is added every ``add_iters`` iterations.
    del_iters : int, default=100
        Window (in iterations) of the deletion heuristic.
    max_components : int, default=50
        Most components at a time.
    delete_min_weight : float, default=1e-6
        Components whose weight stayed below this may be deleted.
    init : {'auto', 'prior', 'data'}, default='auto'
        Where the fit starts. ``'prior'``: components placed as ``init_mean``,
        ``init_scale`` and ``X`` say (below). ``'auto'``: that start, unless its
        samples already sit in the target's typical set or a multimodal
        target's modes all lie within its reach, is replaced by the
        target's modes: its scale first shrinks by decades while most of its
        samples have non-finite or astronomically low ``log p~``; a batched
        L-BFGS then maximises ``log p~`` from batches of over-dispersed starts
        (rows of ``X`` when given): ``max(8, n_components)`` at first, then
        as many again as long as the modes reached by one or two starts only
        say that another start is still likely to find a new mode (see
        ``mode_search_``), within ``init_budget``. The components go to the
        distinct modes found, best Laplace evidence first (repeated when
        there are fewer modes than components; with adaptive components,
        one for each mode of non-negligible evidence when there are more, up
        to ``max_components``), each with its Laplace covariance (the
        inverse negative Hessian, eigenvalues floored so that it is no wider
        than the start; its diagonal for ``covariance_type='diag'``). Every
        target evaluation of this phase counts in ``n_target_evaluations_``.
        A start kept because the modes lie within its reach still gets, with
        adaptive components, a component at each mode found that its samples
        miss (``p~/q0`` there above every ratio of its samples), with its
        Laplace covariance and weight 1e-3, up to ``max_components``; while
        such modes turn up, the search goes on as above.
        ``'data'``: no search; the components start at
        ``X`` (required): its mean, or random rows of it for several
        components, with its per-feature variances (``init_mean`` and
        ``init_scale`` are not used). A kernel density target (``target=None``)
        is itself a Gaussian mixture, which ``'auto'`` starts from instead, with
        no search: one component per kernel (distinct row of ``X``) with
        adaptive components, up to ``max_components`` (and at least
        ``n_components``); with fixed
        components, ``n_components``. When the kernels are more than the
        components, k-means groups of them are merged into one Gaussian each,
        of the group's weight, mean and covariance (see
        :meth:`~skgmmvi.targets.KernelDensityTarget.as_mixture`); diagonal
        components take the precisions' diagonal. Started from the density
        itself, a fit of a small data set has nothing to gain: its ELBO
        estimates equal ``log Z`` up to rounding, and it stops after ten
        iterations (see ``n_iter_no_change``).
    init_mean : array-like of shape (n_features,) or (n_components, n_features), \
            default=None
        Initial means. One row with ``n_components > 1``: the means are drawn
        from ``N(init_mean, init_scale^2 I)``. None: from ``X`` (its mean, or
        random rows of it), else zero.
    init_scale : float or array-like of shape (n_features,), default=None
        Initial standard deviation of the components (covariance
        ``diag(init_scale^2)``). None: the per-feature standard deviations of
        ``X``, else 10.
    init_budget : int, default=20000
        Target evaluations the mode search of ``init='auto'`` may spend
        (L-BFGS, Hessians: ``D + 1`` per new mode, ``2D + 1`` for numpy
        targets, which get finite differences of their gradient, and Newton
        steps). No new batch of starts begins once it is spent; when new modes
        were then still likely, ``fit`` raises a
        :class:`~skgmmvi.diagnostics.PoorFitWarning`.
    temperature : float, default=1.0
        ``beta``, the weight of the entropy in the ELBO.
    dtype : {'float64', 'float32'}, default='float64'
        Precision of the backend.
    random_state : int, RandomState instance or None, default=None
        Seeds every random draw; the same value gives the same fit.
    verbose : int, default=0
        1 shows a progress line (iteration, ELBO, components, target
        evaluations) every ``verbose_interval`` iterations.
    verbose_interval : int, default=10
        Iterations between two progress lines.
    callback : callable, default=None
        ``callback(info)`` after every iteration with a dict holding
        ``iteration``, ``elbo``, ``n_components`` and ``n_target_evaluations``;
        returning True stops the fit. A callback runs the iterations one
        compiled call each.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        The fitted mixture (shapes and conventions of scikit-learn's
        ``GaussianMixture``; ``precisions_cholesky_`` is upper triangular).
    n_components_ : int
        Number of components after adaptation.
    elbo_history_ : ndarray of shape ``(n_iter_,)``
        Estimate of the ELBO at the start of each iteration.
    n_components_history_ : ndarray of shape ``(n_iter_,)``
        Number of components after each iteration (it rises when adaptation
        adds one and falls when it deletes one).
    n_target_evaluations_ : int
        Target evaluations of the start, of the iterations and of the stopping
        rule's tail checks (10000 each; see ``tol``); the post-fit check below
        is not counted.
    n_iter_ : int
    converged_ : bool
        Whether the stopping rule ended the fit (False when ``max_iter`` was
        reached first, when ``tol=None``, when a callback stopped it, or when
        the fit diverged: its smoothed ELBO fell far below its best, which
        ``fit`` reports with a :class:`~skgmmvi.diagnostics.PoorFitWarning`).
    pareto_k_ : float
        Pareto k-hat of the importance ratios ``p~/q`` over 10000 samples of the
        fitted q (see :meth:`diagnose`). Above 0.7, ``fit`` raises a
        :class:`~skgmmvi.diagnostics.PoorFitWarning` saying what to try. NaN
        when ``max_iter=0``.
    mode_search_ : dict or None
        What the mode search of ``init='auto'`` saw (None when none ran:
        ``init`` 'prior' or 'data', a start already in the typical set, or a
        target without a usable gradient): ``n_starts``; ``n_at_modes`` (starts
        that ended at a mode); ``n_modes`` (distinct modes found);
        ``n_singletons`` (modes reached by one start only);
        ``unseen_chance`` and ``unseen_chance_se`` (the Good-Turing estimate
        ``n_singletons / n_at_modes`` of the chance that another start finds a
        new mode, and its standard error); ``estimated_n_modes`` (Chao1
        estimate of the modes the starts can reach); ``n_evaluations``; and
        ``stopped``, why the search stopped: ``'complete'`` (a new mode no
        longer plausible: estimate plus two standard errors at most 0.05),
        ``'start kept'`` (several modes, all within the start's reach; the
        search ran on while it found modes the start's samples miss),
        ``'no mode'`` (no start ended at a maximum; ``fit`` starts from
        ``init_mean``/``init_scale``), or ``'budget'``
        (``init_budget`` spent while new modes were still likely; ``fit`` then
        raises a :class:`~skgmmvi.diagnostics.PoorFitWarning`: the components
        may miss modes, which the Pareto k-hat cannot see); and
        ``n_unbounded``, the starts that climbed until the rounding of ``x``
        stopped them (a density that grows without bound, as in a funnel's
        neck: ``fit`` then raises a :class:`~skgmmvi.diagnostics.PoorFitWarning`,
        as q may miss the neck's mass unseen). The estimates speak of the
        starts' basins of attraction, not of the target's mass: a mode whose
        basin the starts rarely reach can be missed unseen.
    target_ : Target
        The target fitted (the kernel density estimate when ``target=None``).
    design_ : dict
        Module name -> option of the iteration that ran (the effective design,
        preset plus overrides).
    design_code_ : str
        Its seven-letter code word (e.g. ``'SAMTRON'``).
    n_features_in_ : int
    feature_names_in_ : ndarray
        When ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmmvi import VariationalGMMTarget
    >>> X = np.random.RandomState(0).normal(size=(200, 2))
    >>> vi = VariationalGMMTarget(max_iter=50, random_state=0).fit(X)
    >>> vi.means_.shape[1]
    2
    """

    _parameter_constraints: dict = {
        "target": [Target, None, callable],  # a plain function: a clear TypeError in fit
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "algorithm": [str],
        **{name: [StrOptions(choices), None] for name, choices in MODULE_CHOICES.items()},
        "covariance_type": [StrOptions({"full", "diag"})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "n_samples_per_component": [Interval(Integral, 2, None, closed="left")],
        "ratio_reused": [Interval(Real, 0, None, closed="left")],
        "component_stepsize": [Interval(Real, 0, None, closed="neither")],
        "component_stepsize_range": [tuple, list],
        "weight_stepsize": [Interval(Real, 0, None, closed="neither")],
        "weight_stepsize_range": [tuple, list],
        "stepsize_increase": [Interval(Real, 1, None, closed="left")],
        "stepsize_decrease": [Interval(Real, 0, 1, closed="right")],
        "component_stepsize_decay": [Interval(Real, 0, None, closed="left")],
        "weight_stepsize_decay": [Interval(Real, 0, None, closed="left")],
        "adaptive_components": ["boolean"],
        "add_iters": [Interval(Integral, 1, None, closed="left")],
        "del_iters": [Interval(Integral, 1, None, closed="left")],
        "max_components": [Interval(Integral, 1, None, closed="left")],
        "delete_min_weight": [Interval(Real, 0, 1, closed="both")],
        "init": [StrOptions({"auto", "prior", "data"})],
        "init_mean": ["array-like", None],
        "init_scale": [Interval(Real, 0, None, closed="neither"), "array-like", None],
        "init_budget": [Interval(Integral, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "dtype": [StrOptions({"float64", "float32"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "callback": [callable, None],
    }

    def __init__(
        self,
        target=None,
        n_components=1,
        *,
        algorithm="samtron",
        ng_estimation=None,
        component_adaptation=None,
        sample_selection=None,
        component_update=None,
        component_stepsize_schedule=None,
        weight_update=None,
        weight_stepsize_schedule=None,
        covariance_type="full",
        max_iter=2000,
        tol=0.004,
        n_iter_no_change=50,
        n_samples_per_component=250,
        ratio_reused=0.0,
        component_stepsize=0.01,
        component_stepsize_range=(0.001, 1.0),
        weight_stepsize=0.1,
        weight_stepsize_range=(1e-5, 4.0),
        stepsize_increase=1.15,
        stepsize_decrease=0.85,
        component_stepsize_decay=0.55,
        weight_stepsize_decay=0.55,
        adaptive_components=True,
        add_iters=25,
        del_iters=100,
        max_components=50,
        delete_min_weight=1e-6,
        init="auto",
        init_mean=None,
        init_scale=None,
        init_budget=20000,
        temperature=1.0,
        dtype="float64",
        random_state=None,
        verbose=0,
        verbose_interval=10,
        callback=None,
    ):
        store_parameters(self, locals())

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Fit the mixture to the target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            With a target: optional points in the target's space that place the
            initial components (their mean, or random rows for several
            components, and their per-feature variances as initial
            covariance; with ``init='auto'``, also the starting points of the
            mode search). With ``target=None``: the data whose kernel density
            estimate is the target (required).
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with restored_on_failure(self):
            self._fit(X)
        return self

    def _design(self):
        """The effective design (preset, then the module parameters) as a dict."""
        from ._tf.vi.design import design_from_code

        name = self.algorithm
        code = ALGORITHMS.get(name.lower(), name) if isinstance(name, str) else name
        try:
            design = design_from_code(code)._asdict()
        except ValueError as error:
            raise ValueError(
                f"algorithm={name!r} is neither a named setting "
                f"({', '.join(repr(k) for k in ALGORITHMS)}) nor a valid code word: "
                f"{error}") from None
        if not self.adaptive_components:
            if self.component_adaptation == "adaptive":
                raise ValueError("adaptive_components=False contradicts "
                                 "component_adaptation='adaptive'.")
            design["component_adaptation"] = "fixed"
        for parameter, module in MODULE_PARAMETERS.items():
            value = getattr(self, parameter)
            if value is not None:
                design[module] = value
        return design

    def _fit(self, X):
        from ._tf.vi.design import Design, code_of
        from ._tf.vi.run import VariationalRun

        design = self._design()
        target, X = self._resolve_target(X)
        n_features = self._n_features(target, X)
        self.n_features_in_ = n_features
        if X is None and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        out_dtype = output_dtype(self.dtype, X)
        rng = check_random_state(self.random_state)
        adaptive = design["component_adaptation"] == "adaptive"
        weights, means, covariances, n_initial = self._start(X, n_features, rng, target,
                                                             adaptive)
        n_start = means.shape[0]
        if adaptive and self.max_components < n_start:
            raise ValueError(f"max_components={self.max_components} is smaller than "
                             f"n_components={n_start}.")
        hyper = self._hyperparameters(covariances, n_start, adaptive, weights)
        seed = rng.randint(np.iinfo(np.int32).max, size=2)
        self.design_ = design
        self.design_code_ = code_of(Design(**design))
        self.target_ = target

        history, sizes, converged, n_evaluations = [], [], False, 0
        if self.max_iter > 0:
            run = VariationalRun(target, Design(**design), self.covariance_type == "diag",
                                 self.dtype, hyper, means, covariances, seed, weights)
            tails = TailCheck(self, run, hyper["max_components"], seed, FIT_CHECK_SAMPLES,
                              GROWTH_KHAT)
            history, sizes, converged = self._iterate(run, n_initial, tails)
            weights, means, precisions = run.mixture()
            factors = run.precision_factors()
            n_evaluations = run.n_evaluations() + tails.n_evaluations
        else:
            weights = np.full(n_start, 1.0 / n_start) if weights is None else weights
            precisions = np.linalg.inv(covariances)
            factors = None
        self._set_mixture(weights, means, precisions, out_dtype, factors)
        self.elbo_history_ = np.asarray(history, dtype=np.float64)
        self.n_components_history_ = np.asarray(sizes, dtype=np.int64)
        self.n_iter_ = len(history)
        self.converged_ = bool(converged)
        self.n_target_evaluations_ = n_initial + int(n_evaluations)
        self.n_components_ = int(self.weights_.shape[0])
        self._check_fit(rng)

    def _chunk(self):
        """Iterations per compiled call: as often as the callback, the progress
        line or the stopping rule need to look (None: as long as possible)."""
        lengths = [1 if self.callback is not None else None,
                   self.verbose_interval if self.verbose else None,
                   STOP_CHECK_INTERVAL if self.tol is not None else None]
        lengths = [n for n in lengths if n is not None]
        return min(lengths) if lengths else None

    def _iterate(self, run, n_initial, tails):
        """Run the iterations; ``(elbo history, component counts, converged)``,
        one ELBO estimate and one count of components per iteration. ``n_initial``:
        the target evaluations of the start, added to the counts reported;
        ``tails``: the :class:`._stopping_tails.TailCheck` that a stall while the
        mixture grows must pass (see :func:`._stopping_rule.fit_stalled`)."""
        history, sizes, stop, converged, collapse = [], [], False, False, None
        block = max(self.n_iter_no_change, STOP_CHECK_INTERVAL)  # medians against wild estimates
        for records in run.run(self.max_iter, chunk=self._chunk()):
            outside_run = n_initial + tails.n_evaluations  # evaluations the run does not count
            for i, elbo in enumerate(records["elbo"]):
                iteration = len(history) + 1
                if records["n_valid"][i] == 0:
                    raise ValueError(ALL_NAN_TARGET.format(
                        n=int(records["n_samples"][i]), it=iteration))
                history.append(float(elbo))
                sizes.append(int(records["n_components"][i]))
                if self.callback is not None:
                    info = {"iteration": iteration, "elbo": history[-1],
                            "n_components": sizes[-1],
                            "n_target_evaluations":
                                outside_run + int(records["n_evaluations"][i])}
                    stop = bool(self.callback(info)) or stop
            if self.verbose and len(records["elbo"]):
                self._print_progress(len(history), history[-1],
                                     int(records["n_components"][-1]),
                                     outside_run + int(records["n_evaluations"][-1]))
            collapse = elbo_collapse(history, block)
            converged = self.tol is not None and collapse is None and (
                proposal_exact(history, STOP_CHECK_INTERVAL, self.dtype)
                or tails.nearly_exact(history, STOP_CHECK_INTERVAL, self.tol)
                or (fit_stalled(history, sizes, self.n_iter_no_change, self.tol,
                                tails.max_components)
                    and tails.allow_stop(history, sizes)))
            if stop or converged or (collapse is not None and self.tol is not None):
                break
        if self.verbose:
            print(file=sys.stdout)
        if collapse is not None:
            self._warn_diverged(collapse, block)
            return history, sizes, False
        if not converged and self.tol is not None and len(history) >= self.max_iter:
            short = (f" (the rule needs at least {2 * self.n_iter_no_change} iterations)"
                     if self.max_iter < 2 * self.n_iter_no_change else "")
            warnings.warn(
                f"VariationalGMMTarget reached max_iter={self.max_iter} before the "
                f"stopping rule was met: the smoothed ELBO still gained more than "
                f"tol={self.tol} nats per n_iter_no_change={self.n_iter_no_change} "
                f"iterations, and more than its Monte-Carlo noise, or components were still "
                f"being added{short}. Increase max_iter, "
                f"or check the fit with diagnose().", ConvergenceWarning)
        return history, sizes, converged

    def _warn_diverged(self, collapse, block):
        """Warn that the fit diverged (:func:`._stopping_rule.elbo_collapse`)."""
        best, fallen, (first, last), (fallen_first, fallen_last) = collapse
        warnings.warn(
            f"VariationalGMMTarget diverged: the ELBO (the median of {block} "
            f"estimates) fell from {best:.6g} (iterations {first} to {last}) to "
            f"{fallen:.6g} (iterations {fallen_first} to {fallen_last}), far beyond "
            "its Monte-Carlo noise; q is no approximation of the target. A target "
            "whose mass is infinite (an improper posterior: a flat prior on a "
            "parameter the data do not determine, or a log-density that does not fall "
            "off in every direction) does this: q spreads until its numbers overflow. "
            "Check that the target is normalisable; a target defined on a bounded "
            "region is best fitted with skgmmvi.targets.TransformedTarget.",
            diagnostics.PoorFitWarning)

    def _check_fit(self, rng):
        """Check the fitted q on fresh samples: warn when a real fraction falls
        outside the target's support, set ``pareto_k_`` and warn when it is too high,
        when the mode search ran out of budget with modes likely missing, or when
        its starts ran into a density that grows without bound."""
        search = self.mode_search_
        if self.verbose and search is not None:
            print(f"mode search: {search['n_modes']} modes from {search['n_starts']} starts, "
                  f"{search['n_evaluations']} evaluations, chance of an unseen mode "
                  f"{search['unseen_chance']:.2f} (stopped: {search['stopped']})",
                  file=sys.stdout)
        if search is not None and search["stopped"] == "budget":
            warnings.warn(diagnostics.missed_modes_advice(search), diagnostics.PoorFitWarning)
        if search is not None and search["n_unbounded"]:
            warnings.warn(diagnostics.unbounded_density_advice(search),
                          diagnostics.PoorFitWarning)
        if self.max_iter == 0:
            self.pareto_k_ = float("nan")
            return
        log_p, log_q = self._log_ratios(FIT_CHECK_SAMPLES, rng)
        warn_if_outside_support(self.target_, log_p)
        result = diagnostics.diagnose_samples(log_p, log_q, self.temperature)
        if (result.pareto_k > diagnostics.KHAT_THRESHOLD
                and diagnostics.relative_spread(log_p - log_q) < NEAR_CONSTANT_SPREAD):
            result = diagnostics.diagnose_samples(
                *self._log_ratios(CONFIRM_SAMPLES, rng), self.temperature)
        self.pareto_k_ = float(result.pareto_k)
        if self.verbose:
            print(f"fitted: ELBO {result.elbo:.4f} +- {result.elbo_se:.4f}  "
                  f"log Z {result.log_evidence:.4f} +- {result.log_evidence_se:.4f}  "
                  f"Pareto k {result.pareto_k:.2f}  ESS {result.ess:.0f}/{result.n_samples}"
                  f"  iterations {self.n_iter_} (converged: {self.converged_})",
                  file=sys.stdout)
        if result.pareto_k > diagnostics.KHAT_THRESHOLD:
            warnings.warn(diagnostics.advice(result), diagnostics.PoorFitWarning)

    def _resolve_target(self, X):
        check_is_target(self.target)
        if self.target is None:
            if X is None:
                raise ValueError(
                    "VariationalGMMTarget with target=None fits a kernel density "
                    "estimate of X, so fit needs X; pass data, or pass a target.")
            X = validate_data(self, X, dtype=[np.float64, np.float32],
                              ensure_min_samples=2)
            return KernelDensityTarget(X), X
        if X is not None:
            X = validate_data(self, X, dtype=[np.float64, np.float32])
            try:
                self.target.check_n_features(X.shape[1])
            except ValueError as error:
                raise ValueError(f"{error} (X has n_features = {X.shape[1]}.)") from None
        return self.target, X

    def _n_features(self, target, X):
        if X is not None:
            return X.shape[1]
        if self.init_mean is not None:
            n_features = np.atleast_1d(np.asarray(self.init_mean)).shape[-1]
            target.check_n_features(n_features)
            return int(n_features)
        if target.n_features is not None:
            return int(target.n_features)
        raise ValueError(
            f"{type(target).__name__} works in any dimension; give the dimension by "
            "passing X (points in the target's space) or init_mean.")

    def _start(self, X, n_features, rng, target, adaptive):
        """Initial weights (None: equal), means, covariances and the target
        evaluations spent finding them. ``init='auto'`` starts a kernel density
        target from the mixture it is (:meth:`_kernel_density_start`). Sets
        ``mode_search_`` (None unless a mode search runs)."""
        self.mode_search_ = None
        if self.init == "auto" and is_kernel_density(target):
            return self._kernel_density_start(target, rng, adaptive) + (0,)
        return self._initial_components(X, n_features, rng, target)

    def _kernel_density_start(self, target, rng, adaptive):
        """A kernel density target as a mixture (weights, means, covariances) of
        ``n_components`` components, or with adaptive components of one per
        kernel up to ``max_components`` (see ``init``). Diagonal components get
        the diagonal Gaussian closest in ``KL(q || component)``: precisions
        ``diag(Lambda)``."""
        k = (max(self.n_components, min(target.n_kernels, self.max_components)) if adaptive
             else self.n_components)
        weights, means, covariances = target.as_mixture(k, rng)
        if self.covariance_type == "diag":
            variances = 1.0 / np.diagonal(np.linalg.inv(covariances), axis1=1, axis2=2)
            covariances = variances[:, :, None] * np.eye(means.shape[1])
        return weights, means, covariances

    def _initial_components(self, X, n_features, rng, target):
        """Initial weights (K,) (None: equal), means (K, D), covariances
        (K, D, D), float64, and the number of target evaluations spent finding
        them (see ``init``); sets ``mode_search_`` when a mode search runs."""
        if self.init == "data":
            if X is None:
                raise ValueError("init='data' places the initial components at X; pass "
                                 "X, or use init='auto' or init='prior'.")
            return (None,) + self._prior_components(X, n_features, rng, None, None) + (0,)
        means, covariances = self._prior_components(X, n_features, rng, self.init_mean,
                                                    self.init_scale)
        if self.init == "prior":
            return None, means, covariances, 0
        from ._tf.vi.mode_search import finite_start_rows, laplace_start
        from ._tf.vi.target_adapter import check_rows

        variances = np.diagonal(covariances[0]).copy()
        rows = check_rows(means, covariances, 0)
        check = self._check_target(target, rows)
        n_checked, has_gradient = check.n_evaluations, check.has_gradient
        if has_gradient is None:  # log p~ non-finite at every row: look nearer the centre
            rows, n_probed = finite_start_rows(target, self.dtype, means, variances,
                                               rows.shape[0])
            n_checked += n_probed
            if rows.shape[0]:
                check = self._check_target(target, rows)
                n_checked += check.n_evaluations
                has_gradient = check.has_gradient
        if not has_gradient:
            return None, means, covariances, n_checked
        before = rng.get_state()
        adaptive = self._design()["component_adaptation"] == "adaptive"
        pool = None if X is None else np.asarray(X, np.float64)
        start = laplace_start(target, self.dtype, means, variances, rng, pool=pool,
                              diagonal=self.covariance_type == "diag",
                              budget=self.init_budget,
                              max_components=self.max_components if adaptive else None)
        self.mode_search_ = None if start.summary is None else start.summary._asdict()
        if not start.searched:  # the start is kept: the fit continues as init='prior'
            rng.set_state(before)
        return (start.weights, start.means, start.covariances,
                n_checked + int(start.n_evaluations))

    def _check_target(self, target, rows):
        """Check the target at ``rows`` (draws of the prior start) before the mode
        search evaluates it (shapes, dtypes, gradient path, the gradient against
        finite differences; errors say what to do). Returns a ``TargetCheck``:
        whether it has a usable gradient, which the search needs (None when
        ``log p~`` is non-finite at every row), and the evaluations spent."""
        from ._tf.vi.target_adapter import check_target, target_parameters

        needs_grad = self._design()["ng_estimation"] != "more"
        return check_target(target, rows, self.dtype, needs_grad,
                            target_parameters(target, self.dtype))

    def _prior_components(self, X, n_features, rng, init_mean, init_scale):
        """The start ``init='prior'`` keeps: means (K, D), covariances (K, D, D)."""
        k = self.n_components
        if init_scale is not None:
            scale = np.asarray(init_scale, dtype=np.float64)
            if scale.ndim > 1 or (scale.ndim == 1 and scale.shape != (n_features,)):
                raise ValueError(f"init_scale must be a number or have shape "
                                 f"({n_features},); got shape {scale.shape}.")
            if not np.all(np.isfinite(scale) & (scale > 0)):
                raise ValueError("init_scale must be positive and finite.")
            variances = np.broadcast_to(scale**2, (n_features,)).copy()
        elif X is not None:
            variances = np.var(np.asarray(X, np.float64), axis=0)
            positive = variances[variances > 0]
            floor = positive.min() if positive.size else 1.0
            variances = np.where(variances > 0, variances, floor)
        else:
            variances = np.full(n_features, DEFAULT_INIT_SCALE**2)
        if init_mean is not None:
            init_mean = np.asarray(init_mean, dtype=np.float64)
            if init_mean.shape == (k, n_features):
                means = _checks.check_means(init_mean, k, n_features).astype(np.float64)
            elif init_mean.shape == (n_features,):
                means = (init_mean if k == 1 else
                         init_mean + rng.standard_normal((k, n_features)) * np.sqrt(variances))
            else:
                raise ValueError(f"init_mean must have shape ({n_features},) or "
                                 f"({k}, {n_features}); got {init_mean.shape}.")
        elif X is not None:
            data = np.asarray(X, np.float64)
            if k == 1:
                means = data.mean(axis=0)
            else:
                rows = rng.choice(data.shape[0], size=k, replace=data.shape[0] < k)
                means = data[rows]
        else:
            means = (np.zeros(n_features) if k == 1 else
                     rng.standard_normal((k, n_features)) * np.sqrt(variances))
        means = np.array(np.broadcast_to(means, (k, n_features)), dtype=np.float64)
        if not np.all(np.isfinite(means)):
            raise ValueError("init_mean must be finite.")
        covariances = np.tile(np.diag(variances), (k, 1, 1))
        return means, covariances

    def _hyperparameters(self, covariances, n_start, adaptive=True, weights=None):
        comp_low, comp_high = _stepsize_range(self.component_stepsize_range,
                                              "component_stepsize_range")
        weight_low, weight_high = _stepsize_range(self.weight_stepsize_range,
                                                  "weight_stepsize_range")
        n_features = covariances.shape[-1]
        log_dets = np.linalg.slogdet(covariances)[1]
        initial_entropy = float(np.average(
            0.5 * n_features * (1.0 + np.log(2.0 * np.pi)) + 0.5 * log_dets, weights=weights))
        return {
            "n_samples_per_component": self.n_samples_per_component,
            "ratio_reused": self.ratio_reused,
            "temperature": self.temperature,
            "component_stepsize": self.component_stepsize,
            "component_stepsize_min": comp_low,
            "component_stepsize_max": comp_high,
            "component_stepsize_increase": self.stepsize_increase,
            "component_stepsize_decrease": self.stepsize_decrease,
            "weight_stepsize": self.weight_stepsize,
            "weight_stepsize_min": weight_low,
            "weight_stepsize_max": weight_high,
            "weight_stepsize_increase": self.stepsize_increase,
            "weight_stepsize_decrease": self.stepsize_decrease,
            "add_iters": self.add_iters,
            "del_iters": self.del_iters,
            "max_components": self.max_components if adaptive else n_start,
            "component_stepsize_decay": self.component_stepsize_decay,
            "weight_stepsize_decay": self.weight_stepsize_decay,
            "delete_min_weight": self.delete_min_weight,
            "add_thresholds": np.asarray(ADD_THRESHOLDS),
            "initial_entropy": initial_entropy,
        }

    def _set_mixture(self, weights, means, precisions, out_dtype, factors=None):
        precisions = 0.5 * (precisions + np.transpose(precisions, (0, 2, 1)))
        if self.covariance_type == "diag":
            diagonal = np.diagonal(precisions, axis1=1, axis2=2)
            params = (weights, means, 1.0 / diagonal, np.sqrt(diagonal))
        elif factors is not None:
            params = (weights, means) + _covariances_and_upper_factors(factors)
        else:
            params = (weights, means, np.linalg.inv(precisions),
                      _checks.precision_cholesky_from_precisions(precisions, "full"))
        self._set_fitted(params, out_dtype)

    def _print_progress(self, iteration, elbo, n_components, n_evaluations):
        width = 20
        filled = int(width * iteration / max(self.max_iter, 1))
        bar = "#" * filled + "." * (width - filled)
        end = "\r" if sys.stdout.isatty() else "\n"
        print(f"[{bar}] iteration {iteration}/{self.max_iter}  ELBO {elbo:.4f}  "
              f"components {n_components}  target evaluations {n_evaluations}",
              end=end, flush=True)

    # ---------------------------------------------------------- fitted q tools
    def _draw(self, n_samples, rng):
        """Samples of the fitted mixture (float64) drawn with ``rng``."""
        counts = rng.multinomial(n_samples, sampling_probabilities(self.weights_))
        from scipy.linalg import solve_triangular

        pieces = []
        for mean, cov, chol, n in zip(self.means_.astype(np.float64),
                                      self.covariances_.astype(np.float64),
                                      self.precisions_cholesky_.astype(np.float64), counts):
            noise = rng.standard_normal((int(n), mean.shape[0]))
            if self.covariance_type == "diag":
                pieces.append(mean + noise * np.sqrt(cov))
            else:
                # x = mu + U^{-T} eps with the precision factor (Lambda = U U^T):
                # stable also for the very ill-conditioned components that
                # designs without trust regions can produce
                pieces.append(mean + solve_triangular(chol.T, noise.T, lower=True).T)
        return np.vstack(pieces)

    def _log_ratios(self, n_samples, random_state):
        from ._tf.vi.compile import TargetEvaluator

        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(f"n_samples must be at least 1; got {n_samples}.")
        rng = check_random_state(self.random_state if random_state is None
                                 else random_state)
        x = self._draw(int(n_samples), rng)
        log_q = self._log_prob_resp(x.astype(self.means_.dtype))[0].astype(np.float64)
        log_p = TargetEvaluator(self.target_, self.dtype)(x)
        return log_p, log_q

    def elbo(self, n_samples=10000, random_state=None):
        """Monte-Carlo estimate of the ELBO of the fitted mixture.

        ``E_q[log p~(x) - beta log q(x)]`` over ``n_samples`` fresh samples of q.

        It is ``-inf`` when some sample of q falls where ``log p~ = -inf``
        (outside the target's support): q then puts mass where the target has
        none, and ``KL(q || p)`` is infinite. Fit such a target in unconstrained
        coordinates (:class:`~skgmmvi.targets.TransformedTarget`). Samples where
        the target is NaN or ``+inf`` (undefined) are left out, with a
        RuntimeWarning that counts them.

        Parameters
        ----------
        n_samples : int, default=10000
            Samples of q the Monte-Carlo average runs over.
        random_state : int, RandomState instance or None, default=None
            Seeds the samples (None: the estimator's ``random_state``).

        Returns
        -------
        float
            The ELBO estimate (its standard error: ``diagnose().elbo_se``).
        """
        return self.diagnose(n_samples, random_state).elbo

    def log_evidence(self, n_samples=10000, random_state=None):
        """Pareto smoothed importance-sampling estimate of ``log Z``, q the proposal.

        The PSIS estimate ``log (1/n) sum_i w_i`` of :meth:`diagnose`, ``w_i``
        the Pareto smoothed ratios ``p~(x_i) / q(x_i)`` of ``n_samples`` samples
        of q; samples where ``log p~ = -inf`` count as zero. Check
        ``diagnose().pareto_k`` (below 0.7) and its standard error before
        trusting it.

        Parameters
        ----------
        n_samples : int, default=10000
            Samples of q whose importance ratios are smoothed and averaged.
        random_state : int, RandomState instance or None, default=None
            Seeds the samples (None: the estimator's ``random_state``).

        Returns
        -------
        float
            The estimate of ``log Z`` (its standard error:
            ``diagnose().log_evidence_se``).
        """
        return self.diagnose(n_samples, random_state).log_evidence

    def diagnose(self, n_samples=10000, random_state=None):
        """How far the fitted q can be trusted: PSIS diagnostics.

        Draws ``n_samples`` samples of q and returns the Pareto k-hat of the
        importance ratios ``p~/q`` (Vehtari et al., "Pareto smoothed importance
        sampling", JMLR 2024; below 0.5 good, 0.5-0.7 usable, above 0.7 q misses
        part of the target, Yao et al., ICML 2018), the effective sample size,
        the PSIS estimate of ``log Z`` with its Monte-Carlo standard error and
        the ELBO with its standard error (see :mod:`skgmmvi.diagnostics`).

        Parameters
        ----------
        n_samples : int, default=10000
            Samples of q the diagnostics are computed from.
        random_state : int, RandomState instance or None, default=None
            Seeds the samples (None: the estimator's ``random_state``).

        Returns
        -------
        Diagnostics
            A named tuple ``(pareto_k, ess, log_evidence, log_evidence_se, elbo,
            elbo_se, n_samples, n_zero_weight, n_undefined)``: samples where
            ``log p~ = -inf`` have weight zero (and make the ELBO ``-inf``);
            samples where it is NaN or ``+inf`` are left out, as in ``fit``.
        """
        log_p, log_q = self._log_ratios(n_samples, random_state)
        warn_undefined_values(log_p, "diagnose")
        return diagnostics.diagnose_samples(log_p, log_q, self.temperature)
