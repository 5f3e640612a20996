"""Statistical unit tests of the NG-VI modules: Stein estimates and both
trust-region searches (run eagerly on hand-made states)."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
import tensorflow as tf  # noqa: E402

from skgmmvi._tf.vi import component_update, gaussians, mixture, ng_estimation  # noqa: E402
from skgmmvi._tf.vi import weight_update  # noqa: E402

from helpers import gaussian_batch, random_spd, state_of, vi_hyperparameters  # noqa: E402

HYPER = vi_hyperparameters()


def test_stein_single_component_matches_exact_expectations():
    """For q = N(m, S) and a Gaussian target N(mu, P^{-1}):
    E_q[grad log p/q] = -P (m - mu) and E_q[hess log p/q] = -P + S^{-1}."""
    rng = np.random.RandomState(0)
    d = 4
    target_mean, target_precision = rng.randn(d), np.linalg.inv(random_spd(rng, d))
    mean, cov = rng.randn(d), random_spd(rng, d, 0.5)
    state = state_of(mean[None], cov[None])
    n = 400_000
    x = rng.multivariate_normal(mean, cov, size=n)
    estimates = ng_estimation.SteinEstimator().estimate(
        state, HYPER, gaussian_batch(state, x, target_mean, target_precision, [n]))
    exact_grad = -target_precision @ (mean - target_mean)
    exact_hessian = -target_precision + np.linalg.inv(cov)
    scale = np.abs(exact_hessian).max()
    # Monte-Carlo error of n = 4e5 samples is ~ 1e-3 of the scale here.
    np.testing.assert_allclose(estimates["grad"].numpy()[0], exact_grad, rtol=0,
                               atol=0.01 * np.abs(exact_grad).max())
    np.testing.assert_allclose(estimates["hessian"].numpy()[0], exact_hessian, rtol=0,
                               atol=0.01 * scale)
    # reward E_q[log p~ - log q] = -KL(q || p) + log Z
    exact_kl = 0.5 * (np.trace(target_precision @ cov) - d
                      + (mean - target_mean) @ target_precision @ (mean - target_mean)
                      - np.linalg.slogdet(target_precision)[1] - np.linalg.slogdet(cov)[1])
    log_z = 0.5 * d * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(target_precision)[1]
    assert estimates["reward"].numpy()[0] == pytest.approx(log_z - exact_kl, abs=0.01)
    assert estimates["elbo"].numpy() == pytest.approx(log_z - exact_kl, abs=0.01)


def test_stein_importance_weighted_equals_direct_monte_carlo():
    """Two components, samples drawn from both (background = their uniform
    mixture): the importance-weighted estimates of component 0 agree with a plain
    Monte-Carlo average over samples of component 0 alone."""
    rng = np.random.RandomState(1)
    d = 3
    target_mean, target_precision = rng.randn(d), np.linalg.inv(random_spd(rng, d))
    means = np.array([rng.randn(d), rng.randn(d) + 1.0])
    covs = np.array([random_spd(rng, d, 0.7), random_spd(rng, d, 1.0)])
    state = state_of(means, covs, weights=[0.3, 0.7])
    n = 200_000
    x = np.vstack([rng.multivariate_normal(means[k], covs[k], size=n) for k in (0, 1)])
    batch = gaussian_batch(state, x, target_mean, target_precision, [n, n])
    weighted = ng_estimation.SteinEstimator().estimate(state, HYPER, batch)

    # direct Monte Carlo for component 0: only its own samples, equal weights
    direct_batch = gaussian_batch(state, x[:n], target_mean, target_precision, [n, 0])
    direct = ng_estimation.SteinEstimator().estimate(state, HYPER, direct_batch)
    for key, tol in (("grad", 0.02), ("hessian", 0.02), ("reward", 0.02)):
        a, b = weighted[key].numpy()[0], direct[key].numpy()[0]
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * max(1.0, np.abs(b).max()))


def test_stein_diagonal_keeps_only_the_diagonal():
    rng = np.random.RandomState(2)
    d = 3
    state = state_of(np.zeros((1, d)), np.eye(d)[None])
    x = rng.randn(1000, d)
    batch = gaussian_batch(state, x, np.ones(d), np.linalg.inv(random_spd(rng, d)), [1000])
    full = ng_estimation.SteinEstimator(diagonal=False).estimate(state, HYPER, batch)
    diag = ng_estimation.SteinEstimator(diagonal=True).estimate(state, HYPER, batch)
    np.testing.assert_array_equal(diag["hessian"].numpy()[0],
                                  np.diag(np.diag(full["hessian"].numpy()[0])))


def numpy_kl(m1, s1, m0, s0):
    d = len(m1)
    p0 = np.linalg.inv(s0)
    return 0.5 * (np.trace(p0 @ s1) + (m0 - m1) @ p0 @ (m0 - m1) - d
                  + np.linalg.slogdet(s0)[1] - np.linalg.slogdet(s1)[1])


@pytest.mark.parametrize("bound", [1e-3, 1e-2, 0.1, 0.5])
def test_component_trust_region_kl_within_ten_percent_of_bound(bound):
    rng = np.random.RandomState(3)
    d, k = 5, 6
    means = rng.randn(k, d) * 3
    covs = np.array([random_spd(rng, d, 4.0) for _ in range(k)])
    state = state_of(means, covs)
    # natural gradients towards Gaussian targets (H = -P + Lambda, g = -P (m - mu))
    grads, hessians = [], []
    for j in range(k):
        target_precision = np.linalg.inv(random_spd(rng, d, 0.2))
        target_mean = rng.randn(d)
        grads.append(-target_precision @ (means[j] - target_mean))
        hessians.append(-target_precision + np.linalg.inv(covs[j]))
    # one component with a Hessian that has a large positive eigenvalue: small
    # eta makes Lambda' indefinite, which the search must treat as too large
    hessians[-1] = hessians[-1] + 50.0 * np.outer(np.ones(d), np.ones(d)) / d
    bounds = tf.constant(np.full(k, bound))
    new_means, new_chol, kl, log_eta, success = component_update.trust_region_search(
        state["means"], state["prec_chol"], tf.constant(np.array(grads)),
        tf.constant(np.array(hessians)), bounds, tf.constant(1.0, tf.float64),
        tf.constant(np.full(k, np.nan)), tf.constant(np.ones(k, bool)))
    assert success.numpy().all()
    new_cov = gaussians.covariance(new_chol).numpy()
    for j in range(k):
        exact = numpy_kl(new_means.numpy()[j], new_cov[j], means[j], covs[j])
        assert kl.numpy()[j] == pytest.approx(exact, rel=1e-6)
        full_step = log_eta.numpy()[j] < 1e-2  # eta = beta: the whole step fits
        if not full_step:
            assert abs(exact - bound) <= 0.1 * bound, (j, exact, bound)
        else:
            assert exact <= 1.1 * bound
        assert np.all(np.linalg.eigvalsh(new_cov[j]) > 0)
    if bound <= 0.1:
        assert np.all(log_eta.numpy() > 1e-2)  # small bounds always bind here

    # warm start from the multipliers found: same answer, each within 10 %
    _, _, kl_warm, _, _ = component_update.trust_region_search(
        state["means"], state["prec_chol"], tf.constant(np.array(grads)),
        tf.constant(np.array(hessians)), bounds, tf.constant(1.0, tf.float64),
        log_eta, tf.constant(np.ones(k, bool)))
    binding = log_eta.numpy() > 1e-2
    assert np.all(np.abs(kl_warm.numpy()[binding] - bound) <= 0.1 * bound)


def test_component_trust_region_skips_components_not_asked():
    rng = np.random.RandomState(4)
    d = 2
    state = state_of(rng.randn(2, d), np.array([np.eye(d), np.eye(d)]))
    out = component_update.trust_region_search(
        state["means"], state["prec_chol"], tf.constant(rng.randn(2, d)),
        tf.constant(-np.array([np.eye(d), np.eye(d)])), tf.constant(np.array([0.1, 0.1])),
        tf.constant(1.0, tf.float64), tf.constant(np.array([np.nan, np.nan])),
        tf.constant([True, False]))
    new_means, _, kl, _, success = out
    assert success.numpy().tolist() == [True, False]
    np.testing.assert_array_equal(new_means.numpy()[1], state["means"].numpy()[1])
    assert kl.numpy()[1] == 0.0


@pytest.mark.parametrize("bound", [1e-4, 1e-2, 0.3])
def test_weight_trust_region_kl_within_ten_percent_of_bound(bound):
    rng = np.random.RandomState(5)
    k = 7
    weights = rng.dirichlet(np.ones(k))
    active = np.ones(k + 1, bool)
    active[-1] = False  # an inactive slot must be ignored
    log_weights = np.append(np.log(weights), mixture.LOG_WEIGHT_FLOOR)
    rewards = np.append(rng.randn(k) * 5, 1e3)
    new, kl = weight_update.weight_trust_region_search(
        tf.constant(log_weights), tf.constant(active), tf.constant(rewards),
        tf.constant(bound, tf.float64), tf.constant(1.0, tf.float64))
    new_weights = np.exp(new.numpy()[:k])
    assert new_weights.sum() == pytest.approx(1.0, abs=1e-12)
    exact = np.sum(new_weights * (np.log(new_weights) - np.log(weights)))
    assert kl.numpy() == pytest.approx(exact, rel=1e-9)
    assert abs(exact - bound) <= 0.1 * bound
    # the update moves weight towards high rewards
    assert np.argmax(new_weights / weights) == np.argmax(rewards[:k])


def test_reservoir_keeps_a_uniform_subset_of_all_rows():
    from skgmmvi._tf.vi import database

    state = {k: tf.constant(v) for k, v in database.initial_reservoir(200, 1, np.float64).items()}
    rows = np.arange(20000, dtype=float)
    values = rows.copy()
    values[::10] = np.nan  # invalid rows are never kept
    for start in range(0, 20000, 500):
        seed = tf.constant([7, start], tf.int32)
        state = database.offer_to_reservoir(state, tf.constant(rows[start:start + 500, None]),
                                            tf.constant(values[start:start + 500]), seed)
    kept = state["cand_x"].numpy()[:, 0]
    assert state["cand_seen"].numpy() == 18000
    assert len(np.unique(kept)) == 200 and np.all(kept % 10 != 0)
    np.testing.assert_array_equal(state["cand_log_density"].numpy(), kept)
    # uniform over the history: mean index ~ 10000 (sd of the mean of 200 ~ 400)
    assert abs(kept.mean() - 10000) < 1600
    assert np.sum(kept < 10000) > 70 and np.sum(kept >= 10000) > 70


def test_precision_factors_of_nearly_singular_covariances():
    """A kernel density of data on a subspace has covariances with condition numbers
    near 1e10, whose rounded inverse is not positive definite: the factors come from
    the backward-stable way, lower with a positive diagonal, and invert the covariance."""
    rng = np.random.RandomState(0)
    basis = rng.randn(6, 4)
    covariance = basis @ basis.T + 1e-10 * np.eye(6)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(np.linalg.inv(covariance))
    well_conditioned = random_spd(rng, 6)
    factors = mixture.precision_factors(np.stack([covariance, well_conditioned]))
    assert np.all(np.triu(factors, 1) == 0)
    assert np.all(np.diagonal(factors, axis1=1, axis2=2) > 0)
    for cov, factor in zip((covariance, well_conditioned), factors):
        # a backward-stable inverse leaves a residual up to about cond(cov) times
        # the unit roundoff (4.1e-5 for the first, condition 1.9e11; measured
        # 1.1e-5 with OpenBLAS's SkylakeX kernels, below 1e-5 with Haswell's)
        bound = np.linalg.cond(cov) * np.finfo(np.float64).eps
        np.testing.assert_allclose(cov @ factor @ factor.T, np.eye(6), atol=bound)
