"""The divergence check and the growing-mixture veto of skgmmvi._stopping_rule on
ELBO histories with known answers, when the veto's tail check
(skgmmvi._stopping_tails) looks, and what its early look for a nearly exact q
decides on log-ratios with known variance (the stall rule itself is tested
through fits in test_vi_quality.py, as are the veto on the seed problem's fit and
the early stop of a nearly exact one)."""

import numpy as np
import pytest

from skgmmvi._stopping_rule import (COLLAPSE_NATS, elbo_collapse, elbo_stalled,
                                    fit_stalled, mixture_growing, step_noise)
from skgmmvi._stopping_tails import MIN_LOOK_SAMPLES, TailCheck
from skgmmvi.vi import GROWTH_KHAT


def noisy(values, sd, seed=0):
    return np.asarray(values, float) + sd * np.random.default_rng(seed).standard_normal(
        len(values))


def test_step_noise_recovers_the_noise_of_a_trend():
    history = noisy(np.linspace(0.0, 50.0, 2000), 0.3)
    assert abs(step_noise(history) - 0.3) < 0.03


def test_a_block_that_falls_far_below_the_best_is_a_divergence():
    # a rising fit (noise 0.5), then a block of overflowing estimates
    history = np.concatenate([noisy(np.linspace(0.0, 60.0, 200), 0.5),
                              -1e12 * np.ones(50)])
    best, fallen, best_iterations, fallen_iterations = elbo_collapse(history, 50)
    assert fallen == -1e12 and fallen_iterations == (201, 250)
    assert best_iterations == (151, 200) and 50.0 < best < 60.0


def test_a_divergence_counts_even_when_later_estimates_are_high_again():
    # an improper target's overflowing q swings back to huge positive ELBOs
    history = np.concatenate([noisy(np.linspace(0.0, 60.0, 200), 0.5),
                              -1e30 * np.ones(50), noisy(np.full(100, 180.0), 0.5)])
    collapse = elbo_collapse(history, 50)
    assert collapse is not None and collapse[3] == (201, 250)


def test_wild_single_estimates_and_noise_are_no_divergence():
    plateau = noisy(np.full(500, -120.0), 0.2)
    plateau[::37] = -1e9  # one wild estimate in about every 37
    assert elbo_collapse(plateau, 50) is None
    # a drop beyond COLLAPSE_NATS, but within 20 noise standard deviations
    loud = noisy(np.concatenate([np.full(100, 0.0), np.full(100, -1.5 * COLLAPSE_NATS)]), 30.0)
    assert elbo_collapse(loud, 50) is None
    # and one below COLLAPSE_NATS with hardly any noise
    quiet = np.concatenate([np.full(100, 0.0), np.full(100, -0.5 * COLLAPSE_NATS)])
    assert elbo_collapse(noisy(quiet, 1e-3), 50) is None


def test_fewer_than_two_blocks_say_nothing():
    assert elbo_collapse(np.r_[np.zeros(60), -1e12 * np.ones(30)], 50) is None


