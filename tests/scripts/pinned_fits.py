"""Fits whose fitted arrays are pinned in ``tests/data/pinned_fits.npz``.

``tests/test_pinned_fits.py`` refits each of :data:`FITS` and compares with the
stored arrays. Regenerate the file (only when a change of results is intended,
and say why in the commit) from the repository root with::

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python tests/scripts/pinned_fits.py
"""

import os
import warnings

import numpy as np

DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "data", "pinned_fits.npz")
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "n_iter_")
#: The per-iteration objective each estimator records.
HISTORY = {"VariationalGMMTarget": "elbo_history_"}


def _blobs(n_samples=120, seed=0):
    """Three 3-D clusters with different shapes (small: the fits take milliseconds)."""
    rng = np.random.RandomState(seed)
    centres = np.array([[4.0, 0.0, 0.0], [-2.0, -2.0, 1.0], [0.0, 5.0, 5.0]])
    scales = np.array([[1.0, 0.5, 0.8], [1.2, 0.7, 0.6], [0.5, 0.5, 0.5]])
    labels = np.arange(n_samples) % 3
    return centres[labels] + rng.randn(n_samples, 3) * scales[labels]


def _em(backend, covariance_type, weighted=False, **extra):
    from skgmmvi import EMGaussianMixture

    def fit():
        X = _blobs()
        weight = np.arange(len(X)) % 4 if weighted else None
        model = EMGaussianMixture(3, covariance_type=covariance_type, max_iter=15,
                                  tol=0.0, random_state=0, backend=backend, **extra)
        return model.fit(X, sample_weight=weight), X
    return fit


def _mle(covariance_type, **extra):
    from skgmmvi import MLEGaussianMixture

    def fit():
        X = _blobs()
        model = MLEGaussianMixture(3, covariance_type=covariance_type, max_iter=12,
                                   tol=0.0, random_state=0, **extra)
        return model.fit(X), X
    return fit


def _mle_partial_fit():
    from skgmmvi import MLEGaussianMixture

    X = _blobs(180)
    model = MLEGaussianMixture(3, batch_size=20, random_state=0)
    for chunk in np.array_split(X, 3):
        model.partial_fit(chunk)
    return model, X


def _vi(covariance_type):
    from skgmmvi import VariationalGMMTarget
    from skgmmvi.targets import GaussianTarget

    def fit():
        target = GaussianTarget([1.0, -1.0], [[2.0, 0.6], [0.6, 1.0]])
        # (tol=None: from the exact start the stopping rule would end the full fit at 10)
        model = VariationalGMMTarget(target, n_components=2, max_iter=12, tol=None,
                                     covariance_type=covariance_type,
                                     adaptive_components=False,
                                     n_samples_per_component=40, random_state=0)
        return model.fit(), _blobs()[:, :2]
    return fit


#: name -> function returning (fitted estimator, rows to score).
FITS = {
    "em_numpy_full": _em("numpy", "full"),
    "em_numpy_diag_weighted": _em("numpy", "diag", weighted=True),
    "em_tf_full": _em("tensorflow", "full"),
    "em_tf_tied_float32": _em("tensorflow", "tied", dtype="float32"),
    "em_tf_spherical_batched": _em("tensorflow", "spherical", batch_size=32),
    "mle_full_batch_full": _mle("full"),
    "mle_minibatch_diag": _mle("diag", batch_size=32),
    "mle_minibatch_tied_sgd": _mle("tied", batch_size=40, optimizer="sgd",
                                   learning_rate=0.01, shuffle=False),
    "mle_partial_fit_full": _mle_partial_fit,
    "vi_full": _vi("full"),
    "vi_diag": _vi("diag"),
}


def pinned_arrays(name):
    """The arrays of fit ``name`` that are pinned: fitted state and scores."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, X = FITS[name]()
    arrays = {f"{name}/{attr}": np.asarray(getattr(model, attr)) for attr in FITTED}
    history = HISTORY.get(type(model).__name__, "lower_bounds_")
    arrays[f"{name}/history"] = np.asarray(getattr(model, history))
    arrays[f"{name}/score_samples"] = model.score_samples(X)
    arrays[f"{name}/predict_proba"] = model.predict_proba(X)
    return arrays


def main():
    arrays = {}
    for name in FITS:
        arrays.update(pinned_arrays(name))
    np.savez(DATA_FILE, **arrays)
    print(f"wrote {len(arrays)} arrays of {len(FITS)} fits to {DATA_FILE}")


if __name__ == "__main__":
    main()
