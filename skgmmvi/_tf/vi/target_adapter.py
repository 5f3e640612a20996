"""Adapting a :class:`~skgmmvi.targets.Target` to the compiled iteration, and checking it.

Adapting: what keys a target's compiled graph (:func:`target_key`), the arrays
it passes in as tensors (:func:`target_parameters`), and its log-density and
gradient inside traced code (:func:`target_log_density`,
:func:`target_values_and_grads`).

Checking: before the NG-VI loop compiles, :func:`check_target` evaluates the
target once on a few points drawn from the initial components and raises an
error that names the target, the shape or dtype expected and the one received
when the values or gradients are malformed, when there is no gradient path
(``tf.numpy_function``, ``tf.stop_gradient``, an integer cast) although the
design needs gradients, when float32 and float64 are mixed, or when numpy is
called on the symbolic input, and when the gradient is not the gradient of the
values (:mod:`.gradient_check`). Numpy targets' shapes and dtypes are checked at
every evaluation (:func:`numpy_values_and_grads`), since they run outside the
compiled graph.
"""

import collections
import functools
import hashlib
import inspect
import pickle
import threading

import numpy as np

from .._runtime import tensorflow, tf_dtype
from .gradient_check import disagreement_message, finite_difference_rows, gradient_disagreement

#: Rows of the first evaluation that checks a target (one more when it equals D,
#: so that a transposed (D, n) gradient cannot pass for (n, D)).
CHECK_ROWS = 5
#: Relative step of the finite difference that tells a flat target from a zero gradient.
CHECK_STEP = 1e-3
#: Target keys whose traced evaluation was already checked (bounded, oldest dropped).
_TRACE_CHECKED = collections.OrderedDict()
_TRACE_CHECKED_SIZE = 64
_TRACE_CHECKED_LOCK = threading.Lock()

#: What :func:`check_target` found: whether the target gives a usable gradient
#: (None when its values are non-finite at every row), and the target
#: evaluations the check spent (rows evaluated, finite differences included).
TargetCheck = collections.namedtuple("TargetCheck", "has_gradient n_evaluations")

NO_GRADIENT = (
    "{name}.log_density has no gradient path to x (the gradient is {what}), but the "
    "design's natural-gradient estimator (ng_estimation='stein') needs target "
    "gradients. This happens with tf.numpy_function, tf.stop_gradient or a cast to an "
    "integer type, and with a log-density that does not depend on x at all (a constant "
    "density on R^D has infinite mass: no distribution to approximate). Write the "
    "density in TensorFlow ops, or use ng_estimation='more', which needs no gradients.")
NUMPY_NO_GRADIENT = (
    "{name}.{method} gives no gradient{how}; Stein estimates (ng_estimation='stein') "
    "need target gradients. Define log_density_and_grad(self, x) returning the values, "
    "shape (n,), and the gradient, shape (n, D), or use ng_estimation='more', which "
    "needs no gradients.")
NUMPY_ON_SYMBOLIC = (
    "{name}.log_density calls numpy (or .numpy()) on the symbolic tensor x: inside the "
    "compiled iteration x has no values yet. Write the density with TensorFlow ops, or "
    "make it a numpy target: set uses_tensorflow = False and define "
    "log_density_and_grad(self, x) that takes and returns numpy arrays (the values, "
    "shape (n,), and their gradient, shape (n, D), or None with ng_estimation='more').")
MIXED_DTYPES = (
    "{name}.log_density mixes float32 and float64: this fit runs in {dtype} "
    "(dtype={dtype!r}) and x has that dtype. Compute in x.dtype: create constants with "
    "tf.constant(c, dtype=x.dtype) and cast arrays with tf.cast(a, x.dtype).")


# ------------------------------------------------------------------ adapting
def _hook(target):
    """``(parameters method name, static density function)`` or None."""
    hook = getattr(type(target), "parameters_hook", None)
    return hook() if hook is not None else None


def parameter_signature(params):
    """Rank and kind of each array a target passes in: part of a compiled
    function's key, since its input signature fixes them."""
    return tuple((np.ndim(p), np.asarray(p).dtype.kind) for p in params)


