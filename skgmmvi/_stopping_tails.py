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
"""

import numpy as np

from . import diagnostics
from ._stopping_rule import compared_span, mixture_growing


class TailCheck:
    """Whether a stall of the stopping rule may end a growing fit (see the module).

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
        Samples of q per check.
    khat_limit : float
        A growing fit may stop when its k-hat is at most this.

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

    def current_pareto_k(self):
        """Pareto k-hat of the running fit's current q on fresh samples."""
        estimator, run = self.estimator, self.run
        weights, means, precisions = run.mixture()
        estimator._set_mixture(weights, means, precisions, np.float64,
                               run.precision_factors())
        log_p, log_q = estimator._log_ratios(self.n_samples, self.rng)
        self.n_evaluations += len(log_p)
        return diagnostics.diagnose_samples(log_p, log_q, estimator.temperature).pareto_k
