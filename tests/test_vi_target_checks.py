"""Targets that could be silently wrong are refused at their first evaluation
(issue 15, items 1, 3 and 13, and VI's part of item 12).

Before the NG-VI loop compiles, the target is evaluated once on a few draws of
the initial components: a missing gradient path, values or gradients of the
wrong shape or dtype, numpy calls on symbolic tensors and float32 constants in a
float64 fit each raise an error that names the target and says what to do. And
every bundled target passes its arrays through the public ``graph_parameters`` /
``log_density_with`` hook, so new instances re-use one compiled graph.
"""

import numpy as np
import pytest
import tensorflow as tf

from skgmmvi import VariationalGMMTarget
from skgmmvi.diagnostics import PoorFitWarning
from skgmmvi.targets import (BananaTarget, FunnelTarget, GaussianMixtureTarget,
                             GaussianTarget, KernelDensityTarget, LogisticRegressionPosterior,
                             MixtureModelPosterior, PlanarRobotTarget,
                             StudentTMixtureTarget, Target)

CENTRE = np.array([3.0, 3.0])


def quick(target, **kwargs):
    """An estimator that fails (or fits) fast."""
    options = dict(max_iter=5, n_samples_per_component=20, random_state=0)
    options.update(kwargs)
    return VariationalGMMTarget(target, **options)


def assert_fails_untouched(vi, error, match):
    """``fit`` raises ``error`` matching ``match`` and leaves ``vi`` unfitted."""
    with pytest.raises(error, match=match):
        vi.fit()
    assert not hasattr(vi, "means_")


# ------------------------------------------------ item 1: no gradient path
def _numpy_function_density(x):
    def quadratic(a):
        return (-0.5 * ((a - 3.0) ** 2).sum(1)).astype(a.dtype)
    return tf.reshape(tf.numpy_function(quadratic, [x], x.dtype), [-1])


class NumpyFunctionTarget(Target):
    """The issue's snippet: the density through tf.numpy_function."""
    n_features = 2

    def log_density(self, x):
        return _numpy_function_density(x)


class StopGradientTarget(Target):
    n_features = 2

    def log_density(self, x):
        return -0.5 * tf.reduce_sum(tf.stop_gradient(x - 3.0) ** 2, axis=1)


class IntegerCastTarget(Target):
    n_features = 2

    def log_density(self, x):
        rounded = tf.cast(tf.cast(100.0 * (x - 3.0), tf.int64), x.dtype) / 100.0
        return -0.5 * tf.reduce_sum(rounded ** 2, axis=1)


class ZeroGradientTarget(Target):
    """A custom gradient that claims zero although the values change."""
    n_features = 2

    def log_density(self, x):
        @tf.custom_gradient
        def value(x):
            return -0.5 * tf.reduce_sum((x - 3.0) ** 2, axis=1), lambda up: tf.zeros_like(x)
        return value(x)


@pytest.mark.parametrize("target_class", [NumpyFunctionTarget, StopGradientTarget,
                                          IntegerCastTarget, ZeroGradientTarget])
def test_a_target_without_gradient_path_raises_with_what_to_do(target_class):
    vi = VariationalGMMTarget(target_class(), max_iter=100, n_samples_per_component=50,
                              random_state=0)
    match = (f"{target_class.__name__}.log_density has no gradient path.*"
             "TensorFlow ops, or use ng_estimation='more'")
    assert_fails_untouched(vi, ValueError, match)


def test_a_gradient_free_target_fits_with_more():
    """MORE needs no gradient: the numpy_function target of the issue fits N([3,3], I)."""
    vi = VariationalGMMTarget(NumpyFunctionTarget(), ng_estimation="more", max_iter=100,
                              n_samples_per_component=50, adaptive_components=False,
                              random_state=0).fit()
    np.testing.assert_allclose(vi.means_[0], CENTRE, atol=0.1)
    np.testing.assert_allclose(vi.covariances_[0], np.eye(2), atol=0.15)


class NumpyNoGradientTarget(Target):
    n_features = 2
    uses_tensorflow = False

    def log_density_and_grad(self, x):
        return -0.5 * np.sum((x - CENTRE) ** 2, axis=1), None


def test_a_numpy_target_without_gradient_needs_more():
    assert_fails_untouched(quick(NumpyNoGradientTarget()), ValueError,
                           "NumpyNoGradientTarget.*ng_estimation='more'")
    vi = quick(NumpyNoGradientTarget(), ng_estimation="more").fit()
    assert np.all(np.isfinite(vi.means_))


