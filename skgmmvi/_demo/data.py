"""The demo's data: a synthetic 2-D mixture and standardised iris."""

import numpy as np

#: Parameters of the synthetic mixture: well separated, elongated, rotated.
TRUE_WEIGHTS = np.array([0.4, 0.6])
TRUE_MEANS = np.array([[-2.0, 0.0], [2.0, 1.0]])
TRUE_COVARIANCES = np.array([[[1.0, 0.8], [0.8, 1.0]],
                             [[0.6, -0.3], [-0.3, 0.4]]])
N_SAMPLES = 1000
SEED = 0


def make_synthetic_data(n_samples=N_SAMPLES, seed=SEED):
    """Draw rows from the two-component full-covariance mixture ``TRUE_*``.

    Parameters
    ----------
    n_samples : int, default=N_SAMPLES
        Number of rows.
    seed : int, default=SEED
        Seed of the random generator, so that every run sees the same data.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The rows, shuffled.
    labels : ndarray of shape (n_samples,)
        The component each row was drawn from.
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(TRUE_WEIGHTS), size=n_samples, p=TRUE_WEIGHTS)
    X = np.empty((n_samples, TRUE_MEANS.shape[1]))
    for k, (mean, cov) in enumerate(zip(TRUE_MEANS, TRUE_COVARIANCES)):
        rows = labels == k
        X[rows] = rng.multivariate_normal(mean, cov, size=int(rows.sum()))
    return X, labels


def load_standardised_iris():
    """Load scikit-learn's bundled iris data and standardise its features.

    Returns
    -------
    X : ndarray of shape (150, 4)
        Features scaled to zero mean and unit variance.
    species : ndarray of shape (150,)
        The true species of each flower (0, 1, 2).
    """
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    iris = load_iris()
    return StandardScaler().fit_transform(iris.data), iris.target
