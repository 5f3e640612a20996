"""Adam, SGD and RMSprop written on explicit state tensors, for ``MLEGaussianMixture``.

Keras optimisers keep their state in variables shaped like the model's, so a
compiled loop that uses one is tied to one set of shapes. Here the same updates
(Keras' formulas, term for term) are pure functions of ``(params, grads, state)``:
one trace serves every number of components and features.

The state is ``(step, first, second, third)``: a step counter and three slot
tuples shaped like the parameters (zeros where an optimiser has no such slot).
The hyperparameters are one vector, :data:`HYPER_NAMES`, so that a Keras
optimiser instance's configuration feeds the same compiled loop.
"""

import numpy as np

from ._runtime import tensorflow

KINDS = ("adam", "sgd", "rmsprop")

#: Order of the hyperparameter vector the compiled loops take.
HYPER_NAMES = ("beta_1", "beta_2", "epsilon", "amsgrad", "rho", "momentum", "centered",
               "nesterov")
_DEFAULTS = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False,
             "rho": 0.9, "momentum": 0.0, "centered": False, "nesterov": False}
_USED = {"adam": {"beta_1", "beta_2", "epsilon", "amsgrad"},
         "sgd": {"momentum", "nesterov"},
         "rmsprop": {"rho", "momentum", "epsilon", "centered"}}
#: Keras options with no counterpart here: they must keep their neutral value.
_NEUTRAL = {"weight_decay": None, "clipnorm": None, "clipvalue": None,
            "global_clipnorm": None, "use_ema": False, "loss_scale_factor": None,
            "gradient_accumulation_steps": None}


class OptimizerSpec:
    """An optimiser kind, its hyperparameters and (for instances) its learning rate.

    Parameters
    ----------
    kind : {"adam", "sgd", "rmsprop"}
    hyper : ndarray of shape (len(HYPER_NAMES),)
    learning_rate : float or None
        The instance's own learning rate; None for a name (the estimator's
        ``learning_rate`` applies).
    """

    def __init__(self, kind, hyper, learning_rate=None):
        self.kind = kind
        self.hyper = hyper
        self.learning_rate = learning_rate

    @property
    def key(self):
        """What identifies a compatible optimiser state (kind and hyperparameters)."""
        return (self.kind, tuple(float(h) for h in self.hyper))


def optimizer_spec(optimizer):
    """The :class:`OptimizerSpec` of a name or of a Keras optimiser instance.

    An instance is read through its ``get_config()`` only (never built or
    changed), so the estimator's ``optimizer`` parameter stays the user's object.

    Raises
    ------
    ValueError
        For an optimiser class or option that this backend does not implement.
    """
    if isinstance(optimizer, str):
        return OptimizerSpec(optimizer, _hyper_vector({}))
    kind = type(optimizer).__name__.lower()
    supported = "adam, sgd, rmsprop"
    if kind not in KINDS:
        raise ValueError(
            f"optimizer={type(optimizer).__name__} instance is not supported; "
            f"MLEGaussianMixture implements the Keras optimisers {supported} "
            "(as a name or an instance of keras.optimizers.Adam, SGD or RMSprop).")
    config = optimizer.get_config()
    for name, neutral in _NEUTRAL.items():
        allowed = (None, 1) if name == "gradient_accumulation_steps" else (neutral,)
        if config.get(name, neutral) not in allowed:
            raise ValueError(
                f"The optimizer's option {name}={config[name]!r} is not supported by "
                "MLEGaussianMixture; leave it at its default.")
    learning_rate = config.get("learning_rate")
    if not isinstance(learning_rate, (int, float, np.floating)):
        raise ValueError(
            "The optimizer's learning_rate must be a number (a schedule is not "
            f"supported; see learning_rate_schedule); got {learning_rate!r}.")
    used = {name: config[name] for name in _USED[kind] if name in config}
    return OptimizerSpec(kind, _hyper_vector(used), float(learning_rate))


def _hyper_vector(values):
    merged = dict(_DEFAULTS, **values)
    return np.array([float(merged[name]) for name in HYPER_NAMES])


# ------------------------------------------------------------------ TF side
def initial_state(params):
    """A fresh optimiser state for parameter tensors ``params``."""
    tf = tensorflow()
    zeros = tuple(tf.zeros_like(p) for p in params)
    return (tf.zeros([], params[0].dtype), zeros, zeros, zeros)


def apply_update(kind, hyper, params, grads, state, learning_rate):
    """One optimiser step on the loss gradients ``grads``: ``(params, state)``."""
    step, first, second, third = state
    step = step + 1.0
    update = {"adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop}[kind]
    moved = [update(hyper, p, g, a, b, c, step, learning_rate)
             for p, g, a, b, c in zip(params, grads, first, second, third)]
    new_params, first, second, third = (tuple(column) for column in zip(*moved))
    return new_params, (step, first, second, third)


def _adam(hyper, param, grad, m, v, v_max, step, lr):
    tf = tensorflow()
    beta_1, beta_2, epsilon, amsgrad = hyper[0], hyper[1], hyper[2], hyper[3]
    alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
    m = m + (grad - m) * (1 - beta_1)
    v = v + (tf.square(grad) - v) * (1 - beta_2)
    v_max = tf.where(amsgrad > 0, tf.maximum(v_max, v), v_max)
    v_used = tf.where(amsgrad > 0, v_max, v)
    return param - (m * alpha) / (tf.sqrt(v_used) + epsilon), m, v, v_max


def _sgd(hyper, param, grad, velocity, unused, unused_too, step, lr):
    tf = tensorflow()
    momentum, nesterov = hyper[5], hyper[7]
    velocity = velocity * momentum - grad * lr
    moved = tf.where(nesterov > 0, param + velocity * momentum - grad * lr,
                     param + velocity)
    return moved, velocity, unused, unused_too


def _rmsprop(hyper, param, grad, square_mean, mean, velocity, step, lr):
    tf = tensorflow()
    rho, epsilon, momentum, centered = hyper[4], hyper[2], hyper[5], hyper[6]
    square_mean = rho * square_mean + (1 - rho) * tf.square(grad)
    mean = tf.where(centered > 0, rho * mean + (1 - rho) * grad, mean)
    denominator = tf.where(centered > 0, square_mean - tf.square(mean) + epsilon,
                           square_mean + epsilon)
    increment = lr * grad / tf.sqrt(denominator)
    velocity = tf.where(momentum > 0, momentum * velocity + increment, velocity)
    moved = tf.where(momentum > 0, param - velocity, param - increment)
    return moved, square_mean, mean, velocity