# --------------------------------------------------- item 3: wrong shapes
class ScalarTarget(Target):
    n_features = 2

    def log_density(self, x):
        return -0.5 * tf.reduce_sum((x - 3.0) ** 2)


class ColumnTarget(Target):
    n_features = 2

    def log_density(self, x):
        return -0.5 * tf.reduce_sum((x - 3.0) ** 2, axis=1, keepdims=True)


class ElementwiseTarget(Target):
    n_features = 2

    def log_density(self, x):
        return -0.5 * (x - 3.0) ** 2


class OneTooManyTarget(Target):
    n_features = 2

    def log_density(self, x):
        value = -0.5 * tf.reduce_sum((x - 3.0) ** 2, axis=1)
        return tf.concat([value, value[:1]], axis=0)


@pytest.mark.parametrize("target_class, received", [
    (ScalarTarget, r"\(\)"), (ColumnTarget, r"\(5, 1\)"), (ElementwiseTarget, r"\(5, 2\)"),
    (OneTooManyTarget, r"\(6,\)")])
def test_tensorflow_values_of_the_wrong_shape_name_target_and_shapes(target_class, received):
    match = (f"{target_class.__name__}.log_density returned values of shape {received} "
             r"for x of shape \(5, 2\); expected shape \(5,\)")
    assert_fails_untouched(quick(target_class()), ValueError, match)


class NumpyGradientTarget(Target):
    """A numpy Gaussian N([1, -2], I) whose output can be made malformed."""
    n_features = 2
    uses_tensorflow = False
    mean = np.array([1.0, -2.0])

    def __init__(self, transpose_grad=False, column_values=False, extra_value=False):
        self.transpose_grad = transpose_grad
        self.column_values = column_values
        self.extra_value = extra_value

    def log_density_and_grad(self, x):
        value = -0.5 * np.sum((x - self.mean) ** 2, axis=1)
        grad = -(x - self.mean)
        if self.column_values:
            value = value[:, None]
        if self.extra_value:
            value = np.append(value, 0.0)
        return value, (grad.T if self.transpose_grad else grad)


@pytest.mark.parametrize("options, match", [
    ({"transpose_grad": True}, r"a gradient of shape \(2, 5\) for x of shape \(5, 2\); "
                               r"expected shape \(5, 2\)"),
    ({"column_values": True}, r"values of shape \(5, 1\) for x of shape \(5, 2\); "
                              r"expected shape \(5,\)"),
    ({"extra_value": True}, r"values of shape \(6,\) for x of shape \(5, 2\)")])
def test_numpy_outputs_of_the_wrong_shape_are_not_reshaped(options, match):
    """The issue's (D, n) gradient used to be reshaped silently (mean [7.3, 4.6])."""
    assert_fails_untouched(quick(NumpyGradientTarget(**options)), ValueError,
                           "NumpyGradientTarget.log_density_and_grad returned " + match)


class NumpyColumnLogDensity(Target):
    """A numpy target defining only ``log_density``, returning a column (n, 1)."""

    uses_tensorflow = False
    n_features = 2

    def log_density(self, x):
        return -0.5 * np.sum(x**2, axis=1, keepdims=True)


def test_numpy_log_density_of_the_wrong_shape_names_the_method_the_user_wrote():
    assert_fails_untouched(quick(NumpyColumnLogDensity(), ng_estimation="more"), ValueError,
                           r"NumpyColumnLogDensity\.log_density returned values of shape "
                           r"\(5, 1\) for x of shape \(5, 2\); expected shape \(5,\)")


def test_a_well_formed_numpy_target_still_fits():
    vi = VariationalGMMTarget(NumpyGradientTarget(), max_iter=60, adaptive_components=False,
                              n_samples_per_component=50, init_scale=1.0,
                              random_state=0).fit()
    np.testing.assert_allclose(vi.means_[0], NumpyGradientTarget.mean, atol=0.1)


def test_the_first_evaluation_draws_with_n_rows_other_than_d():
    """With D = 5 rows, a transposed gradient would pass; the check then uses 6."""
    from skgmmvi._tf.vi.target_adapter import check_rows

    rows = check_rows(np.zeros((2, 5)), np.tile(np.eye(5), (2, 1, 1)), np.array([1, 2]))
    assert rows.shape == (6, 5)
    assert check_rows(np.zeros((1, 3)), np.eye(3)[None], np.array([1, 2])).shape == (5, 3)


