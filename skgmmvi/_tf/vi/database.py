"""The sample database: a ring buffer of evaluated samples with fixed capacity.

State keys: ``db_x`` (C, D), ``db_log_density`` (C,), ``db_grad`` (C, D),
``db_generator`` (C,) int32 (slot of the Gaussian that drew the row in the
generator table of the sample selection), ``db_iteration`` (C,) int32 (iteration
that drew it), ``db_written`` (int32, rows ever written modulo C; the next row
goes there) and ``db_filled`` (int32, rows in use, at most C). Rows
whose target value was not finite keep ``-inf`` as log-density and are never
offered as candidates. The capacity is fixed inside compiled code; the host
enlarges it between compiled calls with :func:`resize_database`.
"""

import numpy as np

from .._runtime import tensorflow

DATABASE_KEYS = ("db_x", "db_log_density", "db_grad", "db_generator", "db_iteration",
                 "db_written", "db_filled")
#: State keys of the reservoir (see :func:`initial_reservoir`).
RESERVOIR_KEYS = ("cand_x", "cand_log_density", "cand_seen")
#: ``db_iteration`` of rows that must not be re-used (e.g. after a resize).
STALE = -(2**30)


def initial_database(capacity, n_features, dtype):
    """Numpy state of an empty database."""
    return {
        "db_x": np.zeros((capacity, n_features), dtype),
        "db_log_density": np.full(capacity, -np.inf, dtype),
        "db_grad": np.zeros((capacity, n_features), dtype),
        "db_generator": np.zeros(capacity, np.int32),
        "db_iteration": np.full(capacity, STALE, np.int32),
        "db_written": np.int32(0),
        "db_filled": np.int32(0),
    }


def resize_database(state, capacity):
    """Numpy database state with a new capacity, keeping the newest rows in order.

    Kept rows are marked stale (never re-used as samples: their generator slots
    change meaning when the component capacity changes); they remain candidates
    for placing new components.
    """
    old_capacity = state["db_x"].shape[0]
    filled = int(state["db_filled"])
    written = int(state["db_written"])
    order = (written - filled + np.arange(filled)) % old_capacity
    keep = order[max(0, filled - capacity):]
    new = initial_database(capacity, state["db_x"].shape[1], state["db_x"].dtype)
    n = len(keep)
    new["db_x"][:n] = state["db_x"][keep]
    new["db_log_density"][:n] = state["db_log_density"][keep]
    new["db_grad"][:n] = state["db_grad"][keep]
    new["db_written"] = np.int32(n % capacity)
    new["db_filled"] = np.int32(n)
    return new


def add_samples(state, x, log_density, grad, generator, iteration, reusable=True):
    """Write rows into the ring buffer (the newest overwrite the oldest).

    With ``reusable=False`` (no sample re-use: rows serve only as candidate
    locations for new components) the gradients, generators and iterations are
    not written, which saves copying those columns every iteration.
    """
    tf = tensorflow()
    capacity = tf.shape(state["db_x"])[0]
    n_new = tf.shape(x)[0]
    # If more rows arrive than fit, only the newest ``capacity`` are kept.
    skip = tf.maximum(n_new - capacity, 0)
    x, log_density, grad = x[skip:], log_density[skip:], grad[skip:]
    generator = generator[skip:]
    positions = (state["db_written"] + skip + tf.range(n_new - skip)) % capacity
    index = positions[:, None]
    out = dict(state)
    out["db_x"] = tf.tensor_scatter_nd_update(state["db_x"], index, x)
    out["db_log_density"] = tf.tensor_scatter_nd_update(state["db_log_density"], index,
                                                        log_density)
    if reusable:
        out["db_grad"] = tf.tensor_scatter_nd_update(state["db_grad"], index, grad)
        out["db_generator"] = tf.tensor_scatter_nd_update(state["db_generator"], index,
                                                          generator)
        out["db_iteration"] = tf.tensor_scatter_nd_update(
            state["db_iteration"], index, tf.fill(tf.shape(generator), iteration))
    out["db_written"] = (state["db_written"] + n_new) % capacity
    out["db_filled"] = tf.minimum(state["db_filled"] + n_new, capacity)
    return out


def newest_rows(state, n_rows, min_iteration):
    """Positions of the newest ``n_rows`` rows drawn at ``min_iteration`` or later."""
    tf = tensorflow()
    capacity = tf.shape(state["db_x"])[0]
    n_rows = tf.minimum(n_rows, state["db_filled"])
    positions = (state["db_written"] - n_rows + tf.range(n_rows)) % capacity
    recent = tf.gather(state["db_iteration"], positions) >= min_iteration
    return tf.boolean_mask(positions, recent)


def initial_reservoir(capacity, n_features, dtype):
    """Numpy state of an empty reservoir of ``capacity`` rows."""
    return {"cand_x": np.zeros((capacity, n_features), dtype),
            "cand_log_density": np.full(capacity, -np.inf, dtype),
            "cand_seen": np.int64(0)}


def offer_to_reservoir(state, x, log_density, seed):
    """Reservoir sampling: afterwards the reservoir is a uniform random subset of
    all valid rows offered so far (deterministic given ``seed``; when several new
    rows draw the same slot, the last one wins)."""
    tf = tensorflow()
    valid = tf.math.is_finite(log_density)
    x, log_density = tf.boolean_mask(x, valid), tf.boolean_mask(log_density, valid)
    n_new = tf.shape(x)[0]
    size = tf.shape(state["cand_x"])[0]
    index = state["cand_seen"] + tf.range(n_new, dtype=tf.int64)
    draw = tf.random.stateless_uniform(tf.reshape(n_new, [1]), seed, dtype=tf.float64)
    slot = tf.where(index < tf.cast(size, tf.int64), index,
                    tf.cast(tf.floor(draw * tf.cast(index + 1, tf.float64)), tf.int64))
    accepted = slot < tf.cast(size, tf.int64)
    slot = tf.where(accepted, tf.cast(slot, tf.int32), size)  # size = "nowhere"
    winner = tf.math.unsorted_segment_max(tf.range(n_new), slot, size + 1)[:size]
    # scatter only the slots that won a row (no gather and select over the whole
    # reservoir; inside the compiled loop the scatter still copies the buffer once)
    won = tf.where(winner >= 0)
    take = tf.gather_nd(winner, won)
    out = dict(state)
    out["cand_x"] = tf.tensor_scatter_nd_update(state["cand_x"], tf.cast(won, tf.int32),
                                                tf.gather(x, take))
    out["cand_log_density"] = tf.tensor_scatter_nd_update(
        state["cand_log_density"], tf.cast(won, tf.int32), tf.gather(log_density, take))
    out["cand_seen"] = state["cand_seen"] + tf.cast(n_new, tf.int64)
    return out


def valid_rows(state):
    """Candidate rows with a finite target value: the ring buffer's rows in use
    and the reservoir's, as ``(x, log_density)``."""
    tf = tensorflow()
    capacity = tf.shape(state["db_x"])[0]
    in_use = tf.range(capacity) < state["db_filled"]
    keep = in_use & tf.math.is_finite(state["db_log_density"])
    reservoir = tf.math.is_finite(state["cand_log_density"])
    x = tf.concat([tf.boolean_mask(state["db_x"], keep),
                   tf.boolean_mask(state["cand_x"], reservoir)], axis=0)
    log_density = tf.concat([tf.boolean_mask(state["db_log_density"], keep),
                             tf.boolean_mask(state["cand_log_density"], reservoir)], axis=0)
    return x, log_density
