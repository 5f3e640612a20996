"""The unified design space of VariationalGMMTarget (issue 5): all 432 code
words, the module options added to SAMTRON's, and their selection."""

import itertools

import numpy as np
import pytest

pytest.importorskip("tensorflow")
import tensorflow as tf  # noqa: E402

from skgmmvi import VariationalGMMTarget  # noqa: E402
from skgmmvi._tf.compile_cache import COMPILED  # noqa: E402
from skgmmvi._tf.vi import component_update, design, mixture  # noqa: E402
from skgmmvi._tf.vi import ng_estimation, sample_selection, weight_update  # noqa: E402
from skgmmvi.targets import Target  # noqa: E402

from helpers import GaussianTestTarget, gaussian_batch, random_spd, state_of  # noqa: E402
from helpers import vi_hyperparameters  # noqa: E402

HYPER = vi_hyperparameters()
CODE_WORDS = ["".join(letters) for letters in itertools.product(
    *(list(letters) for letters in design.CODE_LETTERS.values()))]
TARGET_2D = GaussianTestTarget([1.0, -1.0], [[2.0, 0.5], [0.5, 1.0]])


def test_there_are_432_code_words():
    assert len(CODE_WORDS) == len(set(CODE_WORDS)) == 432
    assert {"SAMTRON", "ZAMTRUX", "SEPYFUX", "SEPIFUX"} <= set(CODE_WORDS)


@pytest.fixture(scope="module")
def switched():
    """Fits inside compile one switched iteration for all designs.

    Module scope on purpose: the switch stays on for the rest of this module, so
    its later fits share switched compilations too (and the ZEPIFUX/full and
    /diag tests pay the two compilations of the sweep). Measured on the whole
    module (load 5-9): per-test switching, every later fit compiled
    specialised, took 125 CPU-s instead of 86. Specialised compilation is what
    the other test modules run."""
    with design.all_options_compiled():
        yield


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("code", CODE_WORDS)
def test_every_code_word_runs_three_iterations(switched, code, covariance_type):
    """Starts from a prior about the target's mean (init='prior'): the iteration
    modules are under test here, the mode search of init='auto' is tested once in
    test_vi_init.py, and skipping it saves a quarter of the sweep's CPU time."""
    vi = VariationalGMMTarget(TARGET_2D, n_components=2, algorithm=code,
                              covariance_type=covariance_type, max_iter=3,
                              n_samples_per_component=20, component_stepsize=0.1,
                              add_iters=2, init="prior", init_mean=TARGET_2D.mean,
                              init_scale=1.0, random_state=0).fit()
    assert vi.design_code_ == code
    if code[1] == "A":  # adaptive: a component was added at iteration 2
        assert vi.n_components_ == 3
    assert vi.n_iter_ == 3 and np.all(np.isfinite(vi.elbo_history_))
    assert np.all(np.isfinite(vi.means_)) and np.all(np.isfinite(vi.weights_))
    assert np.all(np.linalg.eigvalsh(vi.covariances_ if covariance_type == "full"
                                     else np.array([np.diag(c) for c in vi.covariances_]))
                  > 0)
    assert vi.n_target_evaluations_ > 0


def test_switched_compilation_traces_once_for_all_designs(switched):
    """After the parametrised test, one chunk function per covariance type."""
    VariationalGMMTarget(TARGET_2D, algorithm="ZEPIDUG", max_iter=2,
                         n_samples_per_component=10, random_state=0).fit()
    functions = COMPILED.functions(
        lambda key: key[:3] == ("vi", "chunk", "switched") and key[3] is False
        and key[-1][2] == "GaussianTestTarget")
    assert len(functions) == 1
    function = functions[0]
    before = function.experimental_get_tracing_count()
    for code in ("SAMTRON", "ZAPYDOG", "SEMIFUX"):
        VariationalGMMTarget(TARGET_2D, algorithm=code, max_iter=2,
                             n_samples_per_component=10, random_state=0).fit()
    assert function.experimental_get_tracing_count() == before


# ------------------------------------------------ convergence of each update
GAUSSIAN_3D = GaussianTestTarget([1.0, -2.0, 0.5], [[2.0, 0.6, 0.0], [0.6, 1.0, -0.3],
                                                    [0.0, -0.3, 0.5]])


def relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


