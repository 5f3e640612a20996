"""Importance-weighted sums per component, over blocks of rows (memory linear in K).

The NG estimates, the rewards and the effective sample sizes are all sums over
the samples ``x_i`` of the batch, per component k, with the self-normalised
importance weights

    ``w_ki = exp(l_ki) / sum_j exp(l_kj)``,   ``l_ki = log q(x_i|k) - log q_bg(x_i)``

(``l_ki = -inf`` for a row whose target value or gradient is not finite). The
functions here compute them in one ``tf.while_loop`` over blocks of rows
(:mod:`.blocks`): a block's (K, n) log-densities, ``log q`` and responsibilities
are computed, the caller's per-row terms ``f_i`` (n, F) are multiplied in, and
the (K, F) sums are accumulated with a running maximum ``m_k`` of ``l_ki`` per
component (an online-normalised log-sum-exp: the sums are held as
``sum_i exp(l_ki - m_k) f_i`` and rescaled by ``exp(m_old - m_new)`` when the
maximum grows), so nothing overflows and neither the (K, N) matrices nor
anything of size N K D are ever held: memory is O(K F) plus one block.

Which pairs are used: every sample enters every component's sums. Even with
per-component sampling and no re-use, the background of sample i is the
mixture ``q_bg = sum_j (n_j / N) q(.|j)`` of all the components that drew the
batch, and the estimate for component k is self-normalised over the whole batch
(as in the paper and the reference), so the samples that component j drew
carry weight ``q(x|k) / q_bg(x)`` in component k's estimate; and ``log q`` and
``grad log q`` of each sample need every component anyway. Leaving out the
pairs ``j != k`` would be a different (per-component, unweighted) estimator.
"""

import math

from .._runtime import tensorflow
from . import blocks, gaussians, mixture


#: Per-row columns of a batch that a block gathers (those present).
ROW_KEYS = ("x", "log_density", "grad")


def _block_terms(state, batch, index, in_range, center, coefficients):
    """The block's ``(log_ratio (K, n), log_q (n,), responsibilities (K, n), rows)``,
    ``rows`` the block's per-row columns of the batch and ``valid`` (in range too).

    The log-densities are one product of the components' ``coefficients``
    (:func:`.gaussians.log_density_coefficients`, computed once for all blocks)
    with the block's quadratic features, which the block size accounts for."""
    tf = tensorflow()
    rows = {key: tf.gather(batch[key], index) for key in ROW_KEYS if key in batch}
    rows["valid"] = valid = tf.gather(batch["valid"], index) & in_range
    # finite terms for the rows of weight zero
    if "log_density" in rows:
        rows["log_density"] = tf.where(valid, rows["log_density"], 0)
    if "grad" in rows:
        rows["grad"] = tf.where(valid[:, None], rows["grad"], 0)
    x = rows["x"]
    component_log_density = gaussians.log_densities_from_coefficients(
        coefficients, gaussians.quadratic_features(x, center))
    log_q, responsibilities = _log_q_and_responsibilities(
        mixture.masked_log_weights(state)[:, None] + component_log_density)
    if "log_background" in batch:
        log_background = tf.gather(batch["log_background"], index)
    else:
        log_background = tf.reduce_logsumexp(
            batch["background_log_weights"][:, None] + component_log_density, axis=0)
    minus_inf = tf.constant(-math.inf, x.dtype)
    log_ratio = tf.where(valid[None, :], component_log_density - log_background[None, :],
                         minus_inf)
    return log_ratio, log_q, responsibilities, rows


def _log_q_and_responsibilities(joint):
    """``log q`` (n,) and the responsibilities (K, n) of the (K, n) ``log w_k +
    log N(x_n|k)``, from one exponential of the matrix (a log-sum-exp shifted by
    each row's largest term; the responsibilities are its normalised terms)."""
    tf = tensorflow()
    largest = tf.reduce_max(joint, axis=0)
    shift = tf.where(tf.math.is_finite(largest), largest, 0)
    terms = tf.exp(joint - shift[None, :])
    total = tf.reduce_sum(terms, axis=0)
    return shift + tf.math.log(total), terms / total[None, :]


