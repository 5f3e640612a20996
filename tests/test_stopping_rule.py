"""The divergence check and the growing-mixture veto of skgmmvi._stopping_rule on
ELBO histories with known answers (the stall rule itself is tested through fits in
test_vi_quality.py, as is the veto on the seed problem's fit)."""

import numpy as np

from skgmmvi._stopping_rule import (COLLAPSE_NATS, elbo_collapse, elbo_stalled,
                                    fit_stalled, mixture_growing, step_noise)


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