def target_key(target):
    """What identifies a target's traced graph.

    For a class with the one-trace hook (``graph_parameters`` and
    ``log_density_with``): the class, so that every instance shares one graph
    (with :func:`parameter_signature` of its arrays). Otherwise the pickled
    target (or, unpicklable, the object itself).
    """
    if _hook(target) is not None:
        return ("class", type(target).__module__, type(target).__qualname__)
    try:
        return ("pickle", hashlib.sha1(pickle.dumps(target)).hexdigest())
    except Exception:  # unpicklable user target: one graph per object
        return ("object", id(target))


def target_parameters(target, dtype):
    """Arrays a target passes into compiled code as tensors (may be empty);
    floating ones cast to ``dtype``."""
    hook = _hook(target)
    if hook is None:
        return ()
    return tuple(np.asarray(p, dtype) if np.asarray(p).dtype.kind == "f" else np.asarray(p)
                 for p in getattr(target, hook[0])())


def target_log_density(target, x, params):
    """The target's log-density of ``x`` inside traced code (autograph-converted)."""
    # The compiled iteration is traced without autograph (our modules use explicit
    # tf.cond / tf.while_loop, and converting them all tripled the tracing time);
    # a target's own code is converted, so Python control flow on tensors in a
    # user's log_density keeps working.
    hook = _hook(target)
    if hook is not None:
        return _autograph(hook[1])(x, *params)
    return _autograph(target.log_density)(x)


def _autograph(function):
    """``function`` converted by autograph; unconverted, as ``tf.function`` does,
    when its source is not available (e.g. defined in an interactive shell)."""
    tf = tensorflow()
    try:
        if inspect.ismethod(function):  # to_graph returns the unbound function
            return functools.partial(tf.autograph.to_graph(function.__func__),
                                     function.__self__)
        return tf.autograph.to_graph(function)
    except Exception:  # ConversionError and source lookup errors
        return function


def _raw_values_and_grads(target, x, params):
    tf = tensorflow()
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = target_log_density(target, x, params)
    return value, tape.gradient(value, x)


def target_values_and_grads(target, x, params):
    """Target log-density and its gradient by autodiff (traced); a missing
    gradient (checked before the loop compiles) becomes zeros."""
    value, grad = _raw_values_and_grads(target, x, params)
    if grad is None:
        grad = tensorflow().zeros_like(x)
    return value, grad


# ------------------------------------------------------------------ checking
def _name(target):
    return type(target).__name__


def check_rows(means, covariances, seed):
    """The points of the first evaluation: draws of the initial components
    (component ``i mod K`` for row ``i``), float64 numpy."""
    n_components, n_features = means.shape
    n_rows = CHECK_ROWS + (CHECK_ROWS == n_features)
    rng = np.random.RandomState(np.asarray(seed, np.int64) % (2**31))
    chosen = np.arange(n_rows) % n_components
    factors = np.linalg.cholesky(covariances[chosen])
    noise = rng.standard_normal((n_rows, n_features))
    return means[chosen] + np.einsum("nde,ne->nd", factors, noise)


def _check_shape(target, what, received, x_shape, method):
    """Raise a ValueError naming the target when ``what`` has the wrong shape."""
    n, d = x_shape
    expected = (n,) if what == "values" else (n, d)
    if tuple(received) == expected:
        return
    meaning = ("one log-density per row of x" if what == "values" else
               "the gradient of each row's log-density with respect to that row")
    raise ValueError(f"{_name(target)}.{method} returned {what} of shape "
                     f"{tuple(received)} for x of shape {(n, d)}; expected shape "
                     f"{expected}: {meaning}.")


