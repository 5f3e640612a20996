"""Tests of the target densities: values against independent numpy/scipy code,
dtypes, gradients, pickling, normalisation, samplers and the benchmark helpers."""

import math
import pickle
import subprocess
import sys
import textwrap
from itertools import permutations

import numpy as np
import pytest
from scipy import special, stats

import skgmmvi.targets as T

from helpers import mixture_log_density

tf = pytest.importorskip("tensorflow")


def logdens(target, x, dtype=tf.float64):
    return target.log_density(tf.constant(np.asarray(x), dtype=dtype)).numpy()


def close(actual, expected, rtol=1e-10):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ---------------------------------------------------------------------------
# independent reference implementations (numpy / scipy)

def ref_stm(x, weights, means, shapes, df):
    comps = [np.log(w) + stats.multivariate_t(m, s, df=df).logpdf(x)
             for w, m, s in zip(weights, means, shapes)]
    return special.logsumexp(np.stack(comps, axis=1), axis=1)


def ref_logistic(w, X, t, prior_scale):
    log_prior = stats.norm(0.0, prior_scale).logpdf(w).sum(axis=1)
    margins = w @ X.T * t[None, :]
    return log_prior - np.logaddexp(0.0, -margins).sum(axis=1)


def ref_robot(x, goals, prior_std=0.2, lik_std=0.01):
    n, d = x.shape
    stds = np.r_[1.0, np.full(d - 1, prior_std)]
    out = np.empty(n)
    for r in range(n):  # sequential forward kinematics, one link at a time
        pos, angle = np.zeros(2), 0.0
        for i in range(d):
            angle += x[r, i]
            pos = pos + np.array([math.cos(angle), math.sin(angle)])
        lik = max(stats.multivariate_normal(g, lik_std ** 2 * np.eye(2)).logpdf(pos)
                  for g in goals)
        out[r] = stats.norm(0.0, stds).logpdf(x[r]).sum() + lik
    return out


def ref_banana(x, b):
    z2 = x[:, 1] - b * (x[:, 0] ** 2 - 100.0)
    return (stats.norm(0, 10).logpdf(x[:, 0]) + stats.norm.logpdf(z2)
            + stats.norm.logpdf(x[:, 2:]).sum(axis=1))


def ref_funnel(x, scale):
    v = x[:, 0]
    return (stats.norm(0, scale).logpdf(v)
            + stats.norm(0, np.exp(0.5 * v)[:, None]).logpdf(x[:, 1:]).sum(axis=1))


def ref_mixture_posterior(theta, data, k, m_scale=10.0, a=1.0, b=1.0, c=1.0):
    out = []
    for th in np.atleast_2d(theta):
        mu, s, z = th[:k], th[k:2 * k], th[2 * k:]
        sigma = np.exp(s)
        e = np.exp(np.r_[z, 0.0])
        pi = e / e.sum()
        # Jacobian of z -> (pi_1..pi_{K-1}) computed as a determinant, not by formula.
        p = pi[:-1]
        log_jac = np.linalg.slogdet(np.diag(p) - np.outer(p, p))[1] if k > 1 else 0.0
        val = (stats.norm(0, m_scale).logpdf(mu).sum()
               + stats.gamma(a, scale=1.0 / b).logpdf(sigma).sum() + s.sum()
               + (stats.dirichlet(np.full(k, c)).logpdf(pi) if k > 1 else 0.0) + log_jac)
        lik = special.logsumexp(np.log(pi) + stats.norm(mu, sigma).logpdf(data[:, None]), axis=1)
        out.append(val + lik.sum())
    return np.array(out)


# ---------------------------------------------------------------------------
# small instances shared by the generic tests

