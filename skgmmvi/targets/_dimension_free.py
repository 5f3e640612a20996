"""Helpers for targets that accept ``n_features=None`` ("any dimension")."""


def check_dimension(n_features, minimum, name):
    """Validate ``n_features``: None, or an integer of at least ``minimum``."""
    if n_features is None:
        return None
    if int(n_features) != n_features or n_features < minimum:
        raise ValueError(f"{name} needs n_features >= {minimum} (or None), got {n_features!r}.")
    return int(n_features)


class AnyDimension:
    """Mixin for targets defined in every dimension of at least ``minimum_dimension``.

    ``n_features=None`` means "any dimension": the estimator then takes D from its
    data, and :meth:`check_n_features` checks only the minimum.
    """

    minimum_dimension = 2

    def _validate_dimension(self, n_features):
        return check_dimension(n_features, self.minimum_dimension, type(self).__name__)

    def check_n_features(self, n_features):
        """Raise a ValueError when ``n_features`` does not fit this target.

        Parameters
        ----------
        n_features : int
            The dimension of the points a fit gives; at least the target's
            smallest dimension.
        """
        self._validate_dimension(n_features)
        super().check_n_features(n_features)


def sample_dimension(target, n_features):
    """Dimension of draws: the target's own, else the ``n_features`` argument."""
    if target.n_features is not None:
        if n_features is not None and int(n_features) != target.n_features:
            raise ValueError(f"{type(target).__name__} has n_features={target.n_features}, "
                             f"got n_features={n_features} for sampling.")
        return target.n_features
    if n_features is None:
        raise ValueError(f"{type(target).__name__} was built with n_features=None: pass "
                         "n_features to sample().")
    return target._validate_dimension(n_features)