def numpy_values_and_grads(target, x, dtype, needs_grad):
    """``log_density_and_grad`` of a numpy target, checked; numpy in ``dtype``.

    Raises
    ------
    ValueError
        When the values are not of shape (n,), the gradient not of shape (n, D),
        or the gradient is None although the design needs it.
    TypeError
        When values or gradient are not real numbers.
    """
    method = _numpy_method(type(target))
    value, grad = target.log_density_and_grad(x)
    value = np.asarray(value)
    _check_kind(target, "values", value.dtype, method)
    _check_shape(target, "values", value.shape, x.shape, method)
    if grad is None:
        if needs_grad:
            how = (" (it returned None)" if method == "log_density_and_grad" else
                   " (it defines log_density only)")
            raise ValueError(NUMPY_NO_GRADIENT.format(name=_name(target), method=method,
                                                      how=how))
        grad = np.zeros(x.shape, dtype)
    grad = np.asarray(grad)
    _check_kind(target, "a gradient", grad.dtype, method)
    _check_shape(target, "a gradient", grad.shape, x.shape, method)
    return value.astype(dtype, copy=False), grad.astype(dtype, copy=False)


@functools.lru_cache(maxsize=None)
def _numpy_method(cls):
    """The method of a numpy target class whose outputs the checks name: its own
    ``log_density_and_grad``, or, when it defines only ``log_density`` (no
    gradient, see :meth:`Target.log_density_and_grad`), that one. Once per class:
    numpy targets are checked at every evaluation."""
    from ...targets._base import _overrides

    if _overrides(cls, "log_density_and_grad") or not _overrides(cls, "log_density"):
        return "log_density_and_grad"
    return "log_density"


def _check_kind(target, what, dtype, method):
    if np.dtype(dtype).kind not in "fiu":
        raise TypeError(f"{_name(target)}.{method} returned {what} of dtype {dtype}; "
                        "expected real floating-point numbers.")


def _explained(target, error, dtype_name):
    """A clear error for a known mistake in a target's TensorFlow code, else None."""
    text = str(error)
    if ("symbolic" in text and "numpy" in text.lower()) or (
            isinstance(error, AttributeError) and "numpy" in text):
        return TypeError(NUMPY_ON_SYMBOLIC.format(name=_name(target)))
    dtypes = ("float32" in text and "float64" in text) or (
        "double tensor" in text and "float tensor" in text)
    if dtypes:
        return TypeError(MIXED_DTYPES.format(name=_name(target), dtype=dtype_name))
    return None


def _run_explained(target, dtype_name, function, *args):
    """``function(*args)``, with a target's known mistakes re-raised clearly."""
    try:
        return function(*args)
    except Exception as error:
        explained = _explained(target, error, dtype_name)
        if explained is None:
            raise
        raise explained from error


def check_target(target, x, dtype_name, needs_grad, params=()):
    """Evaluate ``target`` once on the rows ``x`` and check what it returns.

    TensorFlow targets are evaluated eagerly (values, dtypes, gradient path)
    and, once per compiled graph (:func:`target_key`), traced as the compiled
    iteration will trace them; numpy targets through
    :func:`numpy_values_and_grads`. A gradient is then compared with finite
    differences of the values (:mod:`.gradient_check`).

    Parameters
    ----------
    target : Target
    x : ndarray of shape (n, D)
    dtype_name : {"float64", "float32"}
    needs_grad : bool
        Whether the design uses target gradients (Stein estimates).
    params : tuple of ndarray
        :func:`target_parameters` of the target.

    Returns
    -------
    TargetCheck
        ``has_gradient``: whether the target gives a usable gradient (when
        ``needs_grad`` is False, a missing or wrong gradient is not an error, and
        this says so); None when the values are non-finite at every row of ``x``
        (nothing to check the gradient at). ``n_evaluations``: the rows the
        check evaluated.

    Raises
    ------
    ValueError
        Values or gradient of the wrong shape; and, when ``needs_grad``, no
        gradient path, or a gradient that is not the gradient of the values.
    TypeError
        Values of the wrong dtype, or a known mistake in TensorFlow code.
    """
    x = np.asarray(x, dtype_name)
    autodiff = getattr(target, "uses_tensorflow", True)
    if not autodiff:
        value, grad = numpy_values_and_grads(target, x, np.dtype(dtype_name), needs_grad)

        def evaluate(points):
            return numpy_values_and_grads(target, points, np.dtype(dtype_name), False)[0]
        if not np.any(np.isfinite(value)):
            return TargetCheck(None, x.shape[0])
        if not np.any(grad != 0):  # a missing gradient comes back as zeros
            return TargetCheck(False, x.shape[0])
    else:
        value, grad, evaluate = _checked_tensorflow_target(target, x, dtype_name, needs_grad,
                                                           params)
        if value is None or grad is None:
            return TargetCheck(None if value is None else False, x.shape[0])
    n_differences, wrong = _compare_with_differences(target, autodiff, x, value, grad,
                                                     dtype_name, evaluate)
    if wrong is not None and needs_grad:
        raise wrong
    return TargetCheck(wrong is None, x.shape[0] + n_differences)