def small_targets():
    rng = np.random.RandomState(3)
    a = rng.standard_normal((3, 3))
    X = rng.standard_normal((40, 4))
    y = rng.choice(["no", "yes"], size=40)
    return {
        "gaussian": T.GaussianTarget(rng.standard_normal(3), a @ a.T + np.eye(3)),
        "gmm": T.GaussianMixtureTarget(n_features=3, n_modes=4, random_state=1),
        "stm": T.StudentTMixtureTarget(n_features=3, n_modes=4, df=2, random_state=2),
        "logistic": T.LogisticRegressionPosterior(X, y, prior_scale=2.0),
        "robot": T.PlanarRobotTarget(n_links=5, n_goals=4),
        "banana": T.BananaTarget(n_features=3, curvature=0.1),
        "banana_any": T.BananaTarget(n_features=None, curvature=0.05),
        "funnel": T.FunnelTarget(n_features=4, scale=3.0),
        "funnel_any": T.FunnelTarget(n_features=None, scale=1.5),
        "mixpost": T.MixtureModelPosterior(),
    }


TARGETS = small_targets()
NAMES = sorted(TARGETS)


def points(name, n=6, seed=0):
    """Random evaluation points of sensible scale for each target."""
    target = TARGETS[name]
    d = target.n_features or 5
    rng = np.random.RandomState(seed)
    if name in ("gmm", "stm"):
        return target.means[rng.randint(target.n_modes, size=n)] + rng.standard_normal((n, d))
    if name == "robot":
        return 0.3 * rng.standard_normal((n, d))
    if name.startswith("banana"):
        x = rng.standard_normal((n, d))
        x[:, 0] *= 10
        return x
    return rng.standard_normal((n, d))


def reference(name, x):
    t = TARGETS[name]
    if name == "gaussian":
        return stats.multivariate_normal(t.mean, t.covariance).logpdf(x)
    if name == "gmm":
        return mixture_log_density(x, t.weights, t.means, t.covariances)
    if name == "stm":
        return ref_stm(x, t.weights, t.means, t.scale_matrices, t.df)
    if name == "logistic":
        return ref_logistic(x, t.X, np.where(t.signs > 0, 1.0, -1.0), t.prior_scale)
    if name == "robot":
        return ref_robot(x, t.goals)
    if name.startswith("banana"):
        return ref_banana(x, t.curvature)
    if name.startswith("funnel"):
        return ref_funnel(x, t.scale)
    if name == "mixpost":
        return ref_mixture_posterior(x, t.data, t.n_components)
    raise KeyError(name)


# ---------------------------------------------------------------------------
# generic behaviour

