"""The two step-size rules that the component and the weight step sizes share.

Both kinds of step size (:mod:`.component_stepsize`, per component, and
:mod:`.weight_stepsize`, a scalar) have a ``decaying`` and an ``improvement``
option; each rule is written once here, for a hyperparameter ``prefix``
(``"component_stepsize"`` or ``"weight_stepsize"``).
"""

from .._runtime import tensorflow


def decayed(hyper, prefix, count, dtype):
    """``s_0 / (1 + n^a)``: ``s_0 = hyper[prefix]``, ``a = hyper[prefix + "_decay"]``.

    Parameters
    ----------
    hyper : dict
        The hyperparameters.
    prefix : str
        Name of the step size's hyperparameters.
    count : Tensor
        ``n``: the updates (or iterations) done so far.
    dtype : tf.DType
        Dtype of the step size.

    Returns
    -------
    Tensor
        The step size, shaped like ``count``.
    """
    tf = tensorflow()
    n = tf.cast(count, dtype)
    return hyper[prefix] / (1.0 + tf.pow(n, hyper[prefix + "_decay"]))


def adapted(stepsize, improved, hyper, prefix):
    """``stepsize`` grown where ``improved``, shrunk elsewhere, clipped to its bounds.

    Parameters
    ----------
    stepsize : Tensor
        The current step size(s).
    improved : bool Tensor
        Where the objective improved since the last iteration.
    hyper : dict
        The factors ``prefix + "_increase"`` and ``"_decrease"``, the bounds
        ``prefix + "_min"`` and ``"_max"``.
    prefix : str
        Name of the step size's hyperparameters.

    Returns
    -------
    Tensor
        The new step size(s).
    """
    tf = tensorflow()
    factor = tf.where(improved, hyper[prefix + "_increase"], hyper[prefix + "_decrease"])
    return tf.clip_by_value(stepsize * factor, hyper[prefix + "_min"], hyper[prefix + "_max"])
