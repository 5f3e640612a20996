"""VariationalGMMTarget: quality bars of issue 4 and estimator behaviour.

The Gaussian test targets (``tests/helpers.py``) pass their arrays to the
compiled code through ``_graph_parameters`` so that one trace serves all tests of
a class.
"""

import io
import pickle
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn.base import clone

from skgmmvi import VariationalGMMTarget
from skgmmvi.targets import Target

from helpers import GaussianMixtureTestTarget, GaussianTestTarget, NanTarget


class HoledGaussianTarget(GaussianTestTarget):
    """A Gaussian whose log-density is NaN on a fine, sample-independent pattern
    (about 10 % of the points), +inf on another (about 5 %)."""

    @staticmethod
    def _log_density_with(x, mean, precision):
        import tensorflow as tf

        value = GaussianTestTarget._log_density_with(x, mean, precision)
        phase = tf.math.floormod(x[:, 0] * 1000.0, 1.0)
        value = tf.where(phase < 0.1, tf.constant(np.nan, x.dtype), value)
        return tf.where((phase >= 0.1) & (phase < 0.15), tf.constant(np.inf, x.dtype), value)


class NumpyGaussianTarget(Target):
    """A Gaussian written in numpy only (evaluated outside the compiled graph)."""

    uses_tensorflow = False

    def __init__(self, mean, covariance):
        self.mean = np.asarray(mean, float)
        self.precision = np.linalg.inv(covariance)
        self.n_features = len(self.mean)

    def log_density_and_grad(self, x):
        diff = x - self.mean
        grad = -diff @ self.precision
        return 0.5 * np.sum(grad * diff, axis=1), grad


def gaussian_d5():
    rng = np.random.RandomState(1)
    a = rng.randn(5, 5)
    return GaussianTestTarget(rng.randn(5) * 3, a @ a.T + np.eye(5))


def four_mode_target():
    means = np.array([[-8.0, -8.0], [8.0, -6.0], [-6.0, 7.0], [7.0, 8.0]])
    covs = np.array([np.diag([1.0, 0.5]), [[1.0, 0.6], [0.6, 1.0]], np.eye(2) * 0.7,
                     [[0.5, -0.2], [-0.2, 0.8]]])
    return GaussianMixtureTestTarget(np.full(4, 0.25), means, covs)


def relative_error(estimate, truth):
    return np.linalg.norm(estimate - truth) / np.linalg.norm(truth)


# ------------------------------------------------------------- quality bars
@pytest.fixture(scope="module")
def gaussian_fit():
    target = gaussian_d5()
    vi = VariationalGMMTarget(target, max_iter=100, adaptive_components=False,
                              init="prior", random_state=0).fit()
    return target, vi


def test_gaussian_d5_single_component_recovers_target(gaussian_fit):
    target, vi = gaussian_fit
    assert vi.n_components_ == 1
    assert relative_error(vi.means_[0], target.mean) < 0.02
    assert relative_error(vi.covariances_[0], target.covariance) < 0.02
    assert abs(vi.elbo_history_[-1] - target.log_z()) < 0.02
    assert abs(vi.elbo(20000) - target.log_z()) < 0.02
    assert abs(vi.log_evidence(20000) - target.log_z()) < 0.02
    # Stein's estimate is exact for a Gaussian target: q becomes the target (its
    # ELBO estimates equal log Z to 1e-9 over the last ten iterations), and the
    # stopping rule ends the fit before max_iter when a look at fresh samples finds
    # it nearly exact
    assert vi.converged_ and vi.n_iter_ < 100 and vi.elbo_history_.shape == (vi.n_iter_,)
    np.testing.assert_allclose(vi.elbo_history_[-10:], target.log_z(), rtol=1e-9)
    # each iteration's 250 evaluations, and each look's 10 iterations' worth
    n_looks, rest = divmod(vi.n_target_evaluations_ - vi.n_iter_ * 250, 2500)
    assert 1 <= n_looks <= 4 and rest == 0
    # scikit-learn's conventions for the precision factor
    np.testing.assert_allclose(vi.precisions_cholesky_[0] @ vi.precisions_cholesky_[0].T,
                               np.linalg.inv(vi.covariances_[0]), rtol=1e-10)
    assert np.allclose(np.tril(vi.precisions_cholesky_[0], -1), 0)


