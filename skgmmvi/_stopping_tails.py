"""The stopping rule's look at q's tails.

The ELBO hardly sees the tails of q: on the non-centred eight-schools
posterior (random_state 0, one thread) the default fit stalled after 354
iterations, 0.009 nats below ``log Z``, while its mixture still grew by one
component every 25 iterations; its ELBO estimates were quiet (0.0039 per
iteration, under ``tol``), so :func:`._stopping_rule.fit_stalled` let it stop.
q then held half of the target's mass below ``log tau = -3`` (0.55 % against
1.0 %) and the Pareto k-hat of ``diagnose()`` scattered from 0.63 to 0.79
between draws. Run on to 1229 iterations, the ELBO gained 0.006 nats, the
tail mass became 1.1 % and k-hat 0.24 to 0.40.

So a quiet stall while the mixture still grows ends the fit only when the
current q's k-hat is in PSIS's good range; otherwise the fit goes on for at
least another span of the stopping rule, and asks again at its next stall. The
number of checks is bounded: each waits a span (a quarter of the iterations so
far), and once the mixture stops growing (``max_components`` reached, or
additions deleted as fast as they come) a stall ends the fit as before.

The same fresh draws also end a fit that is already as good as it can get:
:meth:`TailCheck.nearly_exact`. A q whose ``log p~ - beta log q`` is constant up to
rounding stops by :func:`._stopping_rule.proposal_exact`; one that is nearly
so (a 100-dimensional Gaussian with condition number 1e4 after its Laplace
start: ELBO estimates scattering by 2e-12, above rounding in that dimension;
a kernel density target of 100 points started from 50 of its kernels: 3e-5)
used to run the ``2 n_iter_no_change`` iterations the rule needs before it can
compare two spans. What any iteration can still gain is ``beta KL(q || p_beta)``,
about ``Var_q[log p~ - beta log q] / (2 beta)`` when that variance is small;
when it is measurably below ``tol``, the fit has nothing left to gain that the
rule would count.
"""

import numpy as np

from . import diagnostics
from ._stopping_rule import compared_span, mixture_growing

#: :meth:`TailCheck.nearly_exact` bounds the variance of ``log p~ - beta log q``
#: by its estimate plus this many of its standard errors (for normal values,
#: ``sqrt(2 / (n - 1))`` of it; heavier tails are kept out by the k-hat limit).
VARIANCE_Z = 3.0
#: The fewest fresh samples a look of :meth:`TailCheck.nearly_exact` draws.
MIN_LOOK_SAMPLES = 1000


