"""The interface every target density of :class:`~skgmmvi.VariationalGMMTarget` has.

A target is an unnormalised log-density ``log p~(x)`` on R^D. Three ways to write one:

* **TensorFlow** (preferred): override :meth:`Target.log_density`, a vectorised
  function of a ``(n, D)`` tensor written with TensorFlow ops. The backend calls it
  inside its compiled iteration and takes gradients by automatic differentiation.
* **TensorFlow, one trace per class**: override :meth:`Target.graph_parameters`
  (the target's arrays) and the static method :meth:`Target.log_density_with`
  (the density as a function of ``x`` and those arrays). The backend then passes
  the arrays into its compiled code as tensors, so that every instance of the
  class (new data, new seeds, new sizes) re-uses one compiled graph.
* **numpy**: set ``uses_tensorflow = False`` and override
  :meth:`Target.log_density_and_grad`, which takes and returns numpy arrays. The
  backend then evaluates it outside the compiled graph. A numpy black box without
  gradients may override :meth:`Target.log_density` alone (numpy in, numpy out):
  it fits with ``ng_estimation='more'``, which needs no gradients.

Targets are plain picklable objects: keep numpy arrays and Python numbers as
attributes, never tensors, variables or ``tf.function`` objects, so that an
estimator holding a target pickles, deep-copies and clones.
"""

import abc
import inspect

import numpy as np

#: (parameters method, density function) names of the one-trace-per-class hook;
#: the underscored pair is the older, private spelling, still honoured.
HOOK_NAMES = (("graph_parameters", "log_density_with"),
              ("_graph_parameters", "_log_density_with"))


def _definer(cls, name):
    """The class below :class:`Target` in ``cls``'s MRO that defines ``name``, or None."""
    for klass in cls.__mro__:
        if klass is Target:
            return None
        if name in vars(klass):
            return klass
    return None


def _overrides(cls, name):
    """Whether ``cls`` defines ``name`` somewhere below :class:`Target`."""
    return _definer(cls, name) is not None