UPDATE_SETTINGS = {
    # the trust region bounds KL per step; direct and iblr take decaying learning rates
    "trust-region": dict(component_stepsize=0.05, component_stepsize_schedule="improvement"),
    "direct": dict(component_stepsize=0.5, component_stepsize_schedule="decaying"),
    "iblr": dict(component_stepsize=0.5, component_stepsize_schedule="decaying"),
}


@pytest.mark.parametrize("estimator", ["stein", "more"])
@pytest.mark.parametrize("update", ["trust-region", "direct", "iblr"])
def test_each_component_update_converges_to_the_exact_posterior(update, estimator):
    target = GAUSSIAN_3D
    vi = VariationalGMMTarget(target, algorithm="SEMTRUX", ng_estimation=estimator,
                              component_update=update, max_iter=150,
                              n_samples_per_component=300, init_scale=2.0,
                              random_state=0, **UPDATE_SETTINGS[update]).fit()
    assert vi.design_["component_update"] == update
    assert vi.design_["ng_estimation"] == estimator
    assert relative_error(vi.means_[0], target.mean) < 0.05
    assert relative_error(vi.covariances_[0], target.covariance) < 0.05


# ------------------------------------------------------- unit tests of options
def test_iblr_keeps_covariances_positive_definite_under_large_steps():
    rng = np.random.RandomState(0)
    d, k = 3, 4
    means = rng.randn(k, d)
    covs = np.array([random_spd(rng, d) for _ in range(k)])
    state = state_of(means, covs)
    state["n_updates"] = tf.constant(np.ones(k, np.int32))
    # Hessians with large positive eigenvalues: Lambda - s H is indefinite
    hessians = np.array([np.linalg.inv(c) + 20.0 * np.eye(d) for c in covs])
    estimates = {"grad": tf.constant(rng.randn(k, d)), "hessian": tf.constant(hessians),
                 "has_samples": tf.constant(np.ones(k, bool))}
    for s in (1.0, 10.0, 1e3):
        stepsizes = tf.constant(np.full(k, s))
        out, kl = component_update.IblrComponentUpdate().update(state, HYPER, estimates,
                                                                stepsizes)
        precisions = (out["prec_chol"] @ tf.linalg.matrix_transpose(out["prec_chol"])).numpy()
        assert np.all(np.linalg.eigvalsh(precisions) > 0)
        assert np.all(np.isfinite(out["means"].numpy())) and np.all(kl.numpy() > 0)
        # the update follows the formula Lambda - s H + s^2/2 H Sigma H
        expected = np.array([np.linalg.inv(c) - s * h + 0.5 * s**2 * h @ c @ h
                             for c, h in zip(covs, hessians)])
        np.testing.assert_allclose(precisions, expected, rtol=1e-8)
        # direct rejects the same (indefinite) update and keeps the old components
        out, kl = component_update.DirectComponentUpdate().update(state, HYPER, estimates,
                                                                  stepsizes)
        np.testing.assert_array_equal(out["means"].numpy(), means)
        np.testing.assert_array_equal(out["prec_chol"].numpy(), state["prec_chol"].numpy())
        assert np.all(kl.numpy() == 0)


@pytest.mark.parametrize("update", ["iblr", "direct"])
def test_large_learning_rates_keep_the_fit_positive_definite(update):
    """A learning rate of 5 overshoots badly: iblr stays positive definite by
    construction, direct rejects the updates that would not be; either way the
    fit ends with finite, positive definite components."""
    vi = VariationalGMMTarget(TARGET_2D, n_components=3, algorithm="SEPYFUX",
                              component_update=update, component_stepsize=5.0,
                              max_iter=20, n_samples_per_component=30,
                              random_state=0).fit()
    assert np.all(np.isfinite(vi.means_)) and np.all(np.isfinite(vi.covariances_))
    assert np.all(np.linalg.eigvalsh(vi.precisions_) > 0)


def test_iblr_leaves_the_mean_on_a_first_update():
    state = state_of(np.zeros((2, 2)), np.array([np.eye(2), np.eye(2)]))
    state["n_updates"] = tf.constant([0, 3], tf.int32)
    estimates = {"grad": tf.constant(np.ones((2, 2))),
                 "hessian": tf.constant(-0.5 * np.array([np.eye(2), np.eye(2)])),
                 "has_samples": tf.constant([True, True])}
    out, _ = component_update.IblrComponentUpdate().update(
        state, HYPER, estimates, tf.constant([0.1, 0.1], tf.float64))
    assert np.all(out["means"].numpy()[0] == 0) and np.all(out["means"].numpy()[1] > 0)


