"""Targets on bounded or positive coordinates, fitted in an unconstrained space."""

import numpy as np
from scipy.special import expit, log_expit

from ._base import Target
from ._utils import as_points, tf_module

#: Transform kinds, by their integer code in :attr:`TransformedTarget.kinds`.
KINDS = ("identity", "lower", "upper", "interval", "softplus")


class OutsideSupportWarning(UserWarning):
    """A fitted q puts a real fraction of its mass where the target's density is 0.

    Issued by :meth:`VariationalGMMTarget.fit <skgmmvi.VariationalGMMTarget.fit>`
    when more than 1% of the fitted mixture's samples have ``log p~ = -inf``
    (or NaN). Fit such a target through :class:`TransformedTarget`.
    """


def _parse(spec, coordinate):
    """``(kind code, low, high)`` of one coordinate's transform."""
    name = spec if isinstance(spec, str) or spec is None else (spec[0] if spec else "")
    args = () if isinstance(spec, str) or spec is None else tuple(spec[1:])
    arity = {None: 0, "identity": 0, "positive": 0, "softplus": 0, "lower": 1, "upper": 1,
             "interval": 2}
    if name not in arity or len(args) != arity[name]:
        raise ValueError(
            f"transforms[{coordinate}] is {spec!r}; use None or 'identity', 'positive' "
            "(x = exp(u)), 'softplus' (x = log(1 + exp(u))), ('lower', a), ('upper', b) "
            "or ('interval', a, b).")
    try:
        bounds = [float(a) for a in args]
    except (TypeError, ValueError):
        raise ValueError(f"transforms[{coordinate}] = {spec!r} needs numbers as bounds, one "
                         "per coordinate (an array of bounds is not one).") from None
    if not np.all(np.isfinite(bounds)) or (name == "interval" and not bounds[0] < bounds[1]):
        raise ValueError(f"transforms[{coordinate}] = {spec!r} needs finite bounds "
                         "(and low < high for an interval).")
    low = bounds[0] if name in ("lower", "interval") else 0.0
    high = bounds[-1] if name in ("upper", "interval") else 0.0
    kind = {None: "identity", "positive": "lower"}.get(name, name)
    return KINDS.index(kind), low, high


class _NumpyOps:
    """The elementwise functions of the transforms, in numpy."""
    where, exp, log = staticmethod(np.where), staticmethod(np.exp), staticmethod(np.log)
    sigmoid, log_sigmoid = staticmethod(expit), staticmethod(log_expit)
    softplus = staticmethod(lambda u: np.logaddexp(0.0, u))

    @staticmethod
    def constant(value, like):
        return np.asarray(value, dtype=np.float64)


class _TensorFlowOps:
    """The elementwise functions of the transforms, in TensorFlow."""

    def __init__(self):
        tf = tf_module()
        self.where, self.exp, self.log = tf.where, tf.exp, tf.math.log
        self.sigmoid, self.log_sigmoid = tf.sigmoid, tf.math.log_sigmoid
        self.softplus = tf.math.softplus
        self.constant = lambda value, like: tf.constant(value, dtype=like.dtype)


def _forward_and_log_jacobian(u, kinds, low, high, ops):
    """``x = T(u)`` per coordinate and ``sum_j log |dx_j / du_j|`` per row.

    Each branch sees ``u`` only where it applies (0 elsewhere), so an unused
    branch cannot overflow into NaN gradients.
    """
    low, high = ops.constant(low, u), ops.constant(high, u)
    is_ = [kinds == code for code in range(len(KINDS))]
    zero = u * 0
    safe = [ops.where(mask, u, zero) for mask in is_]
    log_width = ops.log(ops.where(is_[3], high - low, 1 + low * 0))
    x = ops.where(is_[1], low + ops.exp(safe[1]), u)
    x = ops.where(is_[2], high - ops.exp(safe[2]), x)
    x = ops.where(is_[3], low + (high - low) * ops.sigmoid(safe[3]), x)
    x = ops.where(is_[4], low + ops.softplus(safe[4]), x)
    log_jac = (ops.where(is_[1] | is_[2], u, zero)
               + ops.where(is_[3], log_width + ops.log_sigmoid(safe[3])
                           + ops.log_sigmoid(-safe[3]), zero)
               + ops.where(is_[4], ops.log_sigmoid(safe[4]), zero))
    return x, log_jac


