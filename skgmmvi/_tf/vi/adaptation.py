"""Component adaptation: adding and deleting components.

Interface of every option:

``adapt(state, hyper, estimates, seed, reset) -> state``
    Called at the end of an iteration (``state["iteration"]`` already counts it).
    ``reset(state, slot_mask)`` lets the other modules forget what they kept
    about a slot that receives a new component.

(:class:`ComponentAdaptation`.) State of the ``adaptive`` option:
``reward_history`` and ``weight_history`` (K_max, ``history_length(del_iters)``)
and ``n_add_calls`` (int32, additions so far; it picks the add threshold).
"""

import math
from typing import Protocol

import numpy as np

from .._runtime import tensorflow
from . import database, gaussians, mixture
from .option import Option, OptionInterface

#: Log of the initial weight of an added component.
LOG_NEW_WEIGHT = float(np.log(1e-29))


def filter_half_width(del_iters):
    """Half width of the Gaussian filter that smooths reward histories."""
    return max(1, int(del_iters) // 3)


class FixedComponents(Option):
    """Keep the initial components."""

    name = "fixed"
    code = "E"

    def adapt(self, state, hyper, estimates, seed, reset):
        return state


class AdaptiveComponents(Option):
    """VIPS heuristics for adding and deleting components.

    *Add* (every ``add_iters`` iterations, while fewer than ``max_components``
    are active): among the database samples (the newest, and a uniform random
    subset of all ever evaluated), take the one maximising
    ``log p~(x) - max(max_x log q - c, log q(x))`` with ``c`` cycling through
    ``hyper["add_thresholds"]``; the new component sits there with covariance
    ``s I``, ``s`` chosen so that its entropy lies at a random point between the
    mean entropy of the components and the initial entropy, and weight 1e-29.

    *Delete* (after ``del_iters`` iterations): components whose reward history
    is full, whose largest weight over the last ``del_iters`` iterations (actual
    or the weight a greedy update on the rewards would give) stayed below
    ``hyper["delete_min_weight"]`` and whose smoothed reward, relative to the
    best component's, improved by at most 40 % over ``del_iters`` iterations.
    """

    name = "adaptive"
    code = "A"

    @staticmethod
    def history_length(del_iters):
        """Columns of reward and weight history kept per component."""
        return int(del_iters) + 2 * filter_half_width(del_iters)

    @classmethod
    def slot_state(cls, setup, n_slots):
        shape = (n_slots, cls.history_length(setup.hyper["del_iters"]))
        return {"reward_history": np.full(shape, np.nan, setup.dtype),
                "weight_history": np.full(shape, np.nan, setup.dtype)}

    @classmethod
    def scalar_state(cls, setup):
        return {"n_add_calls": np.int32(0)}

    def adapt(self, state, hyper, estimates, seed, reset):
        tf = tensorflow()
        state = self._record(state, estimates)
        iteration = state["iteration"]
        state = tf.cond(iteration > hyper["del_iters"],
                        lambda: self._delete(state, hyper), lambda: dict(state))
        n_active = tf.reduce_sum(tf.cast(state["active"], tf.int32))
        add_now = ((iteration % hyper["add_iters"] == 0) & (iteration > 1)
                   & (n_active < hyper["max_components"])
                   & tf.reduce_any(tf.logical_not(state["active"]))
                   & (state["db_filled"] > 0))
        return tf.cond(add_now, lambda: self._add(state, hyper, seed, reset),
                       lambda: dict(state))

    @staticmethod
    def _record(state, estimates):
        tf = tensorflow()
        dtype = state["means"].dtype
        nan = tf.constant(math.nan, dtype)
        reward = tf.where(estimates["has_samples"], estimates["reward"], nan)
        weight = tf.where(state["active"], tf.exp(state["log_weights"]), nan)
        out = dict(state)
        out["reward_history"] = tf.concat([state["reward_history"][:, 1:], reward[:, None]],
                                          axis=1)
        out["weight_history"] = tf.concat([state["weight_history"][:, 1:], weight[:, None]],
                                          axis=1)
        return out

    @staticmethod
    def _delete(state, hyper):
        tf = tensorflow()
        rewards = state["reward_history"]
        dtype = rewards.dtype
        length = tf.shape(rewards)[1]
        half = tf.maximum(1, hyper["del_iters"] // 3)
        offsets = tf.cast(tf.range(-half, half), dtype)
        sigma = tf.cast(hyper["del_iters"], dtype) / 8.0
        kernel = tf.exp(-0.5 * tf.square(offsets / sigma))
        kernel = kernel / tf.reduce_sum(kernel)
        current = tf.linalg.matvec(rewards[:, length - 2 * half:], kernel)
        old = tf.linalg.matvec(rewards[:, :2 * half], kernel)
        active = state["active"]
        best = tf.reduce_max(tf.where(active & tf.math.is_finite(current), current,
                                      tf.constant(-np.inf, dtype)))
        improvement = ((current - best) - (old - best)) / tf.abs(old - best)
        window_rewards = tf.where(active[:, None] & tf.math.is_finite(rewards), rewards,
                                  tf.constant(-np.inf, dtype))
        greedy = tf.exp(window_rewards - tf.reduce_logsumexp(window_rewards, axis=0,
                                                             keepdims=True))
        greedy = tf.where(tf.math.is_finite(greedy), greedy, 0)
        actual = tf.where(tf.math.is_finite(state["weight_history"][:, :length - 1]),
                          state["weight_history"][:, :length - 1], 0)
        largest = tf.maximum(tf.reduce_max(actual, axis=1), tf.reduce_max(greedy, axis=1))
        old_enough = state["n_updates"] >= length
        bad = (active & old_enough & (improvement <= 0.4)
               & (largest < hyper["delete_min_weight"]))
        # never delete every component: spare the heaviest
        heaviest = tf.one_hot(tf.argmax(tf.where(active, state["log_weights"],
                                                 tf.constant(-np.inf, dtype))),
                              tf.shape(active)[0], on_value=True, off_value=False)
        bad = bad & tf.logical_not(heaviest & tf.reduce_all(bad | tf.logical_not(active)))
        out = dict(state)
        out["active"] = active & tf.logical_not(bad)
        out["log_weights"] = mixture.normalized_log_weights(state["log_weights"],
                                                            out["active"])
        return out

    @staticmethod
    def _add(state, hyper, seed, reset):
        tf = tensorflow()
        dtype = state["means"].dtype
        candidates, candidate_log_density = database.valid_rows(state)
        log_q = mixture.log_density(state, candidates)
        thresholds = hyper["add_thresholds"]
        threshold = thresholds[state["n_add_calls"] % tf.shape(thresholds)[0]]
        score = candidate_log_density - tf.maximum(tf.reduce_max(log_q) - threshold, log_q)
        new_mean = candidates[tf.argmax(score)]
        active = state["active"]
        entropies = gaussians.entropy(state["prec_chol"])
        mean_entropy = (tf.reduce_sum(tf.where(active, entropies, 0))
                        / tf.reduce_sum(tf.cast(active, dtype)))
        mix = tf.random.stateless_uniform([], seed, dtype=dtype)
        entropy = mix * mean_entropy + (1.0 - mix) * hyper["initial_entropy"]
        n_features = tf.shape(state["means"])[1]
        d = tf.cast(n_features, dtype)
        variance = tf.exp(2.0 * (entropy - 0.5 * d * (math.log(2.0 * math.pi) + 1.0)) / d)
        slot = tf.argmax(tf.cast(tf.logical_not(active), tf.int32), output_type=tf.int32)
        capacity = tf.shape(active)[0]
        is_slot = tf.range(capacity) == slot
        out = dict(state)
        out["active"] = active | is_slot
        out["means"] = tf.where(is_slot[:, None], new_mean[None, :], state["means"])
        new_chol = tf.eye(n_features, dtype=dtype) / tf.sqrt(variance)
        out["prec_chol"] = tf.where(is_slot[:, None, None], new_chol[None],
                                    state["prec_chol"])
        out["log_weights"] = mixture.normalized_log_weights(
            tf.where(is_slot, tf.constant(LOG_NEW_WEIGHT, dtype), state["log_weights"]),
            out["active"])
        out["n_updates"] = tf.where(is_slot, 0, state["n_updates"])
        nan = tf.constant(math.nan, dtype)
        out["reward_history"] = tf.where(is_slot[:, None], nan, state["reward_history"])
        out["weight_history"] = tf.where(is_slot[:, None], nan, state["weight_history"])
        out["n_add_calls"] = state["n_add_calls"] + 1
        return reset(out, is_slot)


class ComponentAdaptation(OptionInterface, Protocol):
    """Interface of a component adaptation option."""

    def adapt(self, state, hyper, estimates, seed, reset):
        """State after adding and deleting components (see the module docstring)."""


#: The options, in the order of their integer codes in switched compilation.
OPTIONS = (FixedComponents, AdaptiveComponents)
