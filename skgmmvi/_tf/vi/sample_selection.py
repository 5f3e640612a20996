"""Sample selection: which samples an iteration uses, and who generated them.

Interface of every option (issue 5 adds ``MixtureSampleSelection`` as a sibling):

``propose(state, hyper, seed) -> (x_new, component_of_x_new)``
    New points to evaluate on the target (before the evaluation).
``finish(state, hyper, x_new, component, log_density, grad) -> (state, batch)``
    Stores the evaluated points in the database, counts target evaluations and
    returns the batch the estimators use: ``x``, ``log_density``, ``grad``,
    ``valid`` (finite target value and gradient) and ``background_log_weights``,
    the log-weights over the current components of the mixture that generated
    ``x`` (the background density of the importance weights).
"""

from .._runtime import tensorflow
from . import database, gaussians


class ComponentSampleSelection:
    """VIPS-style selection: ``n_samples_per_component`` fresh samples per component.

    The background distribution is the mixture of the current components weighted
    by the number of samples each one drew (uniform, as every active component
    draws the same number). The newest samples are kept in the sample database
    (used by component adaptation to place new components).

    Not yet implemented: re-use of database samples (``ratio_reused > 0``, with the
    effective-sample-size rule ``max(1, n - floor(ESS_k))`` for the number of new
    samples). SAMTRON's published setting uses ``ratio_reused = 0``, under which
    that rule draws exactly ``n_samples_per_component`` new samples per component.
    """

    name = "component"

    def propose(self, state, hyper, seed):
        tf = tensorflow()
        n_desired = hyper["n_samples_per_component"]
        counts = tf.where(state["active"], n_desired, 0)
        capacity = tf.shape(state["means"])[0]
        n_features = tf.shape(state["means"])[1]
        dtype = state["means"].dtype
        noise = tf.random.stateless_normal(
            tf.stack([capacity, n_desired, n_features]), seed, dtype=dtype)
        draws = gaussians.sample(state["means"], state["prec_chol"], noise)
        keep = tf.range(n_desired)[None, :] < counts[:, None]
        x_new = tf.boolean_mask(draws, keep)
        component = tf.boolean_mask(
            tf.broadcast_to(tf.range(capacity)[:, None], tf.shape(keep)), keep)
        return x_new, component

    def finish(self, state, hyper, x_new, component, log_density, grad):
        tf = tensorflow()
        dtype = state["means"].dtype
        valid = tf.math.is_finite(log_density) & tf.reduce_all(tf.math.is_finite(grad),
                                                              axis=1)
        stored = tf.where(valid, log_density, tf.constant(-float("inf"), dtype))
        state = database.add_samples(state, x_new, stored, tf.where(valid[:, None], grad, 0))
        n_new = tf.shape(x_new)[0]
        state = dict(state)
        state["n_evaluations"] = state["n_evaluations"] + tf.cast(n_new, tf.int64)
        capacity = tf.shape(state["means"])[0]
        counts = tf.math.unsorted_segment_sum(tf.ones_like(component), component, capacity)
        background_log_weights = (tf.math.log(tf.cast(counts, dtype))
                                  - tf.math.log(tf.cast(n_new, dtype)))
        batch = {
            "x": x_new,
            "log_density": tf.where(valid, log_density, 0),
            "grad": tf.where(valid[:, None], grad, 0),
            "valid": valid,
            "background_log_weights": background_log_weights,
        }
        return state, batch
