"""VI at scale: the estimates computed over blocks of components and rows equal the
dense formulas (numpy, written out here) for every block size, and memory stays
bounded (no (N, K, D) array, no (K, N) matrix)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.special import logsumexp

from skgmmvi._tf._runtime import tensorflow
from skgmmvi._tf.vi import blocks, gaussians, mixture, ng_estimation, weighted_sums

tf = tensorflow()

#: Budgets (numbers per block): one row or component per block, a few, most rows
#: (the last block partial), and all. Sized for :func:`random_problem`'s 20 rows:
#: the eager loops of budget 1 cost one step per (row, component) pair.
BUDGETS = [1, 37, 170, 10**9]


def random_problem(n_features=3, n_components=5, n_rows=20, diagonal=False, seed=0):
    """A mixture state (one inactive slot), rows with target values and gradients
    (two invalid rows) and the generating components' counts."""
    rng = np.random.RandomState(seed)
    means = rng.normal(scale=2.0, size=(n_components, n_features))
    if diagonal:
        covariances = np.array([np.diag(rng.uniform(0.3, 2.0, n_features))
                                for _ in range(n_components)])
    else:
        factors = rng.normal(size=(n_components, n_features, n_features))
        covariances = factors @ np.transpose(factors, (0, 2, 1)) + np.eye(n_features)
    state = mixture.initial_mixture(means, covariances, n_components + 1, np.float64)
    state["log_weights"][:n_components] = np.log(rng.dirichlet(np.ones(n_components)))
    state["more_log_ridge"] = np.full(n_components + 1, np.log(1e-10))
    x = rng.normal(scale=3.0, size=(n_rows, n_features))
    valid = np.ones(n_rows, bool)
    valid[[3, 17]] = False
    batch = {"x": x, "valid": valid,
             "log_density": np.where(valid, -0.5 * np.sum(x**2, axis=1), 0.0),
             "grad": np.where(valid[:, None], -x, 0.0)}
    return state, batch


def dense_log_densities(state, x):
    """(K, N) log N(x_n; mu_k, Sigma_k), every slot."""
    chol = state["prec_chol"]
    z = np.einsum("kdj,knd->knj", chol, x[None] - state["means"][:, None])
    log_det = 2 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    return (-0.5 * np.sum(z**2, axis=2) + 0.5 * log_det[:, None]
            - 0.5 * x.shape[1] * np.log(2 * np.pi))


def dense_stein(state, batch, beta, diagonal):
    """The Stein estimates with every (N, K, D) array written out."""
    x, valid = batch["x"], batch["valid"]
    active = state["active"]
    log_w = np.where(active, state["log_weights"], -np.inf)
    component = dense_log_densities(state, x)
    log_q = logsumexp(log_w[:, None] + component, axis=0)
    resp = np.exp(log_w[:, None] + component - log_q)
    log_bg = (batch["log_background"] if "log_background" in batch else
              logsumexp(batch["background_log_weights"][:, None] + component, axis=0))
    log_ratio = np.where(valid[None], component - log_bg, -np.inf)
    has = np.isfinite(log_ratio).any(axis=1) & active
    weights = np.where(has[:, None], np.exp(
        log_ratio - np.where(has, logsumexp(log_ratio, axis=1), 0)[:, None]), 0)
    precision = state["prec_chol"] @ np.transpose(state["prec_chol"], (0, 2, 1))
    diff = x[None] - state["means"][:, None]  # (K, N, D)
    grad_log_q = -np.einsum("kn,kij,knj->ni", resp, precision, diff)
    residual = np.where(valid[:, None], batch["grad"] - beta * grad_log_q, 0)
    grad = weights @ residual
    hessian = precision @ np.einsum("kn,kni,nj->kij", weights, diff, residual)
    hessian = 0.5 * (hessian + np.transpose(hessian, (0, 2, 1)))
    if diagonal:
        hessian = np.array([np.diag(np.diag(h)) for h in hessian])
    values = np.where(valid, batch["log_density"] - beta * log_q, 0)
    return {"grad": grad, "hessian": hessian, "reward": weights @ values,
            "has_samples": has, "log_q": log_q, "grad_log_q": grad_log_q}


def as_tensors(d):
    return {k: tf.constant(v) for k, v in d.items()}


def with_budget(monkeypatch, budget, function, *args):
    monkeypatch.setattr(blocks, "BLOCK_ELEMENTS", budget)
    return function(*args)