def test_a_stall_while_additions_still_raise_the_component_count_is_no_convergence():
    # the seed problem's shape: the ELBO stands still while components arrive
    # (one every 25 iterations, at negligible weight), and rises once they weigh
    rng = np.random.default_rng(0)
    history = np.concatenate([np.linspace(-17.0, -15.45, 150), np.full(250, -15.43)])
    history = history + 0.05 * rng.standard_normal(history.size)
    growing = 5 + np.arange(history.size) // 25
    assert elbo_stalled(history, 50, 0.004)
    assert mixture_growing(growing, 50, 50)
    # at max_components, or with additions deleted as fast as they come, it counts
    assert not mixture_growing(np.minimum(growing, 12), 50, 12)
    steady = 20 + (np.arange(history.size) // 25) % 2  # one added, one deleted
    assert not mixture_growing(steady, 50, 50)
    assert not mixture_growing(np.full(history.size, 7), 50, 50)  # a fixed design
    assert not mixture_growing(growing[:99], 50, 50)  # before two windows
    # the rule: a stall while the mixture grows counts only when q is (nearly)
    # the target, its estimates scattering by less than tol per iteration
    assert not fit_stalled(history, growing, 50, 0.004, 50)
    assert fit_stalled(history, steady, 50, 0.004, 50)
    exact = np.zeros(history.size) + 1e-13 * rng.standard_normal(history.size)
    assert fit_stalled(exact, growing, 50, 0.004, 50)


class ScriptedTailCheck(TailCheck):
    """A TailCheck whose k-hats come from a list, recording when it looked."""

    def __init__(self, k_hats, window=50, max_components=50):
        estimator = type("Estimator", (), {"n_iter_no_change": window})()
        super().__init__(estimator, None, max_components, 0, 10000, GROWTH_KHAT)
        self.k_hats, self.looked_at = list(k_hats), []

    def current_pareto_k(self):
        self.looked_at.append(self.n_done)
        return self.k_hats.pop(0)

    def ask(self, n_done, sizes):
        self.n_done = n_done
        return self.allow_stop(np.zeros(n_done), sizes[:n_done])


def test_a_quiet_stall_while_growing_ends_the_fit_only_when_the_tails_are_good():
    growing = 5 + np.arange(2000) // 25
    check = ScriptedTailCheck([0.8, 0.6, 0.45])
    assert not check.ask(400, growing)  # k-hat 0.8: go on for a span (100)
    assert not check.ask(410, growing) and not check.ask(490, growing)  # no look
    assert not check.ask(500, growing)  # k-hat 0.6; the next span is 125
    assert not check.ask(620, growing)
    assert check.ask(630, growing)  # k-hat 0.45
    assert check.looked_at == [400, 500, 630]
    # a mixture that stopped growing (at max_components, or steady) stops
    # without a look; a fixed design too
    capped = ScriptedTailCheck([], max_components=12)
    assert capped.ask(400, np.minimum(growing, 12))
    assert capped.ask(400, np.full(2000, 7)) and capped.looked_at == []



class ScriptedRatios(TailCheck):
    """A TailCheck whose looks draw log-ratios ``log p~ - log q`` of a given law
    (the fit evaluating the target ``per_iteration`` times per iteration),
    recording each look's iteration and size."""

    def __init__(self, draw_ratios, per_iteration=250, window=50):
        estimator = type("Estimator", (), {"n_iter_no_change": window, "temperature": 1.0})()
        run = type("Run", (), {"n_evaluations": lambda run: self.n_done * per_iteration})()
        super().__init__(estimator, run, 50, 0, 10000, GROWTH_KHAT)
        self.draw_ratios, self.looks, self.n_done = draw_ratios, [], 0

    def _current_log_ratios(self, n_samples):
        self.looks.append((self.n_done, n_samples))
        self.n_evaluations += n_samples
        log_ratio = self.draw_ratios(np.random.default_rng(len(self.looks)), n_samples)
        return log_ratio - 3.0, np.full(n_samples, -3.0)

    def ask(self, n_done, spread=1e-5, tol=0.004):
        self.n_done = n_done
        history = -7.0 + spread * np.tile([0.0, 1.0], n_done)[:n_done]
        return self.nearly_exact(history, 10, tol)


@pytest.mark.parametrize("sd, exact", [(1e-3, True), (0.08, True), (0.095, False),
                                        (0.2, False), (1.0, False)])
def test_nearly_exact_when_what_is_left_to_gain_is_measurably_below_tol(sd, exact):
    # Var / 2 below tol = 0.004 is sd below 0.089; the bound adds three standard
    # errors of the variance of the look's 2500 samples (10 iterations'
    # evaluations), so sd below 0.086 passes
    check = ScriptedRatios(lambda rng, n: sd * rng.standard_normal(n))
    assert check.ask(20) == exact
    assert check.looks == [(20, 2500)] and check.n_evaluations == 2500


def test_no_look_while_the_elbo_estimates_scatter_or_once_the_rule_can_stop():
    check = ScriptedRatios(lambda rng, n: np.zeros(n))
    assert not check.ask(20, spread=0.005)  # estimates spread by more than tol
    assert not check.ask(9)  # fewer than 10 estimates
    assert not check.ask(100) and not check.ask(140)  # the rule compares spans now
    assert check.looks == [] and check.n_evaluations == 0
    assert check.ask(60)


def test_a_look_costs_at_most_ten_iterations_and_only_where_it_may_save_more():
    cheap = ScriptedRatios(lambda rng, n: np.zeros(n), per_iteration=20)
    assert cheap.ask(10) and cheap.looks == [(10, MIN_LOOK_SAMPLES)]  # at least 1000
    # 1000 samples against 5 iterations of 20 evaluations left before 100: no look
    assert not ScriptedRatios(lambda rng, n: np.zeros(n), per_iteration=20).ask(95)
    costly = ScriptedRatios(lambda rng, n: np.zeros(n), per_iteration=12500)
    assert costly.ask(10) and costly.looks == [(10, 10000)]  # at most n_samples


def test_looks_back_off_and_heavy_tails_or_mass_outside_the_support_never_pass():
    # a Student-t log-ratio with 1.5 degrees of freedom: small spread in the
    # bulk, but k-hat about 2/3
    heavy = ScriptedRatios(lambda rng, n: 0.01 * rng.standard_t(1.5, n))
    assert [heavy.ask(n) for n in range(10, 100, 10)] == [False] * 9
    assert [n for n, _ in heavy.looks] == [10, 20, 40, 80]  # waits 10, 20, 40
    outside = ScriptedRatios(lambda rng, n: np.where(np.arange(n) == 7, -np.inf, 0.0))
    assert not outside.ask(20)