# --------------------------------------------------------- item 3: dtypes
class Float32ConstantTarget(Target):
    n_features = 2

    def log_density(self, x):
        return -0.5 * tf.reduce_sum((x - tf.constant(3.0, tf.float32)) ** 2, axis=1)


class Float32ValuesTarget(Target):
    n_features = 2

    def log_density(self, x):
        return tf.cast(-0.5 * tf.reduce_sum((x - 3.0) ** 2, axis=1), tf.float32)


@pytest.mark.parametrize("target_class", [Float32ConstantTarget, Float32ValuesTarget])
def test_float32_inside_a_float64_fit_says_compute_in_x_dtype(target_class):
    assert_fails_untouched(quick(target_class()), TypeError,
                           f"{target_class.__name__}.*float64.*x.dtype")


def test_float32_fit_of_a_float32_safe_target_works():
    vi = quick(GaussianTarget(CENTRE, np.eye(2)), dtype="float32").fit()
    assert np.all(np.isfinite(vi.means_))


class NumpyOnSymbolicTarget(Target):
    n_features = 2

    def log_density(self, x):
        return -0.5 * np.sum((x - 3.0) ** 2, axis=1)


class DotNumpyTarget(Target):
    n_features = 2

    def log_density(self, x):
        x = x.numpy()
        return tf.constant(-0.5 * np.sum((x - 3.0) ** 2, axis=1))


@pytest.mark.parametrize("target_class", [NumpyOnSymbolicTarget, DotNumpyTarget])
def test_numpy_on_symbolic_tensors_says_how_to_write_a_numpy_target(target_class):
    assert_fails_untouched(quick(target_class()), TypeError,
                           f"{target_class.__name__}.log_density calls numpy.*"
                           "uses_tensorflow = False.*log_density_and_grad")


# ---------------------------------------------- plain functions, abstract class
def test_a_plain_function_says_how_to_wrap_it_in_public_terms():
    vi = VariationalGMMTarget(lambda x: -0.5 * tf.reduce_sum(x ** 2, axis=1), max_iter=5)
    with pytest.raises(TypeError, match="not a plain function") as info:
        vi.fit()
    message = str(info.value)
    assert "class MyTarget(Target)" in message and "def log_density(self, x)" in message
    assert "from skgmmvi.targets import Target" in message
    assert "_base" not in message and "._" not in message
    assert not hasattr(vi, "means_")


def test_target_is_abstract():
    with pytest.raises(TypeError, match="Can't instantiate Target.*log_density"):
        Target()

    class NoDensity(Target):
        n_features = 2

    with pytest.raises(TypeError, match="Can't instantiate NoDensity"):
        NoDensity()

    class NumpyWithoutDensity(Target):
        uses_tensorflow = False

    with pytest.raises(TypeError, match="log_density_and_grad"):
        NumpyWithoutDensity()


def test_the_one_trace_hook_needs_a_static_density():
    class MethodHook(Target):
        def graph_parameters(self):
            return (np.zeros(2),)

        def log_density_with(self, x, mean):  # not a staticmethod
            return -tf.reduce_sum((x - mean) ** 2, axis=1)

    with pytest.raises(TypeError, match="MethodHook defines graph_parameters.*@staticmethod"):
        MethodHook()


class HookedGaussian(Target):
    """A target written only through the public one-trace hook."""

    def __init__(self, mean):
        self.mean = np.asarray(mean, float)
        self.n_features = self.mean.size

    def graph_parameters(self):
        return (self.mean,)

    @staticmethod
    def log_density_with(x, mean):
        return -0.5 * tf.reduce_sum((x - tf.cast(mean, x.dtype)) ** 2, axis=1)


def test_a_hook_only_target_has_a_log_density_and_fits():
    target = HookedGaussian([1.0, 2.0])
    value = target.log_density(tf.constant([[1.0, 2.0], [2.0, 2.0]], tf.float64)).numpy()
    np.testing.assert_allclose(value, [0.0, -0.5])
    vi = VariationalGMMTarget(target, max_iter=60, adaptive_components=False,
                              n_samples_per_component=50, init_scale=1.0,
                              random_state=0).fit()
    np.testing.assert_allclose(vi.means_[0], target.mean, atol=0.1)


