"""Streamed input: fitting on a tf.data.Dataset of row batches."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skgmmvi import BayesianGaussianMixture, EMGaussianMixture, MLEGaussianMixture
from skgmmvi import _stream


@pytest.fixture(scope="module")
def tf():
    from skgmmvi._tf._runtime import tensorflow

    return tensorflow()


def batches(tf, X, batch, weight=None):
    source = X if weight is None else (X, weight)
    return tf.data.Dataset.from_tensor_slices(source).batch(batch)


def quiet_fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


@pytest.mark.parametrize("batch_size", [None, 50])
@pytest.mark.parametrize("weighted", [False, True])
def test_mle_stream_equals_in_memory_fit(tf, blobs3, batch_size, weighted):
    weight = np.tile([1.0, 2.0, 0.5, 1.5], len(blobs3) // 4) if weighted else None
    kwargs = dict(n_components=3, random_state=0, max_iter=6, tol=0, optimizer="sgd",
                  learning_rate=0.1, shuffle=False, batch_size=batch_size)
    in_memory = quiet_fit(MLEGaussianMixture(**kwargs), blobs3, sample_weight=weight)
    streamed = quiet_fit(MLEGaussianMixture(**kwargs),
                         batches(tf, blobs3, batch_size or 128, weight))
    assert streamed.n_features_in_ == 3
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(in_memory, name),
                                   rtol=1e-8)
    np.testing.assert_allclose(streamed.lower_bounds_, in_memory.lower_bounds_,
                               rtol=1e-10)


def test_mle_partial_fit_on_datasets(tf, blobs3):
    kwargs = dict(n_components=3, random_state=0, batch_size=100, shuffle=False)
    in_memory = MLEGaussianMixture(**kwargs)
    streamed = MLEGaussianMixture(**kwargs)
    for chunk in np.array_split(blobs3, 5):
        in_memory.partial_fit(chunk)
        streamed.partial_fit(batches(tf, chunk, 100))
    np.testing.assert_allclose(streamed.means_, in_memory.means_, rtol=1e-8)
    assert streamed.n_iter_ == 5
    with pytest.raises(ValueError, match="expecting 3 features"):
        streamed.partial_fit(batches(tf, blobs3[:, :2], 10))


def test_stream_initialisation_uses_the_head(tf, blobs3, monkeypatch):
    monkeypatch.setattr(_stream, "STREAM_INIT_ROWS", 200)
    monkeypatch.setattr("skgmmvi._base.STREAM_INIT_ROWS", 200)
    kwargs = dict(n_components=3, random_state=0, max_iter=0)
    head = quiet_fit(MLEGaussianMixture(**kwargs), blobs3[:200])
    streamed = quiet_fit(MLEGaussianMixture(**kwargs), batches(tf, blobs3, 64))
    np.testing.assert_array_equal(streamed.means_, head.means_)
    np.testing.assert_array_equal(streamed.covariances_, head.covariances_)


def test_stream_input_errors(tf, blobs3):
    gm = MLEGaussianMixture(3, random_state=0)
    with pytest.raises(ValueError, match="sample_weight cannot be given"):
        gm.fit(batches(tf, blobs3, 10), sample_weight=np.ones(len(blobs3)))
    with pytest.raises(ValueError, match="fit_predict needs the rows in memory"):
        gm.fit_predict(batches(tf, blobs3, 10))
    with pytest.raises(ValueError, match=r"expected batches of rows"):
        gm.fit(tf.data.Dataset.from_tensor_slices(blobs3))  # single rows, not batches
    with pytest.raises(ValueError, match="dataset is empty"):
        gm.fit(batches(tf, blobs3[:0], 10))
    with pytest.raises(ValueError, match="Unsupported dataset elements"):
        gm.fit(tf.data.Dataset.from_tensor_slices({"x": blobs3}).batch(10))
    assert not hasattr(gm, "means_")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [7, 100, 1000])
def test_npy_batches_streams_every_row(tf, tmp_path, dtype, batch_size):
    from skgmmvi.io import npy_batches

    X = np.random.RandomState(0).randn(303, 4).astype(dtype)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    dataset = npy_batches(path, batch_size=batch_size)
    assert dataset.element_spec.shape.as_list() == [None, 4]
    parts = [batch.numpy() for batch in dataset]
    assert all(len(p) == batch_size for p in parts[:-1])
    np.testing.assert_array_equal(np.concatenate(parts), X)


def test_npy_batches_rejects_what_it_cannot_stream(tmp_path):
    from skgmmvi.io import npy_batches

    cases = {"cube.npy": np.zeros((2, 2, 2)), "ints.npy": np.zeros((4, 2), np.int64),
             "fortran.npy": np.asfortranarray(np.zeros((4, 3))), "line.npy": np.zeros(5)}
    messages = {"cube.npy": "2-D array", "ints.npy": "float64 or float32",
                "fortran.npy": "Fortran order",
                # the advice for a 1-D array makes it 2-D (it used to suggest
                # np.ascontiguousarray(X) alone, which leaves it 1-D)
                "line.npy": r"2-D array of rows.*X\.reshape\(-1, 1\)"}
    for name, array in cases.items():
        np.save(tmp_path / name, array)
        with pytest.raises(ValueError, match=messages[name]):
            npy_batches(tmp_path / name)


def test_mle_fits_a_file_on_disk(tf, tmp_path, blobs3):
    from skgmmvi.io import npy_batches

    np.save(tmp_path / "rows.npy", blobs3)
    kwargs = dict(n_components=3, random_state=0, max_iter=4, tol=0)
    from_file = quiet_fit(MLEGaussianMixture(**kwargs),
                          npy_batches(tmp_path / "rows.npy", batch_size=128))
    in_memory = quiet_fit(MLEGaussianMixture(**kwargs), blobs3)
    np.testing.assert_allclose(from_file.means_, in_memory.means_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("weighted", [False, True])
def test_em_stream_equals_in_memory_fit(tf, blobs3, covariance_type, weighted):
    weight = np.tile([1.0, 2.0, 0.5, 1.5], len(blobs3) // 4) if weighted else None
    kwargs = dict(n_components=3, random_state=0, covariance_type=covariance_type,
                  tol=1e-10, max_iter=30)
    in_memory = quiet_fit(EMGaussianMixture(**kwargs), blobs3, sample_weight=weight)
    streamed = quiet_fit(EMGaussianMixture(**kwargs), batches(tf, blobs3, 64, weight))
    assert streamed.n_iter_ == in_memory.n_iter_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(in_memory, name),
                                   rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(streamed.lower_bounds_, in_memory.lower_bounds_,
                               rtol=1e-10)


def test_em_fits_a_file_on_disk_from_given_initial_parameters(tf, tmp_path, blobs3):
    from skgmmvi.io import npy_batches

    start = quiet_fit(EMGaussianMixture(3, random_state=0, max_iter=0), blobs3[:50])
    inits = dict(weights_init=start.weights_, means_init=start.means_,
                 precisions_init=start.precisions_)
    np.save(tmp_path / "rows.npy", blobs3)
    kwargs = dict(n_components=3, max_iter=20, tol=0, **inits)
    from_file = quiet_fit(EMGaussianMixture(**kwargs),
                          npy_batches(tmp_path / "rows.npy", batch_size=100))
    in_memory = quiet_fit(EMGaussianMixture(**kwargs), blobs3)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(from_file, name), getattr(in_memory, name),
                                   rtol=1e-8)
    assert not hasattr(from_file, "feature_names_in_")
    np.testing.assert_array_equal(from_file.predict(blobs3), in_memory.predict(blobs3))


def test_em_stream_ill_defined_covariance_message(tf):
    X = np.repeat(np.eye(2), 20, axis=0)  # two points only, three components
    X = np.vstack([X, [[0.5, 0.5]]])
    gm = EMGaussianMixture(3, reg_covar=0, random_state=0, max_iter=5)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        gm.fit(batches(tf, X, 8))
    assert not hasattr(gm, "means_")


@pytest.mark.parametrize("make", [lambda: EMGaussianMixture(2),
                                  lambda: BayesianGaussianMixture(n_components=2),
                                  lambda: MLEGaussianMixture(2)])
def test_a_dataset_that_yields_its_rows_once_is_named_as_the_cause(make):
    # from_generator over a generator object: the fit's first read of rows uses
    # it up; the messages were "no positive weight" and "the optimiser diverged"
    tf = pytest.importorskip("tensorflow")
    X = np.random.RandomState(0).randn(300, 2)
    once = (X[i:i + 100] for i in range(0, 300, 100))
    dataset = tf.data.Dataset.from_generator(
        lambda: once, output_signature=tf.TensorSpec((None, 2), tf.float64))
    with pytest.raises(ValueError, match="every pass.*from_generator needs a function"):
        make().fit(dataset)


def test_npy_batches_checks_batch_size(tmp_path):
    from skgmmvi.io import npy_batches

    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((10, 3)))
    for bad in (0, -5, 2.5, True):  # were: ZeroDivisionError, an error deep in fit, truncated
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            npy_batches(path, bad)


@pytest.mark.parametrize("make", [lambda: EMGaussianMixture(2),
                                  lambda: MLEGaussianMixture(2, max_iter=5)])
def test_scoring_a_dataset_says_to_score_its_batches(make):
    tf = pytest.importorskip("tensorflow")
    X = np.random.RandomState(0).randn(60, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make().fit(X)
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(20)
    for method in ("predict", "predict_proba", "score_samples", "score", "bic"):
        with pytest.raises(ValueError, match="scores rows in memory, not a tf.data.Dataset"):
            getattr(model, method)(dataset)