def _rescaled(running_max, log_ratio):
    """New running maximum, the factor ``exp(m_old - m_new)`` of the old sums and the
    block's weights ``exp(l - m_new)`` (zero where ``l = -inf``)."""
    tf = tensorflow()
    new_max = tf.maximum(running_max, tf.reduce_max(log_ratio, axis=1))
    shift = tf.where(tf.math.is_finite(new_max), new_max, 0)
    return new_max, tf.exp(running_max - shift), tf.exp(log_ratio - shift[:, None])


def _balanced(n_items, largest):
    """Items per block for blocks of at most ``largest`` items, as even as possible
    (the last block is not mostly clipped repeats of the last item)."""
    n_blocks = (n_items + largest - 1) // largest
    return tensorflow().maximum((n_items + n_blocks - 1) // tensorflow().maximum(n_blocks, 1),
                                1)


def importance_sums(state, batch, row_terms, n_terms, track=None, budget=None):
    """Self-normalised importance-weighted sums ``sum_i w_ki f_i`` for every component.

    Parameters
    ----------
    state : dict
        The mixture (:mod:`.mixture`).
    batch : dict
        ``x`` (N, D), ``valid`` (N,) and the background: ``log_background`` (N,)
        or ``background_log_weights`` (K_max,) over the current components.
    row_terms : callable or None
        ``row_terms(rows, log_q, responsibilities) -> [(n, F_1), (n, F_2), ...]``
        of one block's rows (``rows``: the block's ``x``, ``valid`` and, when in
        the batch, ``log_density`` and ``grad``, both zero in invalid rows;
        ``log_q`` (n,); ``responsibilities`` (K_max, n)). Each kind of term is
        summed by its own matrix product (no concatenation); a pair ``(a, b)``
        stands for the outer products ``vec(a_i b_i^T)`` (see
        :func:`weighted_sum`). Invalid rows have weight zero: their terms must
        be finite.
    n_terms : sequence of int or int32 scalar Tensor
        ``F_1, F_2, ...`` (empty when ``row_terms`` is None).
    track : tuple, optional
        ``(initial, update)``: an extra carry updated as
        ``update(carry, log_ratio, index, rows, log_q)`` with each block's
        (K_max, n) log ratios, row positions, rows and ``log q`` (e.g. the rows
        of largest weight, :func:`largest_log_ratios`).
    budget : int, optional
        Numbers per block (:data:`.blocks.BLOCK_ELEMENTS` when None).

    Returns
    -------
    dict
        ``sums``, a list of (K_max, F_j) (zero for components without samples),
        ``has_samples`` (K_max,) bool (active, with a valid row), ``ess`` (K_max,)
        effective sample sizes ``(sum w)^2 / sum w^2`` (zero without samples) and
        ``track``, the extra carry.
    """
    tf = tensorflow()
    center = mixture.mixture_center(state)
    coefficients = gaussians.log_density_coefficients(state["means"], state["prec_chol"],
                                                      center)
    size = _rows_per_block(state, batch["x"], n_terms, budget)
    track_initial, track_update = track if track is not None else ((), None)

    def step(index, in_range, carry):
        running_max, total, squares, sums, extra = carry
        log_ratio, log_q, responsibilities, rows = _block_terms(
            state, batch, index, in_range, center, coefficients)
        new_max, scale, weights = _rescaled(running_max, log_ratio)
        if row_terms is not None:
            sums = [total_j * scale[:, None] + weighted_sum(weights, terms)
                    for total_j, terms in zip(sums, row_terms(rows, log_q, responsibilities))]
        total = total * scale + tf.reduce_sum(weights, axis=1)
        squares = squares * tf.square(scale) + tf.reduce_sum(tf.square(weights), axis=1)
        if track_update is not None:
            extra = track_update(extra, log_ratio, index, rows, log_q)
        return new_max, total, squares, sums, extra

    initial = _empty_sums(tf.shape(state["means"])[0], batch["x"].dtype, n_terms)
    *carry, extra = blocks.fold_blocks(tf.shape(batch["x"])[0], size, step,
                                       (*initial, track_initial))
    return {**_normalised(*carry, state["active"]), "track": extra}


