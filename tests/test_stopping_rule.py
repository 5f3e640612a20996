"""The divergence check of skgmmvi._stopping_rule on ELBO histories with known
answers (the stopping rule itself is tested through fits in test_vi_quality.py)."""

import numpy as np

from skgmmvi._stopping_rule import COLLAPSE_NATS, elbo_collapse, step_noise


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