def test_log_densities_from_coefficients_equal_dense():
    state, batch = random_problem()
    x, means = tf.constant(batch["x"]), tf.constant(state["means"])
    center = tf.reduce_mean(means, axis=0)
    coefficients = gaussians.log_density_coefficients(means, tf.constant(state["prec_chol"]),
                                                      center)
    got = gaussians.log_densities_from_coefficients(
        coefficients, gaussians.quadratic_features(x, center))
    np.testing.assert_allclose(got.numpy(), dense_log_densities(state, batch["x"]),
                               rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("budget", BUDGETS)
def test_blocked_log_mixture_density_equals_dense(budget):
    state, batch = random_problem()
    log_w = np.log(np.arange(1.0, 7.0))
    log_w[2] = -np.inf  # a left-out component
    mixed = gaussians.log_mixture_density(
        tf.constant(batch["x"]), tf.constant(log_w), tf.constant(state["means"]),
        tf.constant(state["prec_chol"]), budget=budget)
    expected = logsumexp(log_w[:, None] + dense_log_densities(state, batch["x"]), axis=0)
    np.testing.assert_allclose(mixed.numpy(), expected, rtol=1e-12, atol=1e-10)


def test_log_mixture_density_of_no_component_is_minus_inf():
    x = tf.constant(np.ones((4, 2)))
    value = gaussians.log_mixture_density(x, tf.zeros([0], tf.float64),
                                          tf.zeros([0, 2], tf.float64),
                                          tf.zeros([0, 2, 2], tf.float64))
    assert np.all(value.numpy() == -np.inf)


@pytest.mark.parametrize("budget", BUDGETS)
def test_mixture_log_density_equals_dense(budget):
    state, batch = random_problem(n_features=4)
    expected = dense_stein(state, dict(batch, background_log_weights=np.zeros(6)), 1.0,
                           False)
    log_q = mixture.log_density(as_tensors(state), tf.constant(batch["x"]), budget=budget)
    np.testing.assert_allclose(log_q.numpy(), expected["log_q"], rtol=1e-12, atol=1e-10)


def test_grad_log_q_rows_equal_dense():
    state, batch = random_problem(n_features=4)
    expected = dense_stein(state, dict(batch, background_log_weights=np.zeros(6)), 1.0,
                           False)
    log_w = np.where(state["active"], state["log_weights"], -np.inf)
    resp = tf.constant(np.exp(log_w[:, None] + dense_log_densities(state, batch["x"])
                              - expected["log_q"][None, :]))
    factors = mixture.grad_log_q_factors(as_tensors(state))
    got = mixture.grad_log_q_rows(factors, resp, tf.constant(batch["x"]))
    np.testing.assert_allclose(got.numpy(), expected["grad_log_q"], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("diagonal", [False, True])
@pytest.mark.parametrize("background", ["component", "mixture", "reuse"])
def test_blocked_stein_estimates_equal_dense(monkeypatch, budget, diagonal, background):
    """Per-component sampling (background: the components weighted by their sample
    counts), mixture sampling (background: q) and re-use (a given background
    density of the generators)."""
    state, batch = random_problem(diagonal=diagonal, seed=1)
    if background == "component":
        batch["background_log_weights"] = np.log(np.array([4, 4, 4, 4, 4, 1e-300]) / 20)
        batch["background_log_weights"][-1] = -np.inf
    elif background == "mixture":
        batch["background_log_weights"] = np.where(state["active"], state["log_weights"],
                                                   -np.inf)
    else:
        batch["log_background"] = np.random.RandomState(2).normal(-8.0, 1.0, 20)
    expected = dense_stein(state, batch, 0.7, diagonal)
    hyper = {"temperature": tf.constant(0.7, tf.float64)}
    estimator = ng_estimation.SteinEstimator(diagonal)
    estimates = with_budget(monkeypatch, budget, estimator.estimate, as_tensors(state),
                            hyper, as_tensors(batch))
    np.testing.assert_array_equal(estimates["has_samples"].numpy(), expected["has_samples"])
    has = expected["has_samples"]
    for key in ("grad", "hessian", "reward"):
        np.testing.assert_allclose(estimates[key].numpy()[has], expected[key][has],
                                   rtol=1e-10, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("diagonal", [False, True])
def test_blocked_more_estimates_do_not_depend_on_the_block_size(monkeypatch, diagonal):
    state, batch = random_problem(n_features=2, n_rows=24, diagonal=diagonal, seed=3)
    batch["background_log_weights"] = np.where(state["active"], state["log_weights"],
                                               -np.inf)
    hyper = {"temperature": tf.constant(1.0, tf.float64),
             "n_samples_per_component": tf.constant(8),
             "more_ridge_min": tf.constant(1e-14, tf.float64),
             "more_ridge_max": tf.constant(1e3, tf.float64)}
    estimator = ng_estimation.MoreEstimator(diagonal)
    results = [with_budget(monkeypatch, budget, estimator.estimate, as_tensors(state), hyper,
                           as_tensors(batch)) for budget in BUDGETS]
    dense = results[-1]  # one block: every (N, K) pair at once
    assert np.all(dense["has_samples"].numpy()[:5])
    for blocked in results[:-1]:
        for key in ("grad", "hessian", "reward"):
            np.testing.assert_allclose(blocked[key].numpy(), dense[key].numpy(),
                                       rtol=1e-10, atol=1e-10, err_msg=key)


def dense_importance_weights(state, batch):
    """(K, N) self-normalised importance weights, written out."""
    component = dense_log_densities(state, batch["x"])
    log_ratio = np.where(batch["valid"][None], component - batch["log_background"][None],
                         -np.inf)
    return np.exp(log_ratio - logsumexp(log_ratio, axis=1, keepdims=True)), log_ratio


@pytest.mark.parametrize("budget", [1, 7, 10**9])
def test_importance_sums_equal_dense(budget):
    """Weighted sums, effective sample sizes and the largest log ratios, online over
    blocks, equal the (K, N) formulas; log ratios far beyond exp's range do not
    overflow (the running maximum)."""
    state, batch = random_problem(n_components=4, n_rows=23, seed=4)
    batch["log_background"] = np.random.RandomState(5).normal(-900.0, 300.0, 23)
    weights, log_ratio = dense_importance_weights(state, batch)
    terms = batch["grad"] = np.random.RandomState(6).normal(size=(23, 3))
    result = weighted_sums.importance_sums(
        as_tensors(state), as_tensors(batch), lambda rows, *_: [rows["grad"]], [3], track=weighted_sums.largest_log_ratios(
            tf.constant(5), tf.constant(5), tf.float64, lambda rows, log_q: log_q[:, None]),
        budget=budget)
    active = state["active"]
    np.testing.assert_array_equal(result["has_samples"].numpy(), active)
    np.testing.assert_allclose(result["sums"][0].numpy()[active], (weights @ np.where(
        batch["valid"][:, None], terms, 0))[active], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result["ess"].numpy()[active],
                               1.0 / np.sum(weights**2, axis=1)[active], rtol=1e-12)
    top, rows, _ = (t.numpy() for t in result["track"])
    np.testing.assert_allclose(top[active], -np.sort(-log_ratio, axis=1)[:, :5][active],
                               rtol=1e-12)
    np.testing.assert_array_equal(rows[active], np.argsort(-log_ratio, axis=1,
                                                           kind="stable")[:, :5][active])


def test_block_size_respects_the_budget():
    assert int(blocks.block_size(tf.constant(300), tf.constant(90000 * 11), 2**22)) == 4
    assert int(blocks.block_size(tf.constant(300), tf.constant(10**8), 2**22)) == 1
    assert int(blocks.block_size(tf.constant(5), tf.constant(10), 2**22)) == 5
    assert int(blocks.block_size(tf.constant(0), tf.constant(10), 2**22)) == 1


def test_compiled_estimate_serves_new_sizes_without_retracing():
    estimator = ng_estimation.SteinEstimator()
    hyper = {"temperature": tf.constant(1.0, tf.float64)}
    traces = []

    @tf.function(reduce_retracing=True)
    def estimate(state, batch):
        traces.append(1)
        return estimator.estimate(state, hyper, batch)["grad"]

    for n_rows, n_components in [(60, 5), (90, 7), (40, 3)]:
        state, batch = random_problem(n_components=n_components, n_rows=n_rows)
        batch["background_log_weights"] = np.zeros(n_components + 1)
        state_t = {k: tf.constant(v) for k, v in state.items()}
        batch_t = {k: tf.constant(v) for k, v in batch.items()}
        estimate(state_t, batch_t)
    assert len(traces) <= 2  # the first call, then one shape-generic trace


PEAK_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from skgmmvi._tf._runtime import tensorflow
    from skgmmvi._tf.vi import blocks, mixture, ng_estimation
    tf = tensorflow()
    blocks.BLOCK_ELEMENTS = 2**20  # blocks of 8 MiB
    n_rows, n_components, n_features = 16000, 150, 40
    rng = np.random.RandomState(0)
    means = rng.normal(size=(n_components, n_features))
    covariances = np.tile(np.eye(n_features), (n_components, 1, 1))
    state = {k: tf.constant(v) for k, v in mixture.initial_mixture(
        means, covariances, n_components, np.float64).items()}
    x = rng.normal(size=(n_rows, n_features))
    batch = {"x": tf.constant(x), "valid": tf.ones(n_rows, tf.bool),
             "log_density": tf.constant(-0.5 * np.sum(x**2, 1)), "grad": tf.constant(-x),
             "background_log_weights": tf.fill([n_components], -np.log(n_components))}
    hyper = {"temperature": tf.constant(1.0, tf.float64)}
    estimate = tf.function(lambda s, b: ng_estimation.SteinEstimator().estimate(s, hyper, b))
    small = {k: v[:50] if k != "background_log_weights" else v for k, v in batch.items()}
    estimate(state, small)  # trace and warm up on a small batch
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    estimate(state, batch)["hessian"].numpy()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_mb": (after - before) / 1024.0,
                      "dense_mb": n_rows * n_components * n_features * 8 / 2**20}))