def test_float32_gaussian_d5():
    target = gaussian_d5()
    vi = VariationalGMMTarget(target, max_iter=100, adaptive_components=False,
                              dtype="float32", random_state=0).fit()
    assert vi.means_.dtype == np.float32 and vi.covariances_.dtype == np.float32
    assert relative_error(vi.means_[0], target.mean) < 0.02
    assert relative_error(vi.covariances_[0], target.covariance) < 0.02
    assert abs(vi.elbo(20000) - target.log_z()) < 0.02


def test_diagonal_q_recovers_a_diagonal_gaussian():
    base = gaussian_d5()
    target = GaussianTestTarget(base.mean, np.diag([1.0, 2.0, 3.0, 0.5, 4.0]))
    vi = VariationalGMMTarget(target, covariance_type="diag", max_iter=100,
                              adaptive_components=False, random_state=0).fit()
    assert vi.covariances_.shape == (1, 5) and vi.precisions_cholesky_.shape == (1, 5)
    assert relative_error(vi.means_[0], target.mean) < 0.02
    assert relative_error(vi.covariances_[0], np.diag(target.covariance)) < 0.02
    assert abs(vi.elbo(20000) - target.log_z()) < 0.02


def test_diagonal_q_nears_the_mean_field_optimum_of_a_correlated_gaussian():
    """The best diagonal q for N(mu, P^{-1}) has variances 1 / P_ii and
    KL = (sum_i log P_ii + log det P^{-1}) / 2."""
    target = gaussian_d5()
    precision = np.linalg.inv(target.covariance)
    best_kl = 0.5 * (np.sum(np.log(np.diag(precision)))
                     + np.linalg.slogdet(target.covariance)[1])
    vi = VariationalGMMTarget(target, covariance_type="diag", max_iter=200,
                              adaptive_components=False, random_state=0).fit()
    elbo = vi.elbo(100000)
    assert target.log_z() - best_kl - 0.05 < elbo < target.log_z() - best_kl + 0.01


def test_numpy_target_is_evaluated_outside_the_graph():
    target = gaussian_d5()
    vi = VariationalGMMTarget(NumpyGaussianTarget(target.mean, target.covariance),
                              max_iter=60, adaptive_components=False, random_state=0).fit()
    assert relative_error(vi.means_[0], target.mean) < 0.02
    assert relative_error(vi.covariances_[0], target.covariance) < 0.02
    assert abs(vi.elbo(20000) - target.log_z()) < 0.02


@pytest.fixture(scope="module")
def four_mode_fit():
    target = four_mode_target()
    vi = VariationalGMMTarget(target, max_iter=150, n_samples_per_component=100,
                              component_stepsize=0.1, add_iters=10,
                              random_state=0).fit()
    return target, vi


def test_gmm_2d_every_mode_found_and_small_kl(four_mode_fit):
    target, vi = four_mode_fit
    for mode in target.means:
        distance = np.min(np.linalg.norm(vi.means_ - mode, axis=1))
        assert distance < 0.5, mode
    assert -vi.elbo(20000) < 0.05
    assert vi.n_components_ >= 4
    # the mode-covering components carry the weight
    heavy = vi.weights_ > 0.05
    assert heavy.sum() == 4
    np.testing.assert_allclose(np.sort(vi.weights_[heavy]), 0.25, atol=0.02)


def test_components_were_added_beyond_the_initial_capacity(four_mode_fit):
    _, vi = four_mode_fit
    # growth beyond the start's components happened without error
    assert vi.n_components_ > 2
    # the count after each iteration: it rises with each addition (every add_iters)
    sizes = vi.n_components_history_
    assert sizes.shape == (vi.n_iter_,) and sizes[-1] == vi.n_components_
    assert np.count_nonzero(np.diff(sizes) > 0) >= vi.n_components_ - sizes[0] > 0
    assert vi.design_ == {
        "ng_estimation": "stein", "component_adaptation": "adaptive",
        "sample_selection": "component", "component_update": "trust-region",
        "component_stepsize": "improvement", "weight_update": "trust-region",
        "weight_stepsize": "improvement"}