class Target(abc.ABC):
    """Base class of unnormalised target densities for variational inference.

    An abstract class: a subclass must define :meth:`log_density` (TensorFlow),
    or the pair :meth:`graph_parameters` / :meth:`log_density_with`, or set
    ``uses_tensorflow = False`` and define :meth:`log_density_and_grad` (numpy),
    or, without gradients, :meth:`log_density` in numpy. Instantiating one that
    defines none of them raises a TypeError.

    To fit a plain function ``f(x)`` of a ``(n, D)`` tensor, wrap it::

        class MyTarget(Target):
            n_features = 2

            def log_density(self, x):
                return f(x)

    Parameters
    ----------
    *args, **kwargs
        The subclass's own constructor arguments (:class:`Target` takes none).

    Attributes
    ----------
    n_features : int or None
        Dimension D of the target's space; None when the target works in any
        dimension (it is then taken from ``X`` or from ``init_mean`` at fit time).
    uses_tensorflow : bool
        True when :meth:`log_density` is written in TensorFlow (gradients by
        autodiff); False for a numpy target (:meth:`log_density_and_grad`, or
        :meth:`log_density` alone when there is no gradient).
    """

    n_features = None
    uses_tensorflow = True

    def __new__(cls, *args, **kwargs):
        if not (_overrides(cls, "log_density") or cls._defined_hook() is not None
                or (not cls.uses_tensorflow and _overrides(cls, "log_density_and_grad"))):
            raise TypeError(
                f"Can't instantiate {cls.__name__}: a Target must define its density. "
                "Override log_density(self, x) with TensorFlow ops on the (n, D) tensor "
                "x (returning shape (n,)), or graph_parameters(self) together with the "
                "static method log_density_with(x, *parameters), or set "
                "uses_tensorflow = False and override log_density_and_grad(self, x) "
                "in numpy.")
        return super().__new__(cls)

    @classmethod
    def parameters_hook(cls):
        """The class's one-trace hook, or None when it has none in effect.

        None when the class does not define the hook, or when it overrides
        ``log_density`` below the class that defines the hook's density (a
        subclass that changes the density of a bundled target is then
        evaluated through its own ``log_density``).

        Returns
        -------
        tuple (str, function) or None
            The name of the parameters method and the static density function.

        Raises
        ------
        TypeError
            When the density function of the hook is not a static method (a
            method of ``self`` could read instance attributes that the shared
            compiled graph would then freeze).
        """
        hook = cls._defined_hook()
        if hook is None:
            return None
        density_class = _definer(cls, "log_density")
        if density_class is not None and not issubclass(_definer(cls, hook[2]),
                                                        density_class):
            return None
        return hook[:2]

    @classmethod
    def _defined_hook(cls):
        """``(parameters name, static function, function name)`` or None."""
        for parameters_name, function_name in HOOK_NAMES:
            if not _overrides(cls, parameters_name):
                continue
            function = inspect.getattr_static(cls, function_name, None)
            if not isinstance(function, staticmethod):
                raise TypeError(
                    f"{cls.__name__} defines {parameters_name}() but its "
                    f"{function_name} is not a @staticmethod. Write it as "
                    f"@staticmethod {function_name}(x, *parameters) that uses only its "
                    "arguments: one compiled graph serves every instance of the class.")
            return parameters_name, function.__func__, function_name
        return None

    def graph_parameters(self):
        """The target's arrays, passed into compiled code as tensors.

        Override it together with :meth:`log_density_with` so that one compiled
        graph serves every instance of the class: the backend keys its compiled
        iteration by the class (and the number of dimensions and the kind of
        each array), not by the instance, so new data, seeds or sizes do not
        retrace. Every array may change its length from one instance to the
        next; floating arrays are cast to the fit's dtype.

        Returns
        -------
        tuple of array-like
            Numbers or numpy arrays (never tensors).
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define graph_parameters().")

    @staticmethod
    def log_density_with(x, *parameters):
        """Log-density of ``x`` given the arrays of :meth:`graph_parameters`.

        A **static method** of TensorFlow ops that uses only its arguments
        (shapes are read from the tensors, e.g. ``tf.shape(means)[0]``, never
        from ``self``).

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points; float64 or float32.
        *parameters : tf.Tensor
            The arrays of :meth:`graph_parameters`, as tensors (floating ones in
            ``x.dtype``).

        Returns
        -------
        tf.Tensor of shape (n,)
            ``log p~(x_i)`` for each row, up to one additive constant.
        """
        raise NotImplementedError("log_density_with is not defined.")

    def log_density(self, x):
        """Unnormalised log-density of each row, as TensorFlow ops.

        The default evaluates :meth:`log_density_with` on :meth:`graph_parameters`.

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points; float64 or float32. Compute in ``x.dtype``.

        Returns
        -------
        tf.Tensor of shape (n,)
            ``log p~(x_i)`` for each row, up to one additive constant.
        """
        hook = type(self)._defined_hook()
        if hook is None:
            raise NotImplementedError(
                f"{type(self).__name__} does not define log_density(x) in TensorFlow; "
                "override it, or set uses_tensorflow = False and override "
                "log_density_and_grad(x) in numpy.")
        parameters_name, function, _ = hook
        return function(x, *getattr(self, parameters_name)())

    def log_density_and_grad(self, x):
        """Unnormalised log-density and its gradient, in numpy.

        The default differentiates :meth:`log_density` with TensorFlow. For a
        numpy target (``uses_tensorflow = False``) that defines only
        :meth:`log_density`, in numpy, it returns that method's values and no
        gradient (None): such a target fits with ``ng_estimation='more'``.

        Parameters
        ----------
        x : ndarray of shape (n, D)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n,)
            ``log p~(x_i)`` for each row, up to one additive constant.
        grad : ndarray of shape (n, D) or None
            Gradient of ``log p~`` at each row. A numpy target may return None
            when it has no gradient; only ``ng_estimation='more'`` can use it.
            Before a fit, the gradient is compared with finite differences of
            the values at a few points, and a fit whose design reads it refuses
            a gradient that is not the gradient of the values.
        """
        if not self.uses_tensorflow:
            return self.log_density(np.asarray(x)), None
        from .._tf._runtime import tensorflow

        tf = tensorflow()
        x = tf.convert_to_tensor(np.asarray(x))
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = self.log_density(x)
        grad = tape.gradient(value, x)
        return value.numpy(), (None if grad is None else grad.numpy())

    def check_n_features(self, n_features):
        """Raise a ValueError when ``n_features`` does not fit this target.

        Parameters
        ----------
        n_features : int
            The dimension of the points a fit gives (columns of ``X`` or of
            ``init_mean``).
        """
        if self.n_features is not None and int(n_features) != int(self.n_features):
            raise ValueError(
                f"{type(self).__name__} is a density on R^{self.n_features}, but the "
                f"data or init_mean have {n_features} features. Pass points with "
                f"{self.n_features} columns.")

    def __repr__(self):
        return f"{type(self).__name__}(n_features={self.n_features})"