""")


@pytest.mark.slow
def test_peak_memory_of_a_stein_estimate_is_far_below_one_dense_array(tmp_path):
    """N K D = 96M numbers (732 MiB) as one dense array; the blocked estimate holds
    no (K, N) matrix (18 MiB each), only the (K, D, D) sums and blocks of 8 MiB
    (the code before blocking grew by 800 MiB with half the rows)."""
    import skgmmvi
    from pathlib import Path

    root = str(Path(skgmmvi.__file__).resolve().parents[1])
    script = tmp_path / "peak.py"
    script.write_text(PEAK_SCRIPT)
    output = subprocess.run([sys.executable, str(script), root], capture_output=True,
                            text=True, check=True, env={"OMP_NUM_THREADS": "1",
                                                        "PATH": "/usr/bin:/bin"}).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    assert figures["growth_mb"] < 0.3 * figures["dense_mb"], figures


@pytest.mark.parametrize("n_features,n_components", [(7, 3), (3, 7), (4, 4)])
def test_weighted_sum_of_outer_products_either_way(n_features, n_components):
    """The outer-product terms (a_i b_i^T) are summed per component without forming
    them where D > K, and formed where D <= K: both equal the weighted sum of the
    formed outer products."""
    tf = tensorflow()
    rng = np.random.default_rng(3)
    weights = rng.random((n_components, 11))
    left, right = rng.standard_normal((11, n_features)), rng.standard_normal((11, 5))
    expected = np.einsum("kn,nd,ne->kde", weights, left, right).reshape(n_components, -1)
    got = weighted_sums.weighted_sum(tf.constant(weights), (tf.constant(left),
                                                            tf.constant(right)))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-13, atol=1e-13)
    flat = rng.standard_normal((11, 6))
    np.testing.assert_allclose(weighted_sums.weighted_sum(tf.constant(weights),
                                                          tf.constant(flat)).numpy(),
                               weights @ flat, rtol=1e-13)


def test_checks_after_fit_and_diagnose_pass_the_target_bounded_row_counts():
    from skgmmvi import VariationalGMMTarget
    from skgmmvi._tf.vi.compile import EVALUATION_CHUNK_ROWS
    from skgmmvi.diagnostics import diagnose_samples
    from skgmmvi.targets import Target
    from skgmmvi.vi import FIT_CHECK_SAMPLES

    class RowCountingGaussian(Target):
        """Standard normal in 2-D (numpy); records the rows of each call."""
        n_features = 2
        uses_tensorflow = False
        calls = []

        def log_density_and_grad(self, x):
            self.calls.append(x.shape[0])
            return -0.5 * np.sum(x ** 2, axis=1) - np.log(2 * np.pi), -x

    target = RowCountingGaussian()
    vi = VariationalGMMTarget(target, n_components=1, max_iter=5, tol=None,
                              init="prior", init_scale=1.0, random_state=0).fit()
    # the fit's own check of q draws more rows than a chunk
    assert max(target.calls) <= EVALUATION_CHUNK_ROWS < FIT_CHECK_SAMPLES
    n_samples = 2 * EVALUATION_CHUNK_ROWS + 3
    target.calls.clear()
    result = vi.diagnose(n_samples=n_samples, random_state=0)
    assert max(target.calls) <= EVALUATION_CHUNK_ROWS and sum(target.calls) == n_samples
    # the same values as one call: the chunks are rows of one draw
    x = vi._draw(n_samples, np.random.RandomState(0))
    log_q = vi.score_samples(x)
    whole = diagnose_samples(-0.5 * np.sum(x ** 2, axis=1) - np.log(2 * np.pi), log_q)
    assert result.log_evidence == pytest.approx(whole.log_evidence, rel=1e-12)