# ------------------------------------- item 13: no retrace per new instance
def _target_function(target):
    """The compiled target-only function of ``target``'s graph key."""
    from skgmmvi._tf.vi.compile import TargetEvaluator, compiled

    evaluator = TargetEvaluator(target, "float64")
    return evaluator, compiled("target", None, None, "float64", target, evaluator.signature,
                               {}, {}, evaluator.params)


INSTANCES = {
    "GaussianTarget": lambda i: GaussianTarget(np.arange(2 + i, dtype=float),
                                               np.eye(2 + i) * (1 + i)),
    "GaussianMixtureTarget": lambda i: GaussianMixtureTarget(2 + i, 2 + i, random_state=i),
    "StudentTMixtureTarget": lambda i: StudentTMixtureTarget(2 + i, 3, df=2 + i,
                                                             random_state=i),
    "BananaTarget": lambda i: BananaTarget(2 + i, curvature=0.1 * (i + 1)),
    "FunnelTarget": lambda i: FunnelTarget(2 + i, scale=1.0 + i),
    "LogisticRegressionPosterior": lambda i: LogisticRegressionPosterior(
        np.random.RandomState(i).randn(20 + i, 2 + i), np.arange(20 + i) % 2, 1.0 + i),
    "PlanarRobotTarget": lambda i: PlanarRobotTarget(3 + i, n_goals=[1, 4, 1][i]),
    "MixtureModelPosterior": lambda i: MixtureModelPosterior(
        np.random.RandomState(i).randn(5 + i), n_components=1 + i),
    "KernelDensityTarget": lambda i: KernelDensityTarget(np.random.RandomState(i).randn(
        10 + i, 2 + i)),
}


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_new_instances_of_a_bundled_target_reuse_one_trace(name):
    """Seeds, sizes and dimensions change; the compiled target graph does not."""
    targets = [INSTANCES[name](i) for i in range(3)]
    assert all(type(t).parameters_hook()[0] == "graph_parameters" for t in targets)
    evaluator, function = _target_function(targets[0])
    x = np.random.RandomState(0).randn(4, targets[0].n_features)
    evaluator(x)
    traces = function.experimental_get_tracing_count()
    for target in targets[1:]:
        evaluator, same = _target_function(target)
        assert same is function
        x = np.random.RandomState(1).randn(4, target.n_features)
        values = evaluator(x)
        reference = target.log_density_and_grad(x)[0]  # eager, no compiled graph
        np.testing.assert_allclose(values, reference, rtol=1e-12)
    assert function.experimental_get_tracing_count() == traces


def test_fits_over_seeds_and_sizes_reuse_the_compiled_iteration():
    """The issue's loop over bundled-target instances: one chunk trace in all."""
    from skgmmvi._tf.compile_cache import COMPILED
    from skgmmvi._tf.vi.design import design_from_code

    def fit(seed, n_features, n_modes):
        target = GaussianMixtureTarget(n_features, n_modes, random_state=seed)
        return VariationalGMMTarget(target, max_iter=3, n_samples_per_component=20,
                                    random_state=seed).fit()

    fit(0, 2, 2)
    chunks = COMPILED.functions(
        lambda key: key[:2] == ("vi", "chunk") and key[-1][-1] == "GaussianMixtureTarget"
        and key[2] == design_from_code("SAMTRON") and key[3] is False)
    assert len(chunks) == 1
    traces = chunks[0].experimental_get_tracing_count()
    for seed, n_features, n_modes in [(1, 3, 2), (2, 2, 4), (3, 4, 3)]:
        fit(seed, n_features, n_modes)
    assert chunks[0].experimental_get_tracing_count() == traces


class ShiftedGaussian(GaussianTarget):
    """A subclass of a bundled target that changes its density: its own
    log_density must be what is fitted, not the inherited hook."""

    def log_density(self, x):
        return super().log_density(x - tf.constant(2.0, x.dtype))


def test_a_subclass_overriding_log_density_is_not_served_by_the_inherited_hook():
    assert type(ShiftedGaussian(np.zeros(2), np.eye(2))).parameters_hook() is None
    vi = VariationalGMMTarget(ShiftedGaussian(np.zeros(2), np.eye(2)), max_iter=60,
                              adaptive_components=False, n_samples_per_component=50,
                              init_scale=1.0, random_state=0).fit()
    np.testing.assert_allclose(vi.means_[0], [2.0, 2.0], atol=0.1)


