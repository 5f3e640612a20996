"""MLEGaussianMixture: quality bars of the issue, gradients, partial_fit, behaviour."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skgmmvi import EMGaussianMixture, MLEGaussianMixture
from skgmmvi._tf import mle as backend
from skgmmvi._tf.mle_loops import compiled

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def five_component_1d(n_samples=10_000, seed=0):
    """The issue's 1-D mixture: 5 components of quite different widths."""
    rng = np.random.RandomState(seed)
    weights = np.exp(np.log([1 / 4, 1 / 4, 1 / 6, 1 / 6, 1 / 6]))
    weights /= weights.sum()
    means = np.array([1.0, -0.5, -2.0, 0.5, 3.0])
    stds = np.array([0.5, 1.0, 0.2, 0.1, 0.5])
    labels = rng.choice(5, size=n_samples, p=weights)
    return (means[labels] + stds[labels] * rng.randn(n_samples))[:, None]


def three_component_4d(n_samples=3000, seed=1):
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0, 0, 0], [4, 4, 0, 0], [0, 4, -4, 2]])
    parts = []
    for k, n in enumerate([n_samples // 2, n_samples // 3,
                           n_samples - n_samples // 2 - n_samples // 3]):
        mixing = np.eye(4) + 0.3 * rng.randn(4, 4)
        parts.append(rng.randn(n, 4) @ mixing + means[k])
    X = np.vstack(parts)
    return X[rng.permutation(len(X))]


@pytest.fixture(scope="module")
def mixture_1d():
    X = five_component_1d()
    em = EMGaussianMixture(5, random_state=0, tol=1e-9, max_iter=3000).fit(X)
    return X, em


# ------------------------------------------------------------- quality bars
def test_full_batch_reaches_em_log_likelihood(mixture_1d):
    X, em = mixture_1d
    mle = MLEGaussianMixture(5, random_state=0, learning_rate=0.01, tol=1e-7,
                             max_iter=3000).fit(X)
    assert mle.converged_
    assert abs(mle.score(X) - em.score(X)) < 1e-3


def test_mini_batch_reaches_em_log_likelihood(mixture_1d):
    X, em = mixture_1d
    mle = MLEGaussianMixture(5, random_state=0, batch_size=256, learning_rate=1e-3,
                             tol=0, max_iter=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mle.fit(X)
    assert mle.n_iter_ == 150
    assert abs(mle.score(X) - em.score(X)) < 1e-3


def test_partial_fit_over_chunks_reaches_full_batch_result():
    X = three_component_4d()
    full = MLEGaussianMixture(3, random_state=0, learning_rate=0.02, tol=1e-7,
                              max_iter=2000).fit(X)
    streamed = MLEGaussianMixture(3, random_state=0, batch_size=100, learning_rate=0.01)
    for _ in range(4):  # passes over the data
        for chunk in np.array_split(X, 10):
            streamed.partial_fit(chunk)
    assert abs(streamed.score(X) - full.score(X)) < 1e-2
    assert streamed.n_iter_ == 40
    assert len(streamed.loss_curve_) == 40


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gradient_matches_finite_differences(covariance_type):
    rng = np.random.RandomState(3)
    X = rng.randn(40, 3) @ np.array([[1.0, 0.3, 0], [0, 0.8, 0.2], [0, 0, 1.2]])
    weight = rng.uniform(0.5, 2.0, size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        params = EMGaussianMixture(2, covariance_type=covariance_type, random_state=0,
                                   max_iter=3).fit(X)._fitted_parameters()
    point = [np.array(p, np.float64) for p in
             backend.to_unconstrained(params, covariance_type, 0.1)]
    # Move off the EM fixed point so the gradient is not close to zero.
    point = [p + 0.05 * rng.randn(*p.shape) for p in point]
    if covariance_type in ("full", "tied"):
        point[2] = np.triu(point[2])  # only the upper triangle is used
    value, grads = backend.log_likelihood_and_gradient(X, weight, point,
                                                       covariance_type, 0.1)
    step = 1e-6
    for which, grad in enumerate(grads):
        numeric = np.zeros_like(point[which])
        for index in np.ndindex(point[which].shape):
            shifted = [p.copy() for p in point]
            shifted[which][index] += step
            plus = backend.log_likelihood_and_gradient(X, weight, shifted,
                                                       covariance_type, 0.1)[0]
            shifted[which][index] -= 2 * step
            minus = backend.log_likelihood_and_gradient(X, weight, shifted,
                                                        covariance_type, 0.1)[0]
            numeric[index] = (plus - minus) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    assert np.isfinite(value)


# ------------------------------------------------- parameterisation round trip
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_unconstrained_round_trip(covariance_type, blobs3):
    params = EMGaussianMixture(3, covariance_type=covariance_type,
                               random_state=0).fit(blobs3)._fitted_parameters()
    back = backend.from_unconstrained(
        *backend.to_unconstrained(params, covariance_type, 1e-6), covariance_type, 1e-6)
    for original, restored in zip(params, back):
        np.testing.assert_allclose(restored, original, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------ same start as EM
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random",
                                         "random_from_data"])
def test_initialisation_is_em_initialisation(init_params, blobs3):
    kwargs = dict(n_components=3, init_params=init_params, random_state=7, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mle = MLEGaussianMixture(**kwargs).fit(blobs3)
        em = EMGaussianMixture(**kwargs, backend="tensorflow").fit(blobs3)  # as MLE's
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(mle, name), getattr(em, name), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_covariance_type_reaches_em(covariance_type, blobs3):
    em = EMGaussianMixture(3, covariance_type=covariance_type, random_state=0,
                           tol=1e-8).fit(blobs3)
    mle = MLEGaussianMixture(3, covariance_type=covariance_type, random_state=0,
                             learning_rate=0.02, tol=1e-7, max_iter=3000).fit(blobs3)
    assert mle.converged_
    assert abs(mle.score(blobs3) - em.score(blobs3)) < 1e-3


@pytest.mark.parametrize("optimizer, learning_rate", [("sgd", 0.1), ("rmsprop", 0.01)])
def test_other_optimizers_improve_the_likelihood(optimizer, learning_rate, blobs3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = MLEGaussianMixture(3, random_state=0, max_iter=0,
                                   init_params="random").fit(blobs3)
        fitted = MLEGaussianMixture(3, random_state=0, optimizer=optimizer,
                                    init_params="random", learning_rate=learning_rate,
                                    max_iter=100).fit(blobs3)
    assert fitted.score(blobs3) > start.score(blobs3) + 0.1
    assert np.all(np.diff(fitted.lower_bounds_[:10]) > 0)


# ------------------------------------------------------------- partial_fit
def test_partial_fit_carries_the_optimiser_state(blobs3):
    """Two partial_fit calls are exactly two epochs of one fit."""
    kwargs = dict(n_components=3, random_state=0, batch_size=64, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = MLEGaussianMixture(max_iter=2, tol=0, **kwargs).fit(blobs3)
    streamed = MLEGaussianMixture(**kwargs).partial_fit(blobs3).partial_fit(blobs3)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(fitted, name),
                                   rtol=1e-12)
    np.testing.assert_allclose(streamed.loss_curve_, fitted.loss_curve_, rtol=1e-12)

    fresh = MLEGaussianMixture(**kwargs).partial_fit(blobs3)
    fresh._optimizer_state = None  # without the state, the second epoch differs
    fresh.partial_fit(blobs3)
    assert not np.allclose(fresh.means_, fitted.means_, rtol=1e-8)


def test_partial_fit_validates_its_chunks(blobs3):
    gm = MLEGaussianMixture(3, random_state=0).partial_fit(blobs3[:100])
    before = {k: np.copy(v) for k, v in vars(gm).items() if isinstance(v, np.ndarray)}
    with pytest.raises(ValueError, match="X has 2 features"):
        gm.partial_fit(blobs3[:10, :2])
    with pytest.raises(ValueError, match="non-zero"):
        gm.partial_fit(blobs3[:10], sample_weight=np.zeros(10))
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(gm, name), value)
    gm.partial_fit(blobs3[:1])  # one row is a valid chunk once fitted
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        MLEGaussianMixture(3).partial_fit(blobs3[:2])


# ------------------------------------------------------------ behaviour
def test_sample_weight_equals_repetition(blobs3):
    X = blobs3[:120]
    counts = np.tile([1, 2, 3], 40)
    kwargs = dict(n_components=3, random_state=0, max_iter=20, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLEGaussianMixture(**kwargs).fit(X, sample_weight=counts)
        repeated = MLEGaussianMixture(**kwargs).fit(np.repeat(X, counts, axis=0))
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name),
                                   rtol=1e-8)


def test_chunked_full_batch_gradient_is_exact(blobs3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em = EMGaussianMixture(3, random_state=0, max_iter=2).fit(blobs3)
    params = em._fitted_parameters()
    data = backend.TrainingData(blobs3, np.ones(len(blobs3)), "float64")
    outcomes = [backend.train(data, params, "full", optimizer="sgd",
                              training_state=backend.TrainingState(None, None, 0.01, 0),
                              n_epochs=5, tol=0.0, n_iter_no_change=10, reg_covar=1e-6,
                              previous_log_lik=-np.inf, batch_size=None,
                              chunk_size=chunk, shuffle=True, seed=(0, 0))
                for chunk in (37, 100_000)]
    for first, second in zip(outcomes[0][0], outcomes[1][0]):
        np.testing.assert_allclose(first, second, rtol=1e-10)
    np.testing.assert_allclose(outcomes[0][1], outcomes[1][1], rtol=1e-12)


def test_mini_batches_are_reproducible_and_shuffled(blobs3):
    kwargs = dict(n_components=3, batch_size=50, max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = MLEGaussianMixture(random_state=1, **kwargs).fit(blobs3)
        again = MLEGaussianMixture(random_state=1, **kwargs).fit(blobs3)
        in_order = MLEGaussianMixture(random_state=1, shuffle=False, **kwargs).fit(blobs3)
    np.testing.assert_array_equal(first.means_, again.means_)
    assert not np.allclose(first.means_, in_order.means_, rtol=1e-6)


def test_loss_curve_is_the_negated_lower_bounds(blobs3):
    """(Numpy-only fitted state and pickling: tests/test_common.py.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = MLEGaussianMixture(3, random_state=0, batch_size=100, max_iter=5).fit(blobs3)
    assert gm.loss_curve_ == [-v for v in gm.lower_bounds_]
    assert gm.n_iter_ == len(gm.loss_curve_)


def test_float32_compute_reaches_the_em_score(blobs3):
    """(Divergence keeping the previous fit, float32 dtypes: tests/test_common.py.)"""
    gm = MLEGaussianMixture(3, random_state=0, dtype="float32").fit(blobs3)
    em = EMGaussianMixture(3, random_state=0).fit(blobs3)
    assert abs(gm.score(blobs3) - em.score(blobs3)) < 5e-3


def test_warm_start_continues(blobs3):
    gm = MLEGaussianMixture(3, random_state=0, max_iter=5, tol=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(blobs3)
        first = gm.lower_bound_
        gm.fit(blobs3)
    # lower_bound_ is the log-likelihood at the fitted parameters, where the
    # continued fit's first (full-batch) epoch starts.
    assert gm.lower_bounds_[0] == pytest.approx(first, rel=1e-12, abs=0)
    assert gm.lower_bound_ > first


def test_no_retracing_across_fits(blobs3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLEGaussianMixture(3, random_state=0, max_iter=3, tol=0).fit(blobs3)
    train = compiled("train", "adam", "full", "float64")
    count = train.experimental_get_tracing_count()
    for n_rows, batch in [(200, None), (333, 32), (500, 100)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLEGaussianMixture(3, random_state=1, max_iter=2, tol=0,
                               batch_size=batch).fit(blobs3[:n_rows])
    assert train.experimental_get_tracing_count() == count


def test_verbose_prints_progress(blobs3, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLEGaussianMixture(3, random_state=0, max_iter=4, tol=0, verbose=2,
                           verbose_interval=2).fit(blobs3)
    out = capsys.readouterr().out
    assert "Initialization 0" in out
    assert out.count("  Iteration") == 2
    assert "did not converge" in out


def test_batch_size_does_not_chunk_initialisation_or_scoring(blobs3, monkeypatch):
    """``batch_size`` is the optimiser's mini-batch: the initialisation's EM data and
    predict chunk rows by the memory budget, not 32 rows at a time."""
    from skgmmvi._numpy import em as numpy_em
    from skgmmvi._tf import em as tf_em

    chunks = {}
    em_fit_data, score = tf_em.FitData, numpy_em.log_prob_resp

    def recording_fit_data(X, sample_weight, covariance_type, batch, dtype):
        chunks["initialisation"] = batch
        return em_fit_data(X, sample_weight, covariance_type, batch, dtype)

    def recording_score(X, params, covariance_type, batch):
        chunks["scoring"] = batch
        return score(X, params, covariance_type, batch)

    monkeypatch.setattr(tf_em, "FitData", recording_fit_data)
    monkeypatch.setattr(numpy_em, "log_prob_resp", recording_score)
    model = MLEGaussianMixture(3, batch_size=32, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(blobs3)
    model.predict(blobs3)
    assert chunks["initialisation"] >= len(blobs3)
    assert chunks["scoring"] >= len(blobs3)
    reference = MLEGaussianMixture(3, max_iter=2, random_state=0)
    assert model._batch_rows(3) == reference._batch_rows(3)


def test_em_batch_size_still_bounds_the_scoring_chunks(blobs3, monkeypatch):
    """For EM, ``batch_size`` bounds the rows held at once, in scoring too."""
    from skgmmvi._numpy import em as numpy_em

    chunks = []
    score = numpy_em.log_prob_resp

    def recording_score(X, params, covariance_type, batch):
        chunks.append(batch)
        return score(X, params, covariance_type, batch)

    model = EMGaussianMixture(3, batch_size=32, max_iter=5, random_state=0,
                              backend="numpy").fit(blobs3)
    monkeypatch.setattr(numpy_em, "log_prob_resp", recording_score)
    model.predict(blobs3)
    assert chunks == [32]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_n_init_keeps_the_start_whose_final_parameters_are_best():
    # Each epoch's recorded log-likelihood is from before its step; n_init used
    # to rank the starts by it, and kept (random_state 1, 2, 7) a start scoring
    # -5.19 where another scored -4.89 after its last step
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(200, 2) + [4, 0], rng.randn(150, 2) * 0.6 + [-2, 2],
                   rng.randn(150, 2) * 0.8 + [0, -4]])
    parameters = dict(n_components=3, init_params="random", max_iter=1, learning_rate=0.5)
    for seed in (1, 2, 7):
        kept = MLEGaussianMixture(n_init=3, random_state=seed, **parameters).fit(X)
        starts = np.random.RandomState(seed)  # the same draws, one start at a time
        scores = [MLEGaussianMixture(random_state=starts, **parameters).fit(X).score(X)
                  for _ in range(3)]
        assert kept.score(X) == pytest.approx(max(scores), rel=1e-12)
        assert kept.lower_bound_ == pytest.approx(kept.score(X), rel=1e-12)
