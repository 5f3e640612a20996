"""Initial responsibilities: k-means, k-means++, random, random_from_data.

Without sample weights and without repeated rows, the draws are exactly
scikit-learn's (same calls on the same ``RandomState``), so initial parameters match
``sklearn.mixture.GaussianMixture``.

With sample weights, or when rows repeat, the initialisation runs on the *distinct*
rows with their total weights, in lexicographic order. That makes it depend only
on the weighted empirical distribution: weighting a row by 2, repeating it, or
shuffling the rows gives the same starting point, so sample weights are exact
for the whole fit, initialisation included.

Small k-means runs on one OpenMP thread: the labels are the same whatever the
thread count (scikit-learn guarantees it), and on a busy machine a team of
threads waiting for each other made a 10 ms k-means take over 100 ms.
"""

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from ._numpy._threads import one_thread

#: k-means with ``n_samples * n_features * n_components`` at most this runs on one
#: OpenMP thread (more threads do not pay there and oversubscribe a loaded machine).
SINGLE_THREAD_KMEANS_WORK = 2e6


def kmeans_labels(X, sample_weight, n_components, random_state):
    """scikit-learn's k-means labels (one run), on one thread when the work is small."""
    kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
    if X.shape[0] * X.shape[1] * n_components > SINGLE_THREAD_KMEANS_WORK:
        return kmeans.fit(X, sample_weight=sample_weight).labels_
    with one_thread("openmp"):
        return kmeans.fit(X, sample_weight=sample_weight).labels_


def has_repeated_rows(X):
    """True if some row of ``X`` occurs more than once (cheap when none does)."""
    first = X[:, 0]
    order = np.argsort(first, kind="stable")
    same_as_next = first[order[1:]] == first[order[:-1]]
    if not np.any(same_as_next):
        return False
    candidates = np.zeros(X.shape[0], dtype=bool)
    candidates[order[1:][same_as_next]] = True
    candidates[order[:-1][same_as_next]] = True
    rows = X[candidates]
    return np.unique(rows, axis=0).shape[0] < rows.shape[0]


def initialization_rows(X, sample_weight, n_components):
    """Rows and weights the initialisation sees, and whether its draws see the weights.

    The start depends on the weighted rows only through their empirical
    distribution where scikit-learn's draws allow it. A row of weight zero is
    absent. Rows of equal weight, all distinct, take scikit-learn's draws on
    them (so ``sample_weight=c * np.ones(n)`` starts where no weights do, and
    0/1 weights where the rows of weight 1 alone do); rows that all repeat
    alike do too, on their distinct rows in order of first appearance (so
    ``np.repeat(X, c, axis=0)`` starts where ``X`` with weights ``c`` does).
    Otherwise (unequal weights, or rows repeated unequally) the draws are
    weighted, on the distinct rows in lexicographic order with their total
    weights, so that an integer weight equals repeating the row.

    Returns
    -------
    X_init : ndarray
        ``X`` itself, its rows of positive weight, or its distinct rows.
    weight_init : ndarray
        Their (total) weights, for the initial parameters.
    weighted_draws : bool
        False when the draws are scikit-learn's, unweighted, on ``X_init``.
    """
    weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    positive = weight > 0
    rows, row_weight = (X, weight) if np.all(positive) else (X[positive], weight[positive])
    if np.all(row_weight == row_weight[0]) and not has_repeated_rows(rows):
        return rows, row_weight, False
    distinct, first, inverse = np.unique(rows, axis=0, return_index=True,
                                         return_inverse=True)
    if distinct.shape[0] < n_components:
        # Fewer distinct points than components: nothing canonical to do.
        return X, weight, True
    totals = np.bincount(inverse.ravel(), weights=row_weight)
    if np.all(totals == totals[0]):  # every row repeated alike
        order = np.argsort(first)
        return distinct[order], totals[order], False
    return distinct, totals, True


def initial_responsibilities(init_params, X, sample_weight, n_components, random_state):
    """Hard labels (``-1`` = no component) or a soft responsibility matrix.

    Parameters
    ----------
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    n_components : int
    random_state : RandomState

    Returns
    -------
    labels : ndarray of int of shape (n_samples,) or None
    resp : ndarray of shape (n_samples, n_components) or None
        Exactly one of the two is not None.
    """
    n_samples = X.shape[0]
    if init_params == "kmeans":
        return kmeans_labels(X, sample_weight, n_components, random_state), None
    if init_params == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        resp /= resp.sum(axis=1)[:, np.newaxis]
        return None, resp
    if init_params == "random_from_data":
        if sample_weight is None:
            indices = random_state.choice(n_samples, size=n_components, replace=False)
        else:
            probabilities = sample_weight / np.sum(sample_weight)
            indices = random_state.choice(n_samples, size=n_components, replace=False,
                                          p=probabilities)
    else:  # k-means++
        _, indices = kmeans_plusplus(X, n_components, random_state=random_state,
                                     sample_weight=sample_weight)
    if np.unique(indices).size < n_components:
        # k-means++ on rows closer than squared distances resolve picks a row
        # twice; as in scikit-learn, that row then starts several components,
        # which hard labels cannot say.
        resp = np.zeros((n_samples, n_components))
        resp[indices, np.arange(n_components)] = 1.0
        return None, resp
    labels = np.full(n_samples, -1, dtype=np.int64)
    labels[indices] = np.arange(n_components)
    return labels, None