class HalfFlat(Target):
    """An improper target: ``N(0, 1)`` in the first coordinate, flat in the second."""

    n_features = 2

    def log_density(self, x):
        return -0.5 * x[:, 0] ** 2


def test_an_improper_target_is_reported_as_a_diverged_fit():
    # before 2026-12-07: q spread until its numbers overflowed (a standard deviation
    # of 2e9, a last ELBO estimate of -1e22), and the stopping rule, reading the
    # plunge as "no more gain", reported converged_=True
    with pytest.warns(PoorFitWarning, match=r"diverged: the ELBO .* fell from .*"
                                            r"mass is infinite"):
        vi = VariationalGMMTarget(HalfFlat(), random_state=1).fit()
    assert not vi.converged_


class ConstantDensity(Target):
    """``log p~ = 0`` on R^2: infinite mass, and no gradient path to x."""

    n_features = 2

    def log_density(self, x):
        return tf.zeros(tf.shape(x)[:1], x.dtype)


def test_a_constant_target_is_named_as_a_cause_of_a_missing_gradient():
    assert_fails_untouched(quick(ConstantDensity()), ValueError,
                           r"no gradient path to x.*does not depend on x at all.*infinite mass")


# ------------------------------------- a gradient that is not the values' gradient
# N(3, I) times a prior N(0, I): the posterior is N(1.5, I / 2). Each target below
# gives the right values and a wrong gradient; before the finite-difference check,
# the defaults fitted N(2.87, 1.13^2 I) to the ones that drop the prior's gradient
# (Pareto k-hat -0.5, no warning) and N(3, 1.41^2 I) to the half gradient.
POSTERIOR_MEAN = np.full(2, 1.5)


def _posterior_values(x):
    return -0.5 * np.sum((x - CENTRE) ** 2, axis=1) - 0.5 * np.sum(x**2, axis=1)


class NumpyPriorGradientLeftOut(Target):
    n_features = 2
    uses_tensorflow = False

    def log_density_and_grad(self, x):
        return _posterior_values(x), -(x - CENTRE)


class NumpyHalfGradient(Target):
    n_features = 2
    uses_tensorflow = False

    def log_density_and_grad(self, x):
        return _posterior_values(x), -0.5 * (x - CENTRE) - 0.5 * x


class PriorThroughNumpyFunction(Target):
    """TensorFlow likelihood, prior through tf.numpy_function: autodiff drops it."""
    n_features = 2

    def log_density(self, x):
        def prior(a):
            return (-0.5 * (a**2).sum(1)).astype(a.dtype)
        log_prior = tf.reshape(tf.numpy_function(prior, [x], x.dtype), [-1])
        return -0.5 * tf.reduce_sum((x - 3.0) ** 2, axis=1) + log_prior


class PriorBehindStopGradient(Target):
    n_features = 2

    def log_density(self, x):
        return (-0.5 * tf.reduce_sum((x - 3.0) ** 2, axis=1)
                - 0.5 * tf.reduce_sum(tf.stop_gradient(x) ** 2, axis=1))


@pytest.mark.parametrize("target_class, method, advice", [
    (NumpyPriorGradientLeftOut, "log_density_and_grad", "the prior's too"),
    (NumpyHalfGradient, "log_density_and_grad", "the prior's too"),
    (PriorThroughNumpyFunction, "log_density", "tf.numpy_function"),
    (PriorBehindStopGradient, "log_density", "tf.stop_gradient")])
@pytest.mark.parametrize("init", ["auto", "prior"])
def test_a_gradient_that_is_not_the_values_gradient_is_refused(target_class, method,
                                                                  advice, init):
    match = (f"{target_class.__name__}.{method} gives a gradient that is not the gradient "
             rf"of its values: at [56] of [56] points .*{advice}.*ng_estimation='more'")
    assert_fails_untouched(quick(target_class(), init=init), ValueError, match)


def test_more_fits_a_target_whose_autodiff_gradient_misses_a_term():
    """MORE reads no gradient: the fit is the exact posterior, and with no usable
    gradient there is no mode search (whose Laplace start would use it)."""
    vi = VariationalGMMTarget(PriorThroughNumpyFunction(), ng_estimation="more",
                              max_iter=100, n_samples_per_component=50,
                              adaptive_components=False, random_state=0).fit()
    assert vi.mode_search_ is None
    np.testing.assert_allclose(vi.means_[0], POSTERIOR_MEAN, atol=0.1)
    np.testing.assert_allclose(vi.covariances_[0], np.eye(2) / 2, atol=0.1)


