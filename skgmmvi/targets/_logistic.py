"""Bayesian logistic regression posterior, and the breast-cancer benchmark problem."""

import numpy as np

from ._base import Target
from ._utils import LOG_2PI, cast_like, check_rng, tf_module


class LogisticRegressionPosterior(Target):
    """Unnormalised posterior of Bayesian logistic regression weights.

    ``log p~(w) = log N(w; 0, prior_scale^2 I) + sum_i log sigmoid(t_i x_i . w)``
    with ``t_i`` in {-1, +1}. The prior is normalised, so the normaliser of the
    target is the model evidence ``p(y | X)``. No intercept is added: append a
    column of ones to ``X`` for one (see :func:`breast_cancer_posterior`).

    Parameters
    ----------
    X : array-like of shape (n_samples, D)
        Design matrix; D is the dimension of the weight space.
    y : array-like of shape (n_samples,)
        Labels of exactly two classes. The smaller class (in ``np.unique``
        order) is mapped to -1 and the larger to +1, so {0, 1} and {-1, 1}
        labels keep their usual meaning.
    prior_scale : float, default=10.0
        Standard deviation of the isotropic Gaussian prior.

    Attributes
    ----------
    n_features : int
        D.
    classes : ndarray of shape (2,)
        The original labels mapped to -1 and +1.
    signs : ndarray of shape (n_samples,)
        The labels as -1.0 / +1.0.
    log_normalizer : None
        Unknown (the log evidence).
    """

    log_normalizer = None

    def __init__(self, X, y, prior_scale=10.0):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError("X must be finite.")
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}.")
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) != 2:
            raise ValueError(f"y must contain exactly two classes, got {len(classes)}.")
        if not (np.isfinite(prior_scale) and prior_scale > 0):
            raise ValueError(f"prior_scale must be positive, got {prior_scale!r}.")
        self.X = X
        self.classes = classes
        self.signs = 2.0 * codes.reshape(-1) - 1.0
        self.prior_scale = float(prior_scale)
        self.n_features = X.shape[1]

    def graph_parameters(self):
        """The negated rows ``-t_i x_i`` of the design and the prior scale.

        Returns
        -------
        negated, prior_scale : ndarray
            Shapes (n_samples, D) and a scalar, as :meth:`log_density_with`
            takes them.
        """
        return -self.signs[:, None] * self.X, np.float64(self.prior_scale)

    @staticmethod
    def log_density_with(x, negated, prior_scale):
        """Log prior plus log-likelihood of each row of weights ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Weight vectors.
        negated : tf.Tensor of shape (n_samples, D)
            The design's rows times minus their label (+1 or -1).
        prior_scale : tf.Tensor
            Standard deviation of the Gaussian prior.

        Returns
        -------
        tf.Tensor of shape (n,)
            The unnormalised log-posterior of each weight vector.
        """
        tf = tf_module()
        dtype = x.dtype
        negated, prior_scale, d = cast_like(x, negated, prior_scale, tf.shape(x)[1])
        # Rows -t_i x_i: the negated margins are x @ negated^T.
        log_lik = _sum_log_sigmoid(x, negated)
        const = -d * (tf.math.log(prior_scale) + tf.constant(0.5 * LOG_2PI, dtype))
        log_prior = const - tf.reduce_sum(tf.square(x), axis=1) * (0.5 / tf.square(prior_scale))
        return log_prior + log_lik

    def prior_sample(self, n, random_state=None):
        """Draw weight vectors from the prior ``N(0, prior_scale^2 I)``.

        Parameters
        ----------
        n : int
            Number of weight vectors.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw.

        Returns
        -------
        ndarray of shape (n, D)
            The weight vectors.
        """
        rng = check_rng(random_state)
        return self.prior_scale * rng.standard_normal((int(n), self.n_features))

    def __repr__(self):
        return (f"LogisticRegressionPosterior(n_samples={self.X.shape[0]}, "
                f"n_features={self.n_features}, prior_scale={self.prior_scale:g})")


def breast_cancer_design():
    """Design matrix and labels of the breast-cancer benchmark (numpy).

    Returns
    -------
    X : ndarray of shape (569, 31)
        A column of ones (bias, first column, as in gmmvi) followed by the 30
        features of :func:`sklearn.datasets.load_breast_cancer`, each divided by
        its standard deviation (``np.std``, ddof=0) and not centred.
    y : ndarray of shape (569,)
        The labels of scikit-learn's data set (0 malignant, 1 benign).
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    features = data.data / np.std(data.data, axis=0)
    X = np.hstack([np.ones((features.shape[0], 1)), features])
    return X, np.asarray(data.target)


def breast_cancer_posterior(prior_scale=10.0):
    """The D = 31 breast-cancer logistic regression posterior of VIPS/gmmvi.

    Design matrix from :func:`breast_cancer_design` (bias column first, features
    scaled by their standard deviation, not centred), labels 0 -> -1 and
    1 -> +1, prior ``N(0, prior_scale^2 I)``.

    gmmvi's ``LogisticRegression`` maps label 1 to -1 and label 0 to +1, the
    opposite of here (and reads its own copy of the data file). Flipping every
    sign mirrors the posterior, ``w -> -w``, because the prior is symmetric, so
    the normaliser and the optimal ELBO do not depend on the convention.

    Parameters
    ----------
    prior_scale : float, default=10.0
        Standard deviation of the Gaussian prior of the weights.

    Returns
    -------
    LogisticRegressionPosterior
        The target.
    """
    X, y = breast_cancer_design()
    return LogisticRegressionPosterior(X, y, prior_scale=prior_scale)


def _sum_log_sigmoid(x, negated):
    """``sum_i log sigmoid(t_i x_i . w)`` for each row ``w`` of ``x``, with its gradient.

    ``log sigmoid(m) = -softplus(-m)`` and its derivative ``sigmoid(-m)`` is
    ``exp(-m - softplus(-m))``, so value and gradient share one softplus of the
    (n, n_samples) negated margins: three elementwise passes over that matrix
    where automatic differentiation of ``tf.math.log_sigmoid`` takes eight (the
    target evaluation dominates a VI iteration on this problem).
    """
    tf = tf_module()

    @tf.custom_gradient
    def value(x):
        negated_margins = tf.matmul(x, negated, transpose_b=True)
        softplus = tf.math.softplus(negated_margins)

        def gradient(upstream):
            sigmoid = tf.exp(negated_margins - softplus)  # sigmoid(-margin)
            return -upstream[:, None] * tf.matmul(sigmoid, negated)

        return -tf.reduce_sum(softplus, axis=1), gradient

    return value(x)