@pytest.mark.parametrize("name", NAMES)
def test_log_density_matches_reference(name):
    x = points(name)
    value = logdens(TARGETS[name], x)
    assert value.shape == (x.shape[0],) and value.dtype == np.float64
    close(value, reference(name, x))


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name):
    x = points(name)
    value = TARGETS[name].log_density(tf.constant(x, dtype=tf.float32))
    assert value.dtype == tf.float32 and value.shape == (x.shape[0],)
    close(value.numpy(), logdens(TARGETS[name], x.astype(np.float32)), rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_traceable_in_tf_function(name):
    target = TARGETS[name]
    x = points(name)
    spec = tf.TensorSpec([None, target.n_features], tf.float64)  # None: any D
    fn = tf.function(target.log_density, input_signature=[spec])
    close(fn(tf.constant(x)).numpy(), logdens(target, x), rtol=1e-13)

    @tf.function(input_signature=[spec])
    def value_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = target.log_density(x)
        return value, tape.gradient(value, x)

    value, grad = value_and_grad(tf.constant(x))
    eager_value, eager_grad = target.log_density_and_grad(x)
    close(value.numpy(), eager_value, rtol=1e-13)
    close(grad.numpy(), eager_grad, rtol=1e-11)
    if target.n_features is None:  # one trace serves two dimensions
        x3 = points(name)[:, :3]
        close(fn(tf.constant(x3)).numpy(), reference(name, x3))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    target = TARGETS[name]
    x = points(name, n=3, seed=1)
    value, grad = target.log_density_and_grad(x)  # inherited default (autodiff)
    close(value, logdens(target, x), rtol=1e-14)
    assert grad.shape == x.shape
    h = 1e-5
    fd = np.empty_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = h
        fd[:, j] = (logdens(target, x + e) - logdens(target, x - e)) / (2 * h)
    scale = np.max(np.abs(grad), axis=1, keepdims=True)
    assert np.all(np.abs(grad - fd) < 1e-6 * scale + 1e-8), (grad, fd)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip(name):
    target = TARGETS[name]
    clone = pickle.loads(pickle.dumps(target))
    assert type(clone) is type(target) and clone.n_features == target.n_features
    x = points(name)
    np.testing.assert_array_equal(logdens(clone, x), logdens(target, x))


def test_targets_hold_no_tensorflow_objects():
    for target in TARGETS.values():
        target.log_density(tf.constant(points("gaussian")[:, :1].repeat(
            target.n_features or 4, axis=1)))
        for key, value in vars(target).items():
            assert type(value).__module__.split(".")[0] != "tensorflow", key


def test_import_does_not_import_tensorflow():
    code = textwrap.dedent("""
        import sys
        import skgmmvi.targets as T
        T.GaussianMixtureTarget(n_features=2, n_modes=2)
        T.breast_cancer_posterior()
        assert "tensorflow" not in sys.modules, "tensorflow was imported"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_log_normalizer_flags():
    assert {n for n, t in TARGETS.items() if t.log_normalizer == 0.0} == {
        "gaussian", "gmm", "stm", "banana", "banana_any", "funnel", "funnel_any"}
    for name in ("logistic", "robot", "mixpost"):
        assert TARGETS[name].log_normalizer is None


# ---------------------------------------------------------------------------
# normalisation by quadrature

def grid(lo, hi, n):
    g, h = np.linspace(lo, hi, n, retstep=True)
    return g, h


def test_gaussian_integrates_to_one():
    t = T.GaussianTarget([1.0, -0.5], [[2.0, 0.6], [0.6, 0.5]])
    g1, h1 = grid(-9, 11, 801)
    g2, h2 = grid(-5, 4, 601)
    xx = np.stack(np.meshgrid(g1, g2, indexing="ij"), axis=-1).reshape(-1, 2)
    assert abs(np.exp(logdens(t, xx)).sum() * h1 * h2 - 1) < 1e-8


def test_gmm_integrates_to_one_in_1d():
    t = T.GaussianMixtureTarget(n_features=1, n_modes=5, random_state=4)
    g, h = grid(-70, 70, 200001)
    assert abs(np.exp(logdens(t, g[:, None])).sum() * h - 1) < 1e-8


def test_student_t_mixture_integrates_to_one_in_1d():
    # Heavy tails: substitute x = tan(u), dx = du / cos(u)^2, on (-pi/2, pi/2).
    t = T.StudentTMixtureTarget(n_features=1, n_modes=3, df=2, random_state=5)
    u, h = grid(-np.pi / 2, np.pi / 2, 400001)
    u = u[1:-1]
    val = np.exp(logdens(t, np.tan(u)[:, None])) / np.cos(u) ** 2
    assert abs(val.sum() * h - 1) < 1e-6


def test_banana_integrates_to_one():
    t = T.BananaTarget(n_features=2, curvature=0.02)
    g1, h1 = grid(-55, 55, 1101)
    g2, h2 = grid(-8, 60, 1361)
    xx = np.stack(np.meshgrid(g1, g2, indexing="ij"), axis=-1).reshape(-1, 2)
    assert abs(np.exp(logdens(t, xx)).sum() * h1 * h2 - 1) < 1e-6


def test_funnel_integrates_to_one():
    # Substitute x_2 = w * exp(v / 2) so the grid follows the funnel's width.
    t = T.FunnelTarget(n_features=2, scale=3.0)
    v, hv = grid(-25, 25, 1001)
    w, hw = grid(-10, 10, 801)
    vv, ww = (a.ravel() for a in np.meshgrid(v, w, indexing="ij"))
    x = np.column_stack([vv, ww * np.exp(vv / 2)])
    val = np.exp(logdens(t, x) + vv / 2)
    assert abs(val.sum() * hv * hw - 1) < 1e-8


# ---------------------------------------------------------------------------
# samplers

def check_moments(draws, mean, cov, tol):
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose((draws.mean(axis=0) - mean) / sd, 0.0, atol=tol)
    emp = np.cov(draws, rowvar=False)
    np.testing.assert_allclose(emp / np.outer(sd, sd), cov / np.outer(sd, sd), atol=3 * tol)


def mixture_moments(weights, means, covs):
    mean = weights @ means
    second = np.einsum("k,kij->ij", weights, covs + np.einsum("ki,kj->kij", means, means))
    return mean, second - np.outer(mean, mean)


def test_gaussian_sample_moments():
    t = TARGETS["gaussian"]
    draws = t.sample(100_000, random_state=0)
    assert draws.shape == (100_000, 3)
    check_moments(draws, t.mean, t.covariance, 0.02)
    np.testing.assert_array_equal(draws, t.sample(100_000, random_state=0))


def test_gmm_sample_moments():
    t = TARGETS["gmm"]
    check_moments(t.sample(100_000, random_state=1),
                  *mixture_moments(t.weights, t.means, t.covariances), 0.02)


def test_student_t_sample_moments():
    t = T.StudentTMixtureTarget(n_features=3, n_modes=4, df=8, random_state=2)
    shapes = t.scale_matrices * (8 / 6)  # covariance of a t with df = 8
    check_moments(t.sample(200_000, random_state=2),
                  *mixture_moments(t.weights, t.means, shapes), 0.02)


def test_banana_sample_moments_and_score_identity():
    t = TARGETS["banana"]
    draws = t.sample(100_000, random_state=3)
    check_moments(draws, np.zeros(3), t.covariance(), 0.03)
    # Stein's identity E_p[grad log p] = 0 ties the sampler to the density.
    _, grad = t.log_density_and_grad(draws[:20_000])
    assert np.all(np.abs(grad.mean(axis=0)) < 4 * grad.std(axis=0) / np.sqrt(20_000))
    any_d = TARGETS["banana_any"].sample(10, random_state=0, n_features=4)
    assert any_d.shape == (10, 4)
    with pytest.raises(ValueError, match="n_features"):
        TARGETS["banana_any"].sample(10)


def test_funnel_float32_deep_in_the_neck():
    x = np.array([[-120.0, 0.0, 1e-27], [-120.0, 1e-26, 0.0]])
    value = logdens(T.FunnelTarget(3), x, tf.float32)
    assert np.all(np.isfinite(value))
    close(value, ref_funnel(x, 3.0), rtol=1e-4)


def test_funnel_sample_moments():
    t = T.FunnelTarget(n_features=3, scale=1.0)
    draws = t.sample(200_000, random_state=4)
    assert abs(draws[:, 0].var() - 1.0) < 0.02
    np.testing.assert_allclose((draws[:, 1:] ** 2).mean(axis=0), np.exp(0.5), rtol=0.05)
    assert abs(np.corrcoef(draws[:, 1], draws[:, 2])[0, 1]) < 0.02
    assert TARGETS["funnel_any"].sample(5, n_features=7, random_state=0).shape == (5, 7)


# ---------------------------------------------------------------------------
# dimension handling

def test_invalid_arguments():
    with pytest.raises(ValueError, match="shape"):
        T.GaussianTarget([0.0, 0.0], np.eye(3))
    with pytest.raises(ValueError, match="positive definite"):
        T.GaussianTarget([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="symmetric"):
        T.GaussianTarget([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="finite"):
        T.GaussianTarget([np.nan, 0.0], np.eye(2))
    T.GaussianTarget([0.0, 0.0], [[1.0, 1e-18], [0.0, 1.0]])  # rounding-level asymmetry
    with pytest.raises(ValueError, match="n_modes"):
        T.GaussianMixtureTarget(n_modes=0)
    with pytest.raises(ValueError, match="df"):
        T.StudentTMixtureTarget(df=0)
    with pytest.raises(ValueError, match="prior_scale"):
        T.LogisticRegressionPosterior(np.eye(2), [0, 1], prior_scale=-1.0)
    with pytest.raises(ValueError, match="n_components"):
        T.MixtureModelPosterior(n_components=0)
    with pytest.raises(ValueError, match="theta"):
        T.MixtureModelPosterior().unpack(np.zeros(5))


def test_n_features_none_and_checks():
    assert TARGETS["banana_any"].n_features is None
    TARGETS["banana_any"].check_n_features(7)
    with pytest.raises(ValueError):
        TARGETS["banana_any"].check_n_features(1)
    with pytest.raises(ValueError):
        TARGETS["funnel"].check_n_features(5)
    with pytest.raises(ValueError):
        T.FunnelTarget(n_features=1)
    assert T.GaussianMixtureTarget(n_features=2, n_modes=2).n_features == 2


# ---------------------------------------------------------------------------
# Gaussian mixture and Student-t mixture benchmarks

def test_gmm_definition_matches_gmmvi_draw_order():
    d, k, seed = 20, 10, 7
    t = T.GaussianMixtureTarget(n_features=d, n_modes=k, random_state=seed)
    np.random.seed(seed)  # gmmvi draws from the global generator in this order
    for i in range(k):
        mean = 100 * (np.random.random(d) - 0.5)
        a = 0.1 * np.random.normal(0, d, (d * d)).reshape((d, d))
        np.testing.assert_array_equal(t.means[i], mean)
        np.testing.assert_allclose(t.covariances[i], a.T @ a + np.eye(d), rtol=1e-15)
    assert np.all(np.abs(t.means) <= 50) and np.allclose(t.weights, 0.1)
    x = t.sample(4, random_state=0)
    close(logdens(t, x), mixture_log_density(x, t.weights, t.means, t.covariances), rtol=1e-9)


def test_student_t_definition_inverts_the_matrix():
    d, k = 20, 10
    t = T.StudentTMixtureTarget(random_state=3)
    assert (t.n_features, t.n_modes, t.df) == (d, k, 2.0)
    rng = np.random.RandomState(3)
    for i in range(k):
        mean = 40 * rng.random_sample(d) - 20
        a = 0.1 * d * rng.standard_normal((d, d))
        np.testing.assert_allclose(t.means[i], mean, rtol=1e-15)
        np.testing.assert_allclose(t.scale_matrices[i], np.linalg.inv(a.T @ a + np.eye(d)),
                                   rtol=1e-8, atol=1e-14)
    x = t.means[:3] + 0.1 * rng.standard_normal((3, d))
    close(logdens(t, x), ref_stm(x, t.weights, t.means, t.scale_matrices, 2.0), rtol=1e-9)


@pytest.mark.parametrize("cls", [T.GaussianMixtureTarget, T.StudentTMixtureTarget])
def test_count_found_modes(cls):
    t = cls(n_features=20, n_modes=10, random_state=0)
    assert t.count_found_modes(t.means) == 10
    assert t.count_found_modes(t.means[:3]) == 3
    assert t.count_found_modes(t.means + 5.9) == 10  # distance 5.9 sqrt(D) < 6 sqrt(D)
    assert t.count_found_modes(t.means + 6.1) == 0
    assert t.count_found_modes(np.zeros((0, 20))) == 0
    assert t.count_found_modes(np.repeat(t.means[:1], 5, axis=0)) == 1


def test_random_targets_are_deterministic():
    a = T.GaussianMixtureTarget(n_features=4, n_modes=3, random_state=11)
    b = T.GaussianMixtureTarget(n_features=4, n_modes=3, random_state=11)
    c = T.GaussianMixtureTarget(n_features=4, n_modes=3, random_state=12)
    np.testing.assert_array_equal(a.covariances, b.covariances)
    assert not np.allclose(a.means, c.means)


# ---------------------------------------------------------------------------
# logistic regression and breast cancer

def test_logistic_label_coding():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 3))
    y01 = rng.randint(2, size=30)
    w = rng.standard_normal((4, 3))
    base = T.LogisticRegressionPosterior(X, y01)
    for y in (2 * y01 - 1, np.where(y01 == 1, "b", "a"), y01 + 5.0):
        close(logdens(T.LogisticRegressionPosterior(X, y), w), logdens(base, w), rtol=1e-15)
    close(logdens(base, w), ref_logistic(w, X, 2.0 * y01 - 1, 10.0))
    with pytest.raises(ValueError, match="two classes"):
        T.LogisticRegressionPosterior(X, np.arange(30) % 3)
    # Large margins: the stable log-sigmoid does not overflow.
    far = logdens(base, 1e4 * w)
    assert np.all(np.isfinite(far))
    close(far, ref_logistic(1e4 * w, X, 2.0 * y01 - 1, 10.0))


def test_logistic_gradient_matches_the_closed_form_also_at_large_margins():
    # d/dw log p~ = -w / s^2 + sum_i sigmoid(-m_i) t_i x_i, with m_i = t_i x_i . w
    rng = np.random.RandomState(1)
    X = rng.standard_normal((40, 3))
    t = 2.0 * rng.randint(2, size=40) - 1.0
    target = T.LogisticRegressionPosterior(X, t, prior_scale=3.0)
    for scale in (1.0, 1e3):  # at 1e3 the margins reach thousands
        w = scale * rng.standard_normal((5, 3))
        margins = w @ X.T * t[None, :]
        expected = -w / 9.0 + special.expit(-margins) @ (t[:, None] * X)
        _, grad = target.log_density_and_grad(w)
        assert np.all(np.isfinite(grad))
        close(grad, expected, rtol=1e-12)


def test_logistic_prior_sample():
    t = TARGETS["logistic"]
    draws = t.prior_sample(50_000, random_state=0)
    assert draws.shape == (50_000, 4)
    np.testing.assert_allclose(draws.std(axis=0), 2.0, rtol=0.02)


def test_breast_cancer_posterior():
    from sklearn.datasets import load_breast_cancer

    t = T.breast_cancer_posterior()
    assert t.n_features == 31 and t.X.shape == (569, 31) and t.prior_scale == 10.0
    data = load_breast_cancer()
    feats = data.data / data.data.std(axis=0)
    np.testing.assert_array_equal(t.X[:, 0], 1.0)  # bias first, as gmmvi
    np.testing.assert_allclose(t.X[:, 1:], feats, rtol=1e-15)
    np.testing.assert_allclose(t.X[:, 1:].std(axis=0), 1.0, rtol=1e-12)
    assert np.all(t.X[:, 1:].mean(axis=0) > 0)  # not centred
    w = 0.1 * np.random.RandomState(1).standard_normal((5, 31))
    # independent numpy implementation with the bias appended as column 0
    Xr = np.column_stack([np.ones(569), feats])
    tr = np.where(data.target == 1, 1.0, -1.0)
    log_prior = -0.5 * (w ** 2).sum(axis=1) / 100 - 31 * (np.log(10) + 0.5 * np.log(2 * np.pi))
    log_lik = -np.log1p(np.exp(-(w @ Xr.T) * tr)).sum(axis=1)
    close(logdens(t, w), log_prior + log_lik)
    assert T.breast_cancer_posterior(prior_scale=2.0).prior_scale == 2.0
    # gmmvi's coding (label 1: log sigmoid(-x.w); label 0: log sigmoid(x.w)) is the mirror image.
    f = -(w @ Xr.T)
    gmmvi_lik = np.where(data.target == 1, -np.logaddexp(0, -f), -np.logaddexp(0, -f) - f)
    close(logdens(t, -w), log_prior + gmmvi_lik.sum(axis=1))


# ---------------------------------------------------------------------------
# planar robot

def reaching_configuration(n_links, phi, reach=7.0):
    """Angles whose end effector is at reach * (cos phi, sin phi): half the links at
    +theta, half at -theta relative to phi, with 10 cos(theta) = reach."""
    theta = math.acos(reach / n_links)
    x = np.zeros(n_links)
    x[0] = phi + theta
    x[n_links // 2] = -2 * theta
    return x


def test_planar_robot_definition():
    t = T.PlanarRobotTarget()
    assert t.n_features == 10 and t.goals.shape == (4, 2)
    np.testing.assert_array_equal(t.goals, [[7, 0], [-7, 0], [0, 7], [0, -7]])
    np.testing.assert_array_equal(T.PlanarRobotTarget(n_goals=1).goals, [[7, 0]])
    np.testing.assert_allclose(t.prior_stds, [1.0] + [0.2] * 9)
    with pytest.raises(ValueError):
        T.PlanarRobotTarget(n_goals=2)
    x = 0.3 * np.random.RandomState(0).standard_normal((5, 10))
    close(logdens(t, x), ref_robot(x, t.goals))
    one = T.PlanarRobotTarget(n_goals=1)
    close(logdens(one, x), ref_robot(x, one.goals))


def test_planar_robot_max_over_goals_and_reached_goals():
    t = T.PlanarRobotTarget()
    configs = np.array([reaching_configuration(10, phi)
                        for phi in (0.0, np.pi, np.pi / 2, -np.pi / 2)])
    np.testing.assert_allclose(t.end_effector(configs), t.goals, atol=1e-12)
    # At a goal, the likelihood is the peak of one Gaussian (max, not a sum over goals).
    prior = stats.norm(0, t.prior_stds).logpdf(configs).sum(axis=1)
    close(logdens(t, configs), prior - np.log(2 * np.pi * 1e-4))
    # Equidistant from the goals (7, 0) and (0, 7): a log-sum-exp would add log 2.
    mid = reaching_configuration(10, np.pi / 4, reach=5.0)[None]
    sq = np.sum((t.end_effector(mid)[0] - [7.0, 0.0]) ** 2)
    close(logdens(t, mid), stats.norm(0, t.prior_stds).logpdf(mid).sum()
          - np.log(2 * np.pi * 1e-4) - sq / 2e-4)
    assert t.count_reached_goals(configs) == 4
    assert t.count_reached_goals(configs[:2]) == 2
    assert t.count_reached_goals(configs[:1] + np.r_[0.0, [0.001] * 9]) == 1
    assert t.count_reached_goals(np.zeros((3, 10))) == 0  # stretched arm reaches (10, 0)
    assert t.count_reached_goals(configs + 0.05, tolerance=0.05) == 0
    pos = t.joint_positions(configs)
    assert pos.shape == (4, 11, 2)
    np.testing.assert_allclose(pos[:, -1], t.end_effector(configs), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(np.diff(pos, axis=1), axis=2), 1.0)


def test_planar_robot_prior_sample():
    draws = T.PlanarRobotTarget().prior_sample(50_000, random_state=0)
    np.testing.assert_allclose(draws.std(axis=0), [1.0] + [0.2] * 9, rtol=0.02)


# ---------------------------------------------------------------------------
# mixture model posterior

def relabel(t, theta, perm):
    p = t.unpack(theta)
    return t.pack(p["mu"][..., perm], p["sigma"][..., perm], p["pi"][..., perm])


def test_mixture_posterior_dimension_and_reference():
    t = TARGETS["mixpost"]
    assert t.n_features == 8 and t.data.size == 7
    other = T.MixtureModelPosterior(data=[0.5, -1.0, 3.0], n_components=2,
                                    mean_prior_scale=3.0, sigma_shape=2.0, sigma_rate=0.5,
                                    concentration=2.5)
    assert other.n_features == 5
    theta = np.random.RandomState(0).standard_normal((4, 5))
    close(logdens(other, theta),
          ref_mixture_posterior(theta, other.data, 2, 3.0, 2.0, 0.5, 2.5))
    single = T.MixtureModelPosterior(n_components=1)
    theta1 = np.random.RandomState(1).standard_normal((3, 2))
    close(logdens(single, theta1), ref_mixture_posterior(theta1, single.data, 1))


def test_mixture_posterior_label_switching_invariance():
    t = TARGETS["mixpost"]
    theta = t.prior_sample(5, random_state=0)
    theta[:, 6:] = np.random.RandomState(1).standard_normal((5, 2))
    base = logdens(t, theta)
    for perm in permutations(range(3)):
        moved = relabel(t, theta, list(perm))
        if perm != (0, 1, 2):
            assert not np.allclose(moved, theta)
        close(logdens(t, moved), base, rtol=1e-12)


def test_mixture_posterior_pack_unpack_and_prior_sample():
    t = TARGETS["mixpost"]
    theta = t.prior_sample(100_000, random_state=0)
    p = t.unpack(theta)
    np.testing.assert_allclose(t.pack(p["mu"], p["sigma"], p["pi"]), theta, atol=1e-10)
    np.testing.assert_allclose(p["pi"].sum(axis=1), 1.0, rtol=1e-14)
    one = t.unpack(theta[0])
    assert one["mu"].shape == (3,)
    np.testing.assert_allclose(p["mu"].std(axis=0), 10.0, rtol=0.02)
    np.testing.assert_allclose(p["sigma"].mean(axis=0), 1.0, rtol=0.02)  # Gamma(1, 1)
    np.testing.assert_allclose(p["pi"].mean(axis=0), 1 / 3, rtol=0.02)  # Dirichlet(1, 1, 1)
    np.testing.assert_allclose(p["pi"].var(axis=0), 2 / 36, rtol=0.03)


def test_co_assignment_probability():
    t = TARGETS["mixpost"]
    # Two well-separated components at the data clusters {1.1?, 2.1, 2.0, 1.9} and {0, ...}.
    theta = t.pack([2.0, 0.0, 50.0], [0.1, 0.1, 1.0], [0.5, 0.4999, 1e-4])
    assert t.co_assignment_probability(theta[None], 1, 2) == pytest.approx(1.0, abs=1e-12)
    assert t.co_assignment_probability(theta[None], 1, 4) == pytest.approx(0.0, abs=1e-12)
    # Hand computation at a generic sample, and the weighted average.
    rng = np.random.RandomState(0)
    samples = np.column_stack([rng.standard_normal((6, 3)), 0.5 * rng.standard_normal((6, 3)),
                               rng.standard_normal((6, 2))])
    p = t.unpack(samples)
    dens = p["pi"][:, None, :] * stats.norm(p["mu"][:, None, :], p["sigma"][:, None, :]).pdf(
        t.data[None, :, None])
    r = dens / dens.sum(axis=2, keepdims=True)
    per_sample = (r[:, 0] * r[:, 5]).sum(axis=1)
    close(t.co_assignment_probability(samples, 0, 5), per_sample.mean())
    w = rng.random_sample(6)
    close(t.co_assignment_probability(samples, 0, 5, weights=w), w @ per_sample / w.sum())
    close(t.co_assignment_probability(samples, 5, 0, weights=w),
          t.co_assignment_probability(samples, 0, 5, weights=w))
    assert t.co_assignment_probability(samples, 0, 5, weights=np.eye(6)[2]) == pytest.approx(
        per_sample[2], rel=1e-12)
    # Relabelling every sample does not change it.
    close(t.co_assignment_probability(relabel(t, samples, [2, 0, 1]), 0, 5, weights=w),
          w @ per_sample / w.sum())
    with pytest.raises(ValueError):
        t.co_assignment_probability(samples, 0, 5, weights=-w)


def test_non_centred_eight_schools_is_the_centred_model_with_its_jacobian():
    # theta = mu + tau eta: log p_nc(mu, s, eta) = log p_c(mu, s, theta) + 8 s
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 10)) * np.r_[5.0, 2.0, np.ones(8)]
    theta = x[:, [0]] + np.exp(x[:, [1]]) * x[:, 2:]
    centred = np.column_stack([x[:, :2], theta])
    close(logdens(T.EightSchoolsNonCentered(), x),
          logdens(T.EightSchoolsCentered(), centred) + 8.0 * x[:, 1], rtol=1e-12)
    both = [T.EightSchoolsCentered(2.0, 3.0), T.EightSchoolsNonCentered(2.0, 3.0)]
    moments = [target.posterior_moments(2001) for target in both]
    np.testing.assert_array_equal(moments[0][0][:2], moments[1][0][:2])  # mu, log tau
    assert moments[0][2] == moments[1][2]  # the evidence
    assert repr(both[1]) == ("EightSchoolsNonCentered(mean_prior_scale=2, "
                             "tau_prior_scale=3)")