def weighted_sum(weights, terms):
    """``sum_i w_ki f_i`` for every component: (K, F).

    ``terms`` is (n, F), or a pair ``(a, b)`` of (n, D) and (n, E) standing for
    the outer products ``f_i = vec(a_i b_i^T)`` (F = D E), which are never
    formed when ``D > K``: then each component's sum is one (D, n) by (n, E)
    product, ``(w_k * a)^T b``. A (K, n) by (n, D E) product (K rows against
    D^2 columns) ran at a small fraction of the machine's speed: at D = 300,
    K = 2 and 250 rows 350 ms against 6 ms. Where ``D <= K`` (many components in
    few dimensions), forming the outer products and one product is the faster.
    """
    tf = tensorflow()
    if not isinstance(terms, tuple):
        return tf.linalg.matmul(weights, terms)
    left, right = terms
    n_components = tf.shape(weights)[0]
    n_flat = tf.stack([-1, tf.shape(left)[1] * tf.shape(right)[1]])

    def per_component():
        product = tf.linalg.matmul(weights[:, :, None] * left[None, :, :], right,
                                   transpose_a=True)
        return tf.reshape(product, n_flat)

    def formed():
        outer = tf.reshape(left[:, :, None] * right[:, None, :], n_flat)
        return tf.linalg.matmul(weights, outer)

    return tf.cond(tf.shape(left)[1] > n_components, per_component, formed)


def _rows_per_block(state, x, n_terms, budget):
    """Rows per block of :func:`importance_sums` within ``budget`` numbers."""
    tf = tensorflow()
    n_rows = tf.shape(x)[0]
    per_row = (tf.shape(state["means"])[0] * 4 + sum(n_terms, 0)
               + gaussians.n_quadratic_features(tf.shape(x)[1]))
    return _balanced(n_rows, blocks.block_size(n_rows, per_row, budget))


def _empty_sums(n_components, dtype, n_terms):
    """``(running_max, total, squares, sums)`` before the first block."""
    tf = tensorflow()
    zeros = tf.zeros(tf.reshape(n_components, [1]), dtype)
    return (tf.fill(tf.reshape(n_components, [1]), tf.constant(-math.inf, dtype)),
            zeros, zeros, [tf.zeros(tf.stack([n_components, size_j]), dtype)
                           for size_j in n_terms])


def _normalised(running_max, total, squares, sums, active):
    """The ``sums``, ``has_samples`` and ``ess`` of :func:`importance_sums`."""
    tf = tensorflow()
    has_samples = tf.math.is_finite(running_max) & active
    safe_total = tf.where(has_samples, total, 1)
    return {"sums": [tf.where(has_samples[:, None], total_j / safe_total[:, None], 0)
                     for total_j in sums],
            "has_samples": has_samples,
            "ess": tf.where(has_samples, tf.square(total) / tf.where(has_samples, squares, 1),
                            0)}


def largest_log_ratios(n_largest, n_components, dtype, row_values):
    """A ``track`` for :func:`importance_sums`: the ``n_largest`` log ratios of each
    component, their rows and the rows' values, merged block by block
    (``tf.math.top_k``; ties go to the earlier row).

    Parameters
    ----------
    n_largest : int32 scalar Tensor
        At most the number of rows.
    n_components : int32 scalar Tensor
    dtype : tf.DType
    row_values : callable
        ``row_values(rows, log_q) -> (n, 1)`` of a block's rows.

    Returns
    -------
    tuple
        ``(initial, update)``; the final carry is ``(log_ratios, rows, values)``,
        each (K_max, n_largest), in decreasing order of the log ratio (``-inf``
        for invalid rows).
    """
    tf = tensorflow()
    shape = tf.stack([n_components, n_largest])
    initial = (tf.fill(shape, tf.constant(-math.inf, dtype)), tf.zeros(shape, tf.int32),
               tf.zeros(shape, dtype))

    def update(carry, log_ratio, index, rows, log_q):
        top, top_rows, top_values = carry
        new_shape = tf.shape(log_ratio)
        merged = tf.concat([top, log_ratio], axis=1)
        merged_rows = tf.concat([top_rows, tf.broadcast_to(index[None, :], new_shape)], axis=1)
        merged_values = tf.concat([top_values, tf.broadcast_to(
            row_values(rows, log_q)[:, 0][None, :], new_shape)], axis=1)
        top, position = tf.math.top_k(merged, k=n_largest)
        return (top, tf.gather(merged_rows, position, batch_dims=1),
                tf.gather(merged_values, position, batch_dims=1))

    return initial, update