def _values_and_gradients(target, x, dtype):
    from skgmmvi._tf.vi.target_adapter import (_raw_values_and_grads,
                                               numpy_values_and_grads, target_log_density,
                                               target_parameters)

    if not getattr(target, "uses_tensorflow", True):
        def values(points):
            return numpy_values_and_grads(target, points, np.dtype(dtype), False)[0]
        return numpy_values_and_grads(target, x, np.dtype(dtype), True) + (values,)
    params = tuple(tf.constant(p) for p in target_parameters(target, dtype))
    value, grad = _raw_values_and_grads(target, tf.constant(x), params)

    def values(points):
        return target_log_density(target, tf.constant(points), params).numpy()
    return value.numpy(), grad.numpy(), values


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_bundled_target_passes_the_gradient_check(dtype):
    """Float32 rounding and curvature must not pass for a wrong gradient: 40 points
    per target (the first check's scale, 10, and the unit scale), each judged."""
    from skgmmvi._tf.vi.gradient_check import finite_difference_rows, gradient_disagreement
    from skgmmvi.targets import EightSchoolsCentered, StochasticVolatilityPosterior

    rng = np.random.RandomState(0)
    bundled = [BananaTarget(4), EightSchoolsCentered(), FunnelTarget(),
               GaussianTarget(np.ones(3), np.diag([1e-4, 1.0, 1e4])), GaussianMixtureTarget(),
               KernelDensityTarget(rng.standard_normal((30, 2))), MixtureModelPosterior(),
               PlanarRobotTarget(), StochasticVolatilityPosterior(), StudentTMixtureTarget(),
               NumpyGradientTarget()]
    for target in bundled:
        x = np.concatenate([10.0 * rng.standard_normal((20, target.n_features)),
                            rng.standard_normal((20, target.n_features))]).astype(dtype)
        value, grad, values = _values_and_gradients(target, x, dtype)
        points, directions, steps = finite_difference_rows(x, dtype)
        found = gradient_disagreement(value, grad, values(points), directions, steps, x,
                                      dtype)
        assert found is None, (type(target).__name__, found)


def test_a_kink_or_noise_is_not_judged_and_a_wrong_gradient_is():
    from skgmmvi._tf.vi.gradient_check import finite_difference_rows, gradient_disagreement

    x = np.array([[0.0, 1.0], [0.0, -2.0], [1e-7, 3.0], [-1e-7, 0.5]])  # on the kink
    points, directions, steps = finite_difference_rows(x, "float64")

    def laplace(z):
        return -np.sum(np.abs(z), axis=1)
    assert gradient_disagreement(laplace(x), -np.sign(x), laplace(points), directions,
                                 steps, x, "float64") is None
    found = gradient_disagreement(laplace(x), np.sign(x), laplace(points), directions,
                                  steps, x, "float64")
    assert found is not None and found.n_wrong >= 2


@pytest.mark.parametrize("relative_noise", [1e-8, 1e-6, 1e-4, 1e-2])
def test_noisy_values_do_not_pass_for_a_wrong_gradient(relative_noise):
    """A density computed to a tolerance (an ODE solver's, say) has finite
    differences that may agree at two steps by chance: with two steps and a 10 %
    agreement, a noise of 1e-6 made one of five default fits of a correct numpy
    target raise. 200 checks of five rows each, D = 3, none may."""
    from skgmmvi._tf.vi.gradient_check import finite_difference_rows, gradient_disagreement

    rng = np.random.RandomState(0)

    def wavy(z):
        return -0.5 * np.sum((z - 3.0) ** 2, axis=1) - 0.05 * np.sum(np.sin(3.0 * z), axis=1)
    for seed in range(200):
        x = 10.0 * rng.standard_normal((5, 3))
        gradient = -(x - 3.0) - 0.15 * np.cos(3.0 * x)
        points, directions, steps = finite_difference_rows(x, "float64", seed=seed)
        values = wavy(points) * (1.0 + relative_noise * rng.standard_normal(points.shape[0]))
        assert gradient_disagreement(wavy(x), gradient, values, directions, steps, x,
                                     "float64") is None, seed