class BranchingGaussianTarget(Target):
    """A standard normal written with Python control flow on tensors, which
    needs autograph (the compiled iteration itself is traced without it)."""

    n_features = 2

    def log_density(self, x):
        import tensorflow as tf

        value = -0.5 * tf.reduce_sum(tf.square(x), axis=1)
        if tf.reduce_any(value > 0.0):  # never true; converted to tf.cond
            value = value - 100.0
        for _ in tf.range(2):  # converted to tf.while_loop
            value = value + 0.0
        return value


def test_target_with_python_control_flow_on_tensors_is_converted():
    vi = VariationalGMMTarget(BranchingGaussianTarget(), component_adaptation="fixed",
                              max_iter=100, component_stepsize=0.3,
                              random_state=0).fit()
    np.testing.assert_allclose(vi.covariances_[0], np.eye(2), atol=0.1)
    np.testing.assert_allclose(vi.means_[0], np.zeros(2), atol=0.1)


# ---------------------------------------------------------- failure modes
def test_nan_and_inf_target_values_are_excluded():
    base = gaussian_d5()
    target = HoledGaussianTarget(base.mean, base.covariance)
    vi = VariationalGMMTarget(target, max_iter=100, adaptive_components=False,
                              random_state=0).fit()
    assert np.all(np.isfinite(vi.elbo_history_))
    assert relative_error(vi.means_[0], base.mean) < 0.02
    assert relative_error(vi.covariances_[0], base.covariance) < 0.02


def test_all_nan_target_raises_a_clear_error():
    vi = VariationalGMMTarget(NanTarget(), max_iter=5, init_mean=np.zeros(3))
    with pytest.raises(ValueError, match="NaN or infinite at all 250 samples") as error:
        vi.fit()
    assert "TransformedTarget" in str(error.value)  # the fix for a target on a region
    assert not hasattr(vi, "means_")


def test_wrong_dimension_X_raises():
    with pytest.raises(ValueError, match="R\\^5"):
        VariationalGMMTarget(gaussian_d5(), max_iter=2).fit(np.zeros((10, 3)))


def test_dimension_agnostic_target_needs_a_dimension():
    with pytest.raises(ValueError, match="any dimension"):
        VariationalGMMTarget(NanTarget(), max_iter=2).fit()


def test_target_none_needs_X():
    with pytest.raises(ValueError, match="needs X"):
        VariationalGMMTarget().fit()


# ------------------------------------------------------- estimator plumbing
def test_same_random_state_same_fit_different_state_different_fit():
    # 12 rows: the kernel density target of X (target=None) costs per iteration
    # in proportion to the rows, and reproducibility does not depend on them
    X = np.random.RandomState(0).randn(12, 2) * [1.0, 3.0]
    a = VariationalGMMTarget(max_iter=30, random_state=3).fit(X)
    b = VariationalGMMTarget(max_iter=30, random_state=3).fit(X)
    c = VariationalGMMTarget(max_iter=30, random_state=4).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)
    np.testing.assert_array_equal(a.elbo_history_, b.elbo_history_)
    assert not np.array_equal(a.means_, c.means_)


def test_pickle_and_clone(gaussian_fit):
    _, vi = gaussian_fit
    X = np.random.RandomState(0).randn(7, 5)
    restored = pickle.loads(pickle.dumps(vi))
    np.testing.assert_array_equal(restored.score_samples(X), vi.score_samples(X))
    assert restored.elbo(1000) == vi.elbo(1000)
    fresh = clone(vi)
    assert not hasattr(fresh, "means_")
    assert fresh.get_params()["max_iter"] == 100


def test_X_places_the_initial_components():
    target = gaussian_d5()
    X = np.random.RandomState(0).randn(50, 5) + target.mean
    vi = VariationalGMMTarget(target, n_components=3, max_iter=0, random_state=0).fit(X)
    assert vi.n_features_in_ == 5 and vi.n_components_ == 3
    assert all(any(np.array_equal(m, row) for row in X) for m in vi.means_)
    np.testing.assert_allclose(vi.covariances_[0], np.diag(np.var(X, axis=0)))


