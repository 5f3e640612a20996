"""The interface every target density of :class:`~skgmmvi.VariationalGMMTarget` has.

A target is an unnormalised log-density ``log p~(x)`` on R^D. Two ways to write one:

* **TensorFlow** (preferred): override :meth:`Target.log_density`, a vectorised
  function of a ``(n, D)`` tensor written with TensorFlow ops. The backend calls it
  inside its compiled iteration and takes gradients by automatic differentiation.
* **numpy**: set ``uses_tensorflow = False`` and override
  :meth:`Target.log_density_and_grad`, which takes and returns numpy arrays. The
  backend then evaluates it outside the compiled graph.

Targets are plain picklable objects: keep numpy arrays and Python numbers as
attributes, never tensors, variables or ``tf.function`` objects, so that an
estimator holding a target pickles, deep-copies and clones.
"""

import numpy as np


class Target:
    """Base class of unnormalised target densities for variational inference.

    Attributes
    ----------
    n_features : int or None
        Dimension D of the target's space; None when the target works in any
        dimension (it is then taken from ``X`` or from ``init_mean`` at fit time).
    uses_tensorflow : bool
        True when :meth:`log_density` is written in TensorFlow (gradients by
        autodiff); False when only :meth:`log_density_and_grad` in numpy exists.
    """

    n_features = None
    uses_tensorflow = True

    def log_density(self, x):
        """Unnormalised log-density of each row, as TensorFlow ops.

        Parameters
        ----------
        x : tf.Tensor of shape (n, D)
            Points; float64 or float32. Compute in ``x.dtype``.

        Returns
        -------
        tf.Tensor of shape (n,)
            ``log p~(x_i)`` for each row, up to one additive constant.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define log_density(x) in TensorFlow; "
            "override it, or set uses_tensorflow = False and override "
            "log_density_and_grad(x) in numpy.")

    def log_density_and_grad(self, x):
        """Unnormalised log-density and its gradient, in numpy.

        The default differentiates :meth:`log_density` with TensorFlow.

        Parameters
        ----------
        x : ndarray of shape (n, D)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n,)
        grad : ndarray of shape (n, D)
            Gradient of ``log p~`` at each row.
        """
        from .._tf._runtime import tensorflow

        tf = tensorflow()
        x = tf.convert_to_tensor(np.asarray(x))
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = self.log_density(x)
        return value.numpy(), tape.gradient(value, x).numpy()

    def check_n_features(self, n_features):
        """Raise a ValueError when ``n_features`` does not fit this target."""
        if self.n_features is not None and int(n_features) != int(self.n_features):
            raise ValueError(
                f"{type(self).__name__} is a density on R^{self.n_features}, but the "
                f"data or init_mean have {n_features} features. Pass points with "
                f"{self.n_features} columns.")

    def __repr__(self):
        return f"{type(self).__name__}(n_features={self.n_features})"