def test_direct_update_applies_the_formula_and_rejects_only_bad_components():
    rng = np.random.RandomState(1)
    d = 2
    covs = np.array([random_spd(rng, d), random_spd(rng, d)])
    means = rng.randn(2, d)
    state = state_of(means, covs)
    grads = rng.randn(2, d)
    hessians = np.array([-np.eye(d), np.linalg.inv(covs[1]) + 5 * np.eye(d)])
    out, _ = component_update.DirectComponentUpdate().update(
        state, HYPER, {"grad": tf.constant(grads), "hessian": tf.constant(hessians),
                       "has_samples": tf.constant([True, True])},
        tf.constant([0.3, 1.0], tf.float64))
    new_precision = np.linalg.inv(covs[0]) + 0.3 * np.eye(d)
    new_linear = np.linalg.inv(covs[0]) @ means[0] + 0.3 * (grads[0] + means[0])
    np.testing.assert_allclose(out["means"].numpy()[0],
                               np.linalg.solve(new_precision, new_linear), rtol=1e-10)
    chol = out["prec_chol"].numpy()[0]
    np.testing.assert_allclose(chol @ chol.T, new_precision, rtol=1e-10)
    np.testing.assert_array_equal(out["means"].numpy()[1], means[1])  # rejected


def test_more_recovers_a_quadratic_exactly():
    """One component, Gaussian target: log p~ - log q is quadratic, so the
    regression is exact: g = -P (m - mu), H = -P + Sigma^{-1}."""
    rng = np.random.RandomState(2)
    d = 4
    target_mean, target_precision = rng.randn(d), np.linalg.inv(random_spd(rng, d))
    mean, cov = rng.randn(d), random_spd(rng, d, 0.5)
    state = state_of(mean[None], cov[None])
    state["more_log_ridge"] = tf.constant(np.log([1e-12]))
    x = rng.multivariate_normal(mean, cov, size=200)
    hyper = dict(HYPER, more_ridge_min=tf.constant(1e-14, tf.float64),
                 more_ridge_max=tf.constant(1e3, tf.float64),
                 n_samples_per_component=tf.constant(100))
    new_state, est = ng_estimation.MoreEstimator().estimate_and_update(
        state, hyper, gaussian_batch(state, x, target_mean, target_precision, [200]))
    np.testing.assert_allclose(est["grad"].numpy()[0],
                               -target_precision @ (mean - target_mean), atol=1e-6)
    np.testing.assert_allclose(est["hessian"].numpy()[0],
                               -target_precision + np.linalg.inv(cov), atol=1e-6)
    assert new_state["more_log_ridge"].numpy()[0] < np.log(1e-12)  # success: shrinks


def test_more_agrees_with_stein_on_two_components():
    rng = np.random.RandomState(3)
    d = 2
    target_mean, target_precision = rng.randn(d), np.linalg.inv(random_spd(rng, d))
    means = np.array([rng.randn(d), rng.randn(d) + 2.0])
    covs = np.array([random_spd(rng, d, 0.7), random_spd(rng, d, 1.0)])
    state = state_of(means, covs, weights=[0.4, 0.6])
    state["more_log_ridge"] = tf.constant(np.log([1e-10, 1e-10]))
    n = 50_000
    x = np.vstack([rng.multivariate_normal(means[k], covs[k], size=n) for k in (0, 1)])
    batch = gaussian_batch(state, x, target_mean, target_precision, [n, n])
    hyper = dict(HYPER, more_ridge_min=tf.constant(1e-14, tf.float64),
                 more_ridge_max=tf.constant(1e3, tf.float64),
                 n_samples_per_component=tf.constant(n))
    more = ng_estimation.MoreEstimator().estimate(state, hyper, batch)
    stein = ng_estimation.SteinEstimator().estimate(state, HYPER, batch)
    for key in ("grad", "hessian"):
        a, b = more[key].numpy(), stein[key].numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=0.1 * np.abs(b).max())
    np.testing.assert_allclose(more["reward"].numpy(), stein["reward"].numpy())