def test_callback_sees_every_iteration_and_can_stop():
    seen = []

    def callback(info):
        seen.append(info)
        return info["iteration"] == 7

    X = np.random.RandomState(0).randn(30, 2)
    vi = VariationalGMMTarget(max_iter=20, callback=callback, random_state=0).fit(X)
    assert [i["iteration"] for i in seen] == list(range(1, 8))
    assert vi.n_iter_ == 7
    assert seen[-1]["n_target_evaluations"] == vi.n_target_evaluations_
    assert set(seen[0]) == {"iteration", "elbo", "n_components", "n_target_evaluations"}
    assert [i["n_components"] for i in seen] == vi.n_components_history_.tolist()
    assert [i["elbo"] for i in seen] == vi.elbo_history_.tolist()


def test_verbose_prints_progress():
    X = np.random.RandomState(0).randn(30, 2)
    out = io.StringIO()
    with redirect_stdout(out):
        # (tol=None: this kernel density start is exact, the stopping rule would end it at 10)
        VariationalGMMTarget(max_iter=20, tol=None, verbose=1, verbose_interval=10,
                             random_state=0).fit(X)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) == 3  # two progress lines, then the diagnostics of the fit
    assert "iteration 20/20" in lines[-2] and "ELBO" in lines[-2]
    assert "components" in lines[-2] and "target evaluations" in lines[-2]
    assert "Pareto k" in lines[-1] and "log Z" in lines[-1]


def test_reused_samples_give_the_same_answer_with_fewer_evaluations():
    target = gaussian_d5()
    fresh = VariationalGMMTarget(target, max_iter=100, adaptive_components=False,
                                 random_state=0).fit()
    reused = VariationalGMMTarget(target, max_iter=100, ratio_reused=1.0,
                                  adaptive_components=False, random_state=0).fit()
    assert relative_error(reused.means_[0], target.mean) < 0.02
    assert relative_error(reused.covariances_[0], target.covariance) < 0.02
    assert abs(reused.elbo(20000) - target.log_z()) < 0.02
    # once q has converged, re-used samples are nearly as good as new ones
    assert reused.n_target_evaluations_ < 0.5 * fresh.n_target_evaluations_


def test_reuse_with_adaptive_components_finds_every_mode():
    target = four_mode_target()
    vi = VariationalGMMTarget(target, max_iter=150, n_samples_per_component=100,
                              ratio_reused=1.0, component_stepsize=0.1, add_iters=10,
                              random_state=0).fit()
    for mode in target.means:
        assert np.min(np.linalg.norm(vi.means_ - mode, axis=1)) < 0.5, mode
    assert -vi.elbo(20000) < 0.05


def test_per_feature_init_scale():
    target = gaussian_d5()
    scale = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    vi = VariationalGMMTarget(target, max_iter=0, init_scale=scale, init="prior").fit()
    np.testing.assert_allclose(vi.covariances_[0], np.diag(scale**2))
    with pytest.raises(ValueError, match="init_scale must"):
        VariationalGMMTarget(target, max_iter=0, init_scale=[1.0, 2.0]).fit()


@pytest.mark.parametrize("shape", [(3, 5), (1, 5), (1, 1, 5)])
def test_an_init_mean_of_the_wrong_shape_is_named(shape):
    # a (K', D) init_mean with K' != n_components was reported as scikit-learn's
    # "The parameter 'means' should have the shape of (2, 5)"
    with pytest.raises(ValueError, match=r"init_mean must have shape \(5,\) or \(2, 5\); "
                       rf"got \({', '.join(map(str, shape))},?\)"):
        VariationalGMMTarget(gaussian_d5(), n_components=2, max_iter=0, init="prior",
                             init_mean=np.zeros(shape)).fit()


def test_temperature_widens_q_to_the_tempered_target():
    """With ELBO = E_q[log p~] + beta H(q), the optimum is q ∝ p~^(1/beta): for a
    Gaussian target, the same mean and beta times the covariance."""
    target = gaussian_d5()
    vi = VariationalGMMTarget(target, max_iter=100, temperature=2.0,
                              adaptive_components=False, random_state=0).fit()
    assert relative_error(vi.means_[0], target.mean) < 0.02
    assert relative_error(vi.covariances_[0], 2.0 * target.covariance) < 0.02


