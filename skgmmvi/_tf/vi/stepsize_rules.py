"""The two step-size rules that the component and the weight step sizes share.

Both kinds of step size (:mod:`.component_stepsize`, per component, and
:mod:`.weight_stepsize`, a scalar) have a ``decaying`` and an ``improvement``
option; each rule is written once here, for a hyperparameter ``prefix``
(``"component_stepsize"`` or ``"weight_stepsize"``).
"""

from .._runtime import tensorflow


def decayed(state, hyper, prefix, count):
    """The ``decaying`` rule: ``s_0 / (1 + n^a)``, ``s_0 = hyper[prefix]``,
    ``a = hyper[prefix + "_decay"]``.

    Parameters
    ----------
    state : dict
        The iteration state; ``state[prefix]`` holds the step size(s).
    hyper : dict
        The hyperparameters.
    prefix : str
        Name of the step size's state key and hyperparameters.
    count : Tensor
        ``n``: the updates (or iterations) done so far.

    Returns
    -------
    state : dict
        A copy of ``state`` holding the new step size(s).
    stepsize : Tensor
        The new step size(s), shaped like ``count``.
    """
    tf = tensorflow()
    n = tf.cast(count, state[prefix].dtype)
    out = dict(state)
    out[prefix] = hyper[prefix] / (1.0 + tf.pow(n, hyper[prefix + "_decay"]))
    return out, out[prefix]


def improved(stepsize, value, previous, has_value, hyper, prefix):
    """The ``improvement`` rule: grow ``stepsize`` where ``value`` rose, shrink it
    where it did not, clipped to its bounds.

    A step size changes only where this iteration has a value and the last one
    had a finite value to compare it with.

    Parameters
    ----------
    stepsize : Tensor
        The current step size(s).
    value : Tensor
        This iteration's objective (the ELBO, or each component's reward),
        shaped like ``stepsize``.
    previous : Tensor
        The last value kept (NaN until there is one).
    has_value : bool Tensor
        Where ``value`` exists (a component without samples has none).
    hyper : dict
        The factors ``prefix + "_increase"`` and ``"_decrease"``, the bounds
        ``prefix + "_min"`` and ``"_max"``.
    prefix : str
        Name of the step size's hyperparameters.

    Returns
    -------
    stepsize : Tensor
        The new step size(s).
    last : Tensor
        The value to compare the next iteration's with.
    """
    tf = tensorflow()
    comparable = has_value & tf.math.is_finite(previous)
    factor = tf.where(value > previous, hyper[prefix + "_increase"],
                      hyper[prefix + "_decrease"])
    adapted = tf.clip_by_value(stepsize * factor, hyper[prefix + "_min"],
                               hyper[prefix + "_max"])
    return tf.where(comparable, adapted, stepsize), tf.where(has_value, value, previous)