def test_more_uses_the_samples_of_largest_weight():
    """With many samples, a component regresses on its M = max(3P, 2n) heaviest
    ones: still exact on a quadratic, and far samples of another component
    (negligible weight) are left out."""
    rng = np.random.RandomState(4)
    d = 2
    target_mean, target_precision = rng.randn(d), np.eye(d)
    means = np.array([[0.0, 0.0], [50.0, 0.0]])
    state = state_of(means, np.array([np.eye(d)] * 2), weights=[0.5, 0.5])
    state["more_log_ridge"] = tf.constant(np.log([1e-12, 1e-12]))
    x = np.vstack([rng.randn(300, d) + m for m in means])
    hyper = dict(HYPER, more_ridge_min=tf.constant(1e-14, tf.float64),
                 more_ridge_max=tf.constant(1e3, tf.float64),
                 n_samples_per_component=tf.constant(100))
    est = ng_estimation.MoreEstimator().estimate(
        state, hyper, gaussian_batch(state, x, target_mean, target_precision, [300, 300]))
    # log p - log q is quadratic near each component (q(x|other) ~ 0 there)
    for k in (0, 1):
        np.testing.assert_allclose(est["hessian"].numpy()[k], -target_precision + np.eye(d),
                                   atol=1e-5)
        np.testing.assert_allclose(est["grad"].numpy()[k],
                                   -target_precision @ (means[k] - target_mean), atol=1e-4)


def test_direct_weight_update_formula():
    log_w = np.log([0.2, 0.3, 0.5])
    state = {"log_weights": tf.constant(np.append(log_w, mixture.LOG_WEIGHT_FLOOR)),
             "active": tf.constant([True, True, True, False])}
    reward = np.array([1.0, -2.0, 0.5, 100.0])
    out, kl = weight_update.DirectWeightUpdate().update(
        state, {"temperature": tf.constant(2.0, tf.float64)},
        {"reward": tf.constant(reward)}, tf.constant(0.4, tf.float64))
    expected = log_w + 0.2 * reward[:3]
    expected -= np.logaddexp.reduce(expected)
    np.testing.assert_allclose(out["log_weights"].numpy()[:3], expected, rtol=1e-12)
    assert kl.numpy() > 0


def test_mixture_sample_selection_draws_from_the_weights():
    state = state_of(np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]),
                     np.array([np.eye(2)] * 3), weights=[0.7, 0.3 - 1e-9, 1e-9])
    hyper = {"n_samples_per_component": tf.constant(2000)}
    _, x, component = sample_selection.MixtureSampleSelection(False).propose(
        state, hyper, tf.constant([1, 2], tf.int32))
    counts = np.bincount(component.numpy(), minlength=3)
    assert counts.sum() == 6000 and counts[2] == 0
    assert abs(counts[0] / 6000 - 0.7) < 0.03
    # the sample of each component is near its mean
    assert np.all(np.abs(x.numpy()[component.numpy() == 1].mean(axis=0) - [10, 0]) < 0.2)


@pytest.mark.parametrize("code", ["SEPYFUX", "SEPTRON", "ZAPTRUX"])
def test_mixture_selection_reuses_database_samples(code):
    """Re-use (ratio_reused > 0) with mixture sampling draws fewer new samples
    and still converges."""
    fits = [VariationalGMMTarget(TARGET_2D, algorithm=code, ratio_reused=ratio,
                                 max_iter=80, n_samples_per_component=100,
                                 component_stepsize=0.1, init_scale=2.0,
                                 random_state=0).fit() for ratio in (0.0, 1.0)]
    assert fits[1].n_target_evaluations_ < 0.8 * fits[0].n_target_evaluations_
    for vi in fits:
        mean = vi.weights_ @ vi.means_
        np.testing.assert_allclose(mean, TARGET_2D.mean, atol=0.1)