class TailCheck:
    """The stopping rule's looks at fresh samples of the running fit's q (see the
    module): whether a stall may end a growing fit (:meth:`allow_stop`), and
    whether q is already nearly exact (:meth:`nearly_exact`).

    Parameters
    ----------
    estimator : VariationalGMMTarget
        The estimator being fitted: its fitted-q tools draw and score the
        samples (its fitted attributes hold the current q during a check; the
        fit sets the final q afterwards, and a failed fit restores them).
    run : VariationalRun
        The running fit, whose current mixture is checked.
    max_components : int
        The most components the mixture may grow to.
    seed : array-like of int
        Seeds the checks' samples (apart from the fit's own random streams, so
        a check changes no draw of the fit).
    n_samples : int
        Samples of q per tail check, and at most per look for a nearly exact q.
    khat_limit : float
        A growing fit may stop, and a q may count as nearly exact, when its
        k-hat is at most this.

    Attributes
    ----------
    n_evaluations : int
        Target evaluations spent on checks so far.
    """

    def __init__(self, estimator, run, max_components, seed, n_samples, khat_limit):
        self.estimator = estimator
        self.run = run
        self.max_components = max_components
        self.rng = np.random.RandomState(seed)
        self.n_samples = n_samples
        self.khat_limit = khat_limit
        self.n_evaluations = 0
        self._next_check = 0
        self._next_exact_check = 0
        self._n_exact_looks = 0

    def allow_stop(self, history, sizes):
        """Whether a stall (:func:`._stopping_rule.fit_stalled`) may end the fit.

        Parameters
        ----------
        history : sequence of float
            ELBO estimates so far, one per iteration.
        sizes : sequence of int
            Active components after each iteration so far.

        Returns
        -------
        bool
            True when the mixture has stopped growing, or when the current q's
            k-hat is at most ``khat_limit``; False while a span since the last
            check that failed has not passed, or when this check fails.
        """
        window = self.estimator.n_iter_no_change
        if not mixture_growing(sizes, window, self.max_components):
            return True
        n_done = len(history)
        if n_done < self._next_check:
            return False
        self._next_check = n_done + compared_span(n_done, window)
        return bool(self.current_pareto_k() <= self.khat_limit)

    def nearly_exact(self, history, recent, tol):
        """Whether the current q is within ``tol`` of the best the objective allows,
        before the stopping rule can compare two spans (``2 n_iter_no_change``).

        Looked at only when the last ``recent`` ELBO estimates spread by less
        than ``tol`` (around a q that is not the target they scatter by about
        ``sqrt(Var / n)``); after a look, the next waits ``recent`` iterations,
        then twice as long after each further look (at most four before
        ``2 n_iter_no_change`` with the defaults). A
        look draws as many fresh samples as the last ``recent`` iterations
        evaluated the target (at least :data:`MIN_LOOK_SAMPLES`, at most
        ``n_samples``), and only when the iterations it may save would evaluate
        the target more often. q is nearly exact when the samples' Pareto k-hat
        is at most ``khat_limit`` and ``Var[log p~ - beta log q] / (2 beta)``,
        bounded above by :data:`VARIANCE_Z` standard errors, is below ``tol``.

        Parameters
        ----------
        history : sequence of float
            ELBO estimates so far, one per iteration.
        recent : int
            How many of the last estimates must agree to within ``tol``.
        tol : float
            The stopping rule's ``tol`` (nats).

        Returns
        -------
        bool
        """
        n_done = len(history)
        n_left = 2 * self.estimator.n_iter_no_change - n_done  # until the rule can stop
        if n_done < max(recent, self._next_exact_check) or n_left <= 0:
            return False
        if not np.ptp(np.asarray(history[-recent:], dtype=np.float64)) < tol:
            return False
        per_iteration = self.run.n_evaluations() / n_done
        n_look = int(min(self.n_samples, max(MIN_LOOK_SAMPLES, recent * per_iteration)))
        if n_left * per_iteration <= n_look:
            return False
        self._next_exact_check = n_done + recent * 2 ** self._n_exact_looks
        self._n_exact_looks += 1
        beta = self.estimator.temperature
        log_p, log_q = self._current_log_ratios(n_look)
        result = diagnostics.diagnose_samples(log_p, log_q, beta)
        # the variance of log p~ - beta log q from the ELBO's standard error
        # (infinite when q has mass outside the support)
        variance = result.elbo_se ** 2 * result.n_samples
        bound = variance * (1.0 + VARIANCE_Z * np.sqrt(2.0 / max(result.n_samples - 1, 1)))
        return bool(result.pareto_k <= self.khat_limit and bound / (2.0 * beta) < tol)

    def current_pareto_k(self):
        """Pareto k-hat of the running fit's current q on fresh samples."""
        log_p, log_q = self._current_log_ratios(self.n_samples)
        return diagnostics.diagnose_samples(log_p, log_q, self.estimator.temperature).pareto_k

    def _current_log_ratios(self, n_samples):
        """``(log p~, log q)`` at ``n_samples`` fresh samples of the running fit's q
        (counted in ``n_evaluations``)."""
        estimator, run = self.estimator, self.run
        weights, means, precisions = run.mixture()
        estimator._set_mixture(weights, means, precisions, np.float64,
                               run.precision_factors())
        log_p, log_q = estimator._log_ratios(n_samples, self.rng)
        self.n_evaluations += len(log_p)
        return log_p, log_q