def _checked_tensorflow_target(target, x, dtype_name, needs_grad, params):
    """A TensorFlow target's values and gradient at ``x`` (numpy), checked, and
    its eager log-density for the finite differences. Values None: non-finite at
    every row; gradient None: no gradient path (an error when ``needs_grad``)."""
    tf = tensorflow()
    x_t = tf.constant(x)
    params_t = tuple(tf.constant(p) for p in params)
    value, grad = _run_explained(target, dtype_name, _raw_values_and_grads,
                                 target, x_t, params_t)
    value = tf.convert_to_tensor(value)
    if value.dtype != x_t.dtype:
        raise TypeError(f"{_name(target)}.log_density returned {value.dtype.name} values "
                        f"for x of dtype {dtype_name}; "
                        + MIXED_DTYPES.format(name=_name(target), dtype=dtype_name)
                        .split(": ", 1)[1])
    _check_shape(target, "values", value.shape, x.shape, "log_density")
    _check_traced(target, dtype_name, needs_grad, params)  # numpy on symbolic tensors

    def autodiff_values(points):
        return target_log_density(target, tf.constant(points), params_t).numpy()
    if not np.any(np.isfinite(value.numpy())):  # the loop says "all NaN"
        return None, None, autodiff_values
    try:
        _check_gradient_path(target, x_t, params_t, value, grad)
    except ValueError:
        if needs_grad:
            raise
        return value.numpy(), None, autodiff_values
    return value.numpy(), grad.numpy(), autodiff_values


def _compare_with_differences(target, autodiff, x, value, grad, dtype_name, evaluate):
    """Finite differences of ``evaluate`` (the target's values) against ``grad``
    (by autodiff or, for a numpy target, its own) at the rows of ``x`` where both
    are finite: the evaluations spent, and the ValueError to raise when the
    gradient is not the gradient of the values (else None)."""
    usable = np.isfinite(value) & np.all(np.isfinite(grad), axis=1)
    if not np.any(usable):
        return 0, None
    rows = np.asarray(x, np.float64)[usable]
    points, directions, steps = finite_difference_rows(rows, dtype_name)
    found = gradient_disagreement(np.asarray(value, np.float64)[usable], grad[usable],
                                  evaluate(points), directions, steps, rows, dtype_name)
    if found is None:
        return points.shape[0], None
    method = "log_density" if autodiff else _numpy_method(type(target))
    return points.shape[0], ValueError(disagreement_message(_name(target), method, found,
                                                            autodiff))


def _check_gradient_path(target, x, params, value, grad):
    """Raise when the gradient is missing, or zero where the values change."""
    tf = tensorflow()
    if grad is None:
        raise ValueError(NO_GRADIENT.format(name=_name(target), what="None"))
    if np.any(grad.numpy() != 0):
        return
    step = CHECK_STEP * (1.0 + tf.abs(x))
    up = target_log_density(target, x + step, params)
    down = target_log_density(target, x - step, params)
    change = np.abs(up.numpy() - down.numpy())
    finite = np.isfinite(change)
    scale = 1e-6 * (1.0 + np.abs(value.numpy()))
    if np.any(finite & (change > scale)):
        raise ValueError(NO_GRADIENT.format(
            name=_name(target), what="zero where its values change"))