def test_decaying_stepsizes_follow_the_schedule():
    vi = VariationalGMMTarget(TARGET_2D, algorithm="SEMIDUG", max_iter=20,
                              component_stepsize=0.3, weight_stepsize=0.2,
                              random_state=0).fit()
    assert vi.design_ == {"ng_estimation": "stein", "component_adaptation": "fixed",
                          "sample_selection": "component", "component_update": "direct",
                          "component_stepsize": "decaying", "weight_update": "direct",
                          "weight_stepsize": "decaying"}
    from skgmmvi._tf.vi import component_stepsize, weight_stepsize

    state = {"component_stepsize": tf.constant([0.3, 0.3], tf.float64),
             "n_updates": tf.constant([0, 9], tf.int32),
             "weight_stepsize": tf.constant(0.2, tf.float64),
             "iteration": tf.constant(16, tf.int32)}
    hyper = {"component_stepsize": tf.constant(0.3, tf.float64),
             "component_stepsize_decay": tf.constant(0.55, tf.float64),
             "weight_stepsize": tf.constant(0.2, tf.float64),
             "weight_stepsize_decay": tf.constant(0.55, tf.float64)}
    _, steps = component_stepsize.DecayingComponentStepsize().step(state, hyper, {})
    np.testing.assert_allclose(steps.numpy(), [0.3, 0.3 / (1 + 9**0.55)])
    _, step = weight_stepsize.DecayingWeightStepsize().step(state, hyper,
                                                             {"elbo": tf.constant(0.0,
                                                                                  tf.float64)})
    assert step.numpy() == pytest.approx(0.2 / (1 + 16**0.55))


# ------------------------------------------------------------- configuration
@pytest.mark.parametrize("name, code", [("samtron", "SAMTRON"), ("vips", "ZAMTRUX"),
                                        ("ibayes", "SEPYFUX"), ("lin2019", "SEPIFUX"),
                                        ("SAMYRUX", "SAMYRUX"), ("zamtrux", "ZAMTRUX")])
def test_named_settings_and_code_words(name, code):
    vi = VariationalGMMTarget(TARGET_2D, algorithm=name, max_iter=2,
                              n_samples_per_component=10, random_state=0).fit()
    assert vi.design_code_ == code
    assert vi.design_ == design.design_from_code(code)._asdict()


def test_module_parameters_override_the_preset():
    vi = VariationalGMMTarget(TARGET_2D, algorithm="vips", component_update="iblr",
                              weight_stepsize_schedule="decaying", max_iter=2,
                              n_samples_per_component=10, random_state=0).fit()
    assert vi.design_code_ == "ZAMYRUG"
    vi = VariationalGMMTarget(TARGET_2D, algorithm="vips", adaptive_components=False,
                              max_iter=2, n_samples_per_component=10, random_state=0).fit()
    assert vi.design_code_ == "ZEMTRUX"