def test_one_trace_serves_new_dimensions_capacities_and_settings():
    from skgmmvi._tf.compile_cache import COMPILED
    from skgmmvi._tf.vi import design

    rng = np.random.RandomState(0)
    VariationalGMMTarget(max_iter=3, random_state=0).fit(rng.randn(20, 2))
    samtron = design.design_from_code("SAMTRON")
    chunk_functions = COMPILED.functions(
        lambda key: key[:2] == ("vi", "chunk") and key[-1][-1] == "KernelDensityTarget"
        and key[4] is False and key[5] == "float64" and key[3] is False and key[2] == samtron)
    assert len(chunk_functions) == 1
    before = chunk_functions[0].experimental_get_tracing_count()
    VariationalGMMTarget(n_components=3, max_iter=60, add_iters=5, n_samples_per_component=20,
                         component_stepsize=0.3, random_state=1).fit(rng.randn(30, 4))
    VariationalGMMTarget(max_iter=5, random_state=2).fit(rng.randn(25, 1))
    assert chunk_functions[0].experimental_get_tracing_count() == before


def test_exact_proposal_is_recognised_only_at_rounding_level():
    """The stopping rule's exactness check: ELBO estimates of fresh samples that agree
    to rounding (relative to their size, per dtype) mean q is the target; any
    Monte-Carlo spread, however small against a plateau's noise, does not."""
    from skgmmvi.vi import proposal_exact

    rng = np.random.RandomState(0)
    rounding = 1e-16 * rng.standard_normal(10)
    assert proposal_exact(list(rounding), 10, "float64")
    assert proposal_exact(list(-1234.5 + 1234.5 * rounding), 10, "float64")
    assert not proposal_exact(list(rounding[:9]), 10, "float64")  # too few to judge
    assert not proposal_exact(list(1e-9 * rng.standard_normal(10)), 10, "float64")
    assert not proposal_exact(list(-78.9 + 1e-3 * rng.standard_normal(10)), 10, "float64")
    float32_rounding = list(-5.0 + 5e-7 * rng.standard_normal(10))
    assert proposal_exact(float32_rounding, 10, "float32")
    assert not proposal_exact(float32_rounding, 10, "float64")


@pytest.mark.slow
def test_ctrl_c_stops_a_vi_fit_within_a_second_and_keeps_the_last_fit():
    """KeyboardInterrupt between compiled chunks: the fit stops at once and the
    estimator keeps its previous fitted state, bit for bit."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen([sys.executable, os.path.join(root, "tests", "scripts",
                                                           "vi_interrupt.py")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reports = []
    try:
        for line in child.stdout:
            if line.startswith("ready"):
                time.sleep(1.5)  # inside the fit's iterations (its start takes less)
                sent = time.perf_counter()
                child.send_signal(signal.SIGINT)
            elif line.startswith("{"):
                reports.append(dict(json.loads(line), latency=time.perf_counter() - sent))
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert len(reports) == 1, child.stderr.read()[-2000:]
    report = reports[0]
    print(report)  # shown with -s: the measured latency
    assert report["interrupted"] and report["unchanged"] and report["n_iter"] == 3, report
    assert report["latency"] < 2.0, report  # about a second, on a loaded machine


def test_time_slices_change_no_number_of_the_search_or_the_fit(monkeypatch):
    """The mode search and the iterations run as compiled calls of about
    SLICE_SECONDS each (for Ctrl-C); with every call cut to one iteration the
    start and the fit are bit for bit the same."""
    from skgmmvi._tf import time_slices

    target = GaussianMixtureTestTarget([0.3, 0.7], [[-6.0, 2.0], [5.0, -1.0]],
                                       [np.eye(2), 0.5 * np.eye(2)])

    def fit():
        return VariationalGMMTarget(target, max_iter=30, random_state=0).fit()
    whole = fit()
    calls = []
    monkeypatch.setattr(time_slices, "SLICE_SECONDS", 0.0)  # one iteration per call
    monkeypatch.setattr(time_slices.SliceClock, "stop",
                        lambda clock, n_steps: calls.append(n_steps) or setattr(
                            clock, "seconds_per_step", 1.0))
    sliced = fit()
    assert len(calls) > 30 and set(calls) == {1}  # search and fit, one iteration each
    assert whole.mode_search_ == sliced.mode_search_
    for name in ("weights_", "means_", "covariances_", "elbo_history_"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(sliced, name))