def _check_traced(target, dtype_name, needs_grad, params):
    """Trace the target alone as the compiled loop will (once per graph key)."""
    key = (parameter_signature(params), target_key(target), dtype_name, needs_grad)
    with _TRACE_CHECKED_LOCK:
        if _TRACE_CHECKED.pop(key, False):
            _TRACE_CHECKED[key] = True  # most recently used
            return
    tf = tensorflow()
    dtype = tf_dtype(dtype_name)
    params_spec = tuple(tf.TensorSpec([None] * np.ndim(p), tf.as_dtype(np.asarray(p).dtype))
                        for p in params)
    evaluate = _raw_values_and_grads if needs_grad else target_log_density
    function = tf.function(lambda x, params: evaluate(target, x, params), autograph=False,
                           input_signature=[tf.TensorSpec([None, None], dtype), params_spec])
    _run_explained(target, dtype_name, function.get_concrete_function)
    with _TRACE_CHECKED_LOCK:
        _TRACE_CHECKED[key] = True
        while len(_TRACE_CHECKED) > _TRACE_CHECKED_SIZE:
            _TRACE_CHECKED.popitem(last=False)


# ------------------------------------------------- what the estimator checks
#: Fraction of q's samples outside the support above which the fit warns.
SUPPORT_TOLERANCE = 0.01

PLAIN_FUNCTION = (
    "target must be a skgmmvi.targets.Target, not a plain function ({function!r}). "
    "Wrap the function in a subclass of Target:\n\n"
    "    from skgmmvi.targets import Target\n\n"
    "    class MyTarget(Target):\n"
    "        n_features = 2  # the dimension D\n\n"
    "        def log_density(self, x):  # x: a (n, D) tensor; return shape (n,)\n"
    "            return my_function(x)  # TensorFlow ops, computed in x.dtype\n\n"
    "and pass MyTarget(). For a function written in numpy, set uses_tensorflow = False "
    "and define log_density_and_grad(self, x) returning the values (n,) and their "
    "gradient (n, D) (or None with ng_estimation='more').")


def check_is_target(target):
    """Raise a TypeError saying how to wrap ``target`` when it is a plain callable."""
    from ...targets import Target

    if target is not None and not isinstance(target, Target):
        raise TypeError(PLAIN_FUNCTION.format(function=target))


def warn_undefined_values(log_p, method):
    """RuntimeWarning counting the NaN or +inf target values ``method`` left out."""
    undefined = int(np.sum(np.isnan(log_p) | (log_p == np.inf)))
    if undefined:
        import warnings

        warnings.warn(f"{method}: the target was NaN or +inf (undefined) at {undefined} "
                      f"of {log_p.size} samples of q; they count as zero density.",
                      RuntimeWarning, stacklevel=3)


def warn_if_outside_support(target, log_p):
    """Warn when a real fraction of the fitted q's samples fall outside the support.

    ``log_p`` are the target's log-densities at fresh samples of the fitted
    mixture (the estimator's post-fit check draws them once, for this and for
    the PSIS diagnostics). Issues an :class:`~skgmmvi.targets.OutsideSupportWarning`
    when more than :data:`SUPPORT_TOLERANCE` of them are ``-inf`` or NaN: the
    NG-VI iteration leaves such samples out of its estimates, so the fit cannot
    see the mass q puts there.

    Parameters
    ----------
    target : Target
    log_p : ndarray of shape (n,)
    """
    import warnings

    from ...targets import OutsideSupportWarning

    outside = np.sum(log_p == -np.inf)
    undefined = np.sum(np.isnan(log_p))
    fraction = (outside + undefined) / log_p.size
    if fraction > SUPPORT_TOLERANCE:
        found = []
        if outside:
            found.append(f"{outside} have log p~ = -inf (outside its support: q puts mass "
                         "where the target has none, and elbo() is -inf)")
        if undefined:
            found.append(f"{undefined} have a NaN log p~ (the target is undefined there)")
        warnings.warn(
            f"{fraction:.1%} of {log_p.size} samples of the fitted q fall where "
            f"{_name(target)} has no density: {'; '.join(found)}. The fit "
            "leaves such samples out of its estimates, so it cannot see this mass. Fit "
            "bounded or positive coordinates in an unconstrained space: wrap the target in "
            "skgmmvi.targets.TransformedTarget(target, transforms) and map the fitted "
            "samples back with its forward(); or make the log-density finite everywhere.",
            OutsideSupportWarning, stacklevel=3)