@pytest.mark.parametrize("algorithm, message", [
    ("SAMQRON", "Letter 4 of the code word 'SAMQRON' is 'Q'; letter 4 selects the "
                "component_update option and must be one of: I (direct), Y (iblr), "
                "T (trust-region)"),
    ("SAMTRO", "A code word has 7 letters"),
    ("bayes", "neither a named setting"),
])
def test_bad_algorithm_names_the_wrong_letter(algorithm, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        VariationalGMMTarget(TARGET_2D, algorithm=algorithm, max_iter=1).fit()


def test_bad_module_option_and_conflict_raise():
    with pytest.raises(ValueError, match="component_update"):
        VariationalGMMTarget(TARGET_2D, component_update="trust_region", max_iter=1).fit()
    with pytest.raises(ValueError, match="contradicts"):
        VariationalGMMTarget(TARGET_2D, adaptive_components=False,
                             component_adaptation="adaptive", max_iter=1).fit()


class GradientFreeGaussian(Target):
    """A numpy target that returns no gradient."""

    uses_tensorflow = False
    n_features = 2

    def log_density_and_grad(self, x):
        diff = x - np.array([1.0, -1.0])
        return -0.5 * np.sum(diff**2 / np.array([2.0, 0.5]), axis=1), None


class NumpyLogDensityGaussian(Target):
    """The same density as a numpy target that defines ``log_density`` only (a
    black box without gradients): it fitted nothing before 2026-12-07, failing with
    an AttributeError from inside TensorFlow's gradient tape."""

    uses_tensorflow = False
    n_features = 2

    def log_density(self, x):
        diff = x - np.array([1.0, -1.0])
        return -0.5 * np.sum(diff**2 / np.array([2.0, 0.5]), axis=1)


@pytest.mark.parametrize("target_class, method", [
    (GradientFreeGaussian, "log_density_and_grad"), (NumpyLogDensityGaussian, "log_density")])
def test_more_fits_a_numpy_target_without_gradients(target_class, method):
    vi = VariationalGMMTarget(target_class(), algorithm="ZEMTRUX", max_iter=60,
                              n_samples_per_component=100, init_scale=2.0,
                              component_stepsize=0.1, random_state=0).fit()
    np.testing.assert_allclose(vi.means_[0], [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.diag(vi.covariances_[0]), [2.0, 0.5], rtol=0.05)
    with pytest.raises(ValueError, match=(
            rf"{target_class.__name__}\.{method} gives no gradient.*need target gradients"
            r".*Define log_density_and_grad.*ng_estimation='more'")):
        VariationalGMMTarget(target_class(), max_iter=2).fit()


# ------------------------------------- options own their identity and state
def _interface_of(python_module):
    from skgmmvi._tf.vi.option import OptionInterface

    interfaces = [value for value in vars(python_module).values()
                  if isinstance(value, type) and OptionInterface in value.__mro__[1:]
                  and getattr(value, "_is_protocol", False)]
    assert len(interfaces) == 1, python_module.__name__
    return interfaces[0]


@pytest.mark.parametrize("module", list(design.MODULES))
def test_every_option_implements_its_module_interface(module):
    _, python_module = design.MODULES[module]
    interface = _interface_of(python_module)
    methods = [name for name, value in vars(interface).items()
               if callable(value) and not name.startswith("_")]
    assert methods, interface
    for option in python_module.OPTIONS:
        assert isinstance(option.name, str) and len(option.code) == 1, option
        for method in methods:
            assert callable(getattr(option, method, None)), (option, method)
    letters = [option.code for option in python_module.OPTIONS]
    assert len(set(letters)) == len(letters)


def test_tables_are_derived_from_the_option_classes():
    from skgmmvi.vi import MODULE_CHOICES

    for module, (parameter, python_module) in design.MODULES.items():
        names = [option.name for option in python_module.OPTIONS]
        assert list(design.MODULE_OPTIONS[module]) == names
        assert design.CODE_LETTERS[module] == {o.code: o.name for o in python_module.OPTIONS}
        assert design.MODULE_PARAMETERS[parameter] == module
        assert MODULE_CHOICES[parameter] == set(names)


@pytest.mark.parametrize("compiled", ["SAMTRON", "SEPIDUG", "switched"])
def test_option_state_grows_with_the_capacity(compiled):
    """Initial state at capacity 3 grown to 7 has the shapes of an initial state
    at 7, keeps the existing slots and gives the new ones the initial values."""
    from skgmmvi._tf.vi.option import StateSetup

    hyper = dict(design.HYPER_DEFAULTS, component_stepsize=0.05, weight_stepsize=0.1,
                 n_samples_per_component=5, del_iters=12)
    setup = StateSetup(hyper, np.dtype("float64"), 2, 1.5)
    options = design.state_options(compiled if compiled == "switched"
                                   else design.design_from_code(compiled))
    small, large = {"active": np.ones(3, bool)}, {}
    for option in options:
        small.update(option.initial_state(setup, 3))
        large.update(option.initial_state(setup, 7))
    grown = {}
    for option in options:
        grown.update(option.grown_state(small, setup, 7))
    assert set(grown) == set(large) - {"active"}
    for key, value in grown.items():
        assert value.shape == large[key].shape and value.dtype == large[key].dtype, key
    for key in ("component_stepsize", "last_reward"):
        np.testing.assert_array_equal(grown[key][3:], large[key][3:])
    if compiled == "switched":  # every option's keys are there
        assert {"log_eta", "more_log_ridge", "reward_history", "n_add_calls"} <= set(grown)
    if compiled == "SEPIDUG":  # no trust region, no MORE, no adaptation: no such keys
        assert not {"log_eta", "more_log_ridge", "reward_history"} & set(grown)


def test_switched_compilation_is_local_to_a_thread():
    import threading

    samtron = design.design_from_code("SAMTRON")
    before = design.compiled_design(samtron)  # the module's `switched` fixture may be on
    seen = []
    with design.all_options_compiled():
        worker = threading.Thread(target=lambda: seen.append(design.compiled_design(samtron)))
        worker.start()
        worker.join()
        assert design.compiled_design(samtron) == "switched"
    assert seen == [samtron]  # a new thread starts outside the context
    assert design.compiled_design(samtron) == before