class TransformedTarget(Target):
    """A target on bounded or positive coordinates, seen in unconstrained coordinates.

    VI with Gaussian mixtures needs a target whose density is positive on all of
    R^D. For a density on a half-line or an interval (a scale, a rate, a
    probability), fit it through a bijection ``x = T(u)`` from R^D onto the
    support, coordinate by coordinate, as Stan and TensorFlow Probability's
    bijectors do. The fitted density of ``u`` is::

        log p~_u(u) = log p~(T(u)) + sum_j log |dT_j / du_j (u_j)|

    with the same normaliser as ``p~`` (so ``log_evidence`` estimates the
    target's), and ``x = T(u)`` for ``u ~ q`` is distributed as q carried onto
    the support: map fitted samples with :meth:`forward`.

    Per-coordinate transforms and their log-Jacobians:

    ======================  =======================================  ==============================
    transform               ``x = T(u)``                             ``log |dx/du|``
    ======================  =======================================  ==============================
    ``None``, 'identity'    ``u``                                    0
    'positive'              ``exp(u)``                               ``u``
    'softplus'              ``log(1 + exp(u))``                      ``log sigmoid(u)``
    ``('lower', a)``        ``a + exp(u)``                           ``u``
    ``('upper', b)``        ``b - exp(u)``                           ``u``
    ``('interval', a, b)``  ``a + (b - a) sigmoid(u)``               ``log(b - a) + log sigmoid(u)
                                                                     + log sigmoid(-u)``
    ======================  =======================================  ==============================

    Works with TensorFlow targets (gradients by autodiff through the transform)
    and with numpy targets (``uses_tensorflow = False``: the chain rule is
    applied to their ``log_density_and_grad``).

    Parameters
    ----------
    target : Target
        The density on the constrained space.
    transforms : sequence of length D
        One transform per coordinate (see the table).

    Attributes
    ----------
    target : Target
    n_features : int
        D.
    kinds : ndarray of int of shape (D,)
        Code of each coordinate's transform (position in
        ``('identity', 'lower', 'upper', 'interval', 'softplus')``).
    low, high : ndarray of shape (D,)
        The bounds (0 where unused).
    log_normalizer : float or None
        The wrapped target's.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmmvi.targets import GaussianTarget, TransformedTarget
    >>> wrapped = TransformedTarget(GaussianTarget(np.zeros(2), np.eye(2)),
    ...                             ["positive", ("interval", -1.0, 1.0)])
    >>> wrapped.forward([[0.0, 0.0]])
    array([[1., 0.]])
    >>> wrapped.inverse([[1.0, 0.0]])
    array([[0., 0.]])
    """

    def __init__(self, target, transforms):
        if not isinstance(target, Target):
            raise TypeError(f"target must be a Target, got {type(target).__name__}.")
        if isinstance(transforms, (str, tuple)) or not len(transforms):
            raise ValueError("transforms must be a list with one transform per coordinate, "
                             f"got {transforms!r}.")
        parsed = np.array([_parse(spec, j) for j, spec in enumerate(transforms)])
        n_features = getattr(target, "n_features", None)
        if n_features is not None and len(parsed) != n_features:
            raise ValueError(
                f"transforms has {len(parsed)} entries, but {type(target).__name__} has "
                f"{n_features} coordinates: give one transform per coordinate "
                "('identity' where it is unbounded).")
        target.check_n_features(len(parsed))
        self.target = target
        self.transforms = list(transforms)
        self.kinds = parsed[:, 0].astype(np.int64)
        self.low, self.high = parsed[:, 1].copy(), parsed[:, 2].copy()
        self.n_features = len(parsed)
        self.uses_tensorflow = getattr(target, "uses_tensorflow", True)
        self.log_normalizer = getattr(target, "log_normalizer", None)

    # ----------------------------------------------------------- numpy maps
    def forward(self, u):
        """Constrained points ``x = T(u)`` of unconstrained ones (e.g. samples of q).

        Parameters
        ----------
        u : array-like of shape (n, D)
            Unconstrained points.

        Returns
        -------
        ndarray of shape (n, D)
            The points in the wrapped target's (constrained) space.
        """
        u = as_points(u, self.n_features, "u", rows_only=True)
        return _forward_and_log_jacobian(u, self.kinds, self.low, self.high, _NumpyOps)[0]

    def inverse(self, x):
        """Unconstrained points ``u = T^{-1}(x)`` (e.g. for ``init_mean`` or ``X``).

        Parameters
        ----------
        x : array-like of shape (n, D)
            Inside the support (strictly within the bounds).

        Returns
        -------
        ndarray of shape (n, D)
            The unconstrained points.
        """
        x = as_points(x, self.n_features, "x", rows_only=True)
        k, low, high = self.kinds, self.low, self.high
        with np.errstate(divide="ignore", invalid="ignore"):
            shifted = np.where(k == 2, high - x, x - low)
            fraction = shifted / np.where(k == 3, high - low, 1.0)
            u = np.where((k == 1) | (k == 2), np.log(shifted), x)
            u = np.where(k == 3, np.log(fraction) - np.log1p(-fraction), u)
            u = np.where(k == 4, shifted + np.log(-np.expm1(-shifted)), u)
        if not np.all(np.isfinite(u)):
            raise ValueError("x must lie strictly inside the support of every coordinate.")
        return u

    def log_det_jacobian(self, u):
        """Log-determinant ``sum_j log |dT_j / du_j|`` of the map's Jacobian.

        Parameters
        ----------
        u : array-like of shape (n, D)
            Unconstrained points, as :meth:`forward` takes them.

        Returns
        -------
        ndarray of shape (n,)
            The log-determinant at each row.
        """
        u = as_points(u, self.n_features, "u", rows_only=True)
        log_jac = _forward_and_log_jacobian(u, self.kinds, self.low, self.high, _NumpyOps)[1]
        return np.sum(log_jac, axis=1)

    def _derivatives(self, u):
        """``dx/du`` and ``d log|dx/du| / du`` per coordinate (numpy)."""
        k = self.kinds
        s = expit(u)
        dx = np.where(k == 1, np.exp(np.where(k == 1, u, 0.0)), 1.0)
        dx = np.where(k == 2, -np.exp(np.where(k == 2, u, 0.0)), dx)
        dx = np.where(k == 3, (self.high - self.low) * s * (1.0 - s), dx)
        dx = np.where(k == 4, s, dx)
        dlog = np.where((k == 1) | (k == 2), 1.0, 0.0)
        dlog = np.where(k == 3, 1.0 - 2.0 * s, dlog)
        dlog = np.where(k == 4, 1.0 - s, dlog)
        return dx, dlog

    # ------------------------------------------------------------- density
    def log_density(self, x):
        """``log p~(T(u)) + log |det dT/du|`` of each row ``u`` of ``x`` (TensorFlow).

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Unconstrained points.

        Returns
        -------
        tf.Tensor of shape (n,)
            The log-density of the unconstrained rows.
        """
        tf = tf_module()
        constrained, log_jac = _forward_and_log_jacobian(
            x, tf.constant(self.kinds), self.low, self.high, _TensorFlowOps())
        return self.target.log_density(constrained) + tf.reduce_sum(log_jac, axis=1)

    def log_density_and_grad(self, x):
        """Log-density of the unconstrained rows ``x`` and its gradient (numpy).

        For a numpy target, the chain rule on its ``log_density_and_grad``; its
        gradient may be None (then so is this one).

        Parameters
        ----------
        x : ndarray of shape (n, D)
            Unconstrained points.

        Returns
        -------
        log_density : ndarray of shape (n,)
            The log-density of the unconstrained rows.
        grad : ndarray of shape (n, D) or None
            Its gradient with respect to ``x``.
        """
        if self.uses_tensorflow:
            return super().log_density_and_grad(x)
        u = as_points(x, self.n_features, "x", rows_only=True)
        constrained, log_jac = _forward_and_log_jacobian(u, self.kinds, self.low, self.high,
                                                         _NumpyOps)
        value, grad = self.target.log_density_and_grad(constrained)
        value = np.asarray(value, np.float64) + np.sum(log_jac, axis=1)
        if grad is None:
            return value, None
        dx, dlog = self._derivatives(u)
        return value, np.asarray(grad, np.float64) * dx + dlog

    def __repr__(self):
        return f"TransformedTarget({self.target!r}, transforms={self.transforms!r})"
