"""Layer pairs of the Elman RNN tagger: every forward returns ``(out, cache)``,
every backward takes ``(dout, cache)`` and returns gradients named ``d<name>``.

The recurrence, with ``a<0> = 0`` (the seed's cell)::

    z<t> = W_ax x<t> + W_aa a<t-1> + b_a
    a<t> = tanh(z<t>)
    ŷ<t> = softmax(W_ya a<t> + b_y)   or   sigmoid(W_ya a<t> + b_y)

Shapes follow the seed: ``x<t>`` is a multi-hot (n_x, m) given by its K active
ids, ``a<t>`` (n_a, m). Sequences are stored time-major, so arrays carry a
leading ``T_x`` axis and a step reads one contiguous slice. Internally the
batch axis comes before the feature axis, ``a: (T_x, m, n_a)``, so that each
step is a row-major ``(m, n_a) @ (n_a, n_a)`` product; ``W_ax`` is kept
column-major so that a column lookup reads contiguous memory.

All functions are pure and dtype-generic: float64 for gradient checks,
float32 for training and inference. Caches are NamedTuples. The serving forward
pass (``inference.py``) lays the same math out for speed; it shares the step
loop ``rnn_recurrence`` with training, and ``tests/test_inference.py`` ties the
rest of it to ``network.forward``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


# --- input projection: W_ax x<t> as a sum of looked-up columns ----------------

class InputCache(NamedTuple):
    ids: np.ndarray  # int (T_x, m, K)
    n_x: int


def input_forward(ids, W_ax, b_a):
    """z_x = W_ax x<t> + b_a for every step at once.

    Twin: ``inference.input_projections`` (both directions, folded groups).

    Parameters
    ----------
    ids : int array (T_x, m, K), the active feature ids of each x<t>.
    W_ax : (n_a, n_x), column-major.  b_a : (n_a, 1).

    Returns
    -------
    zx : (T_x, m, n_a).  cache : InputCache
    """
    zx = W_ax.T[ids].sum(axis=2)  # (T_x, m, n_a)
    zx += b_a[:, 0]
    return zx, InputCache(ids, W_ax.shape[1])


def input_backward(dzx, cache: InputCache, sparse: bool = False):
    """Gradients of input_forward: ``{"W_ax": ..., "b_a": (n_a, 1)}``.

    dW_ax is dense (n_a, n_x), or with sparse=True only its non-zero columns as
    a ``(cols, dcols)`` pair (``input_backward_cols``), the form training uses.
    """
    cols, dcols = input_backward_cols(dzx, cache)
    if sparse:
        dW_ax = (cols, dcols)
    else:
        dW_ax = np.zeros((dzx.shape[-1], cache.n_x), dtype=dzx.dtype, order="F")
        dW_ax[:, cols] = dcols
    return {"W_ax": dW_ax, "b_a": dzx.sum(axis=(0, 1))[:, None]}


def input_backward_cols(dzx, cache: InputCache):
    """dW_ax as only its non-zero columns: ``(cols (r,), dcols (n_a, r))``.

    Training uses this form: a batch touches a few thousand of the n_x columns,
    and a dense (n_a, n_x) gradient would cost more than the whole recurrence.
    """
    ids = cache.ids
    K = ids.shape[-1]
    flat = ids.reshape(-1)
    rows = np.repeat(dzx.reshape(-1, dzx.shape[-1]), K, axis=0)  # (T_x*m*K, n_a)
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dcols = np.add.reduceat(rows[order], starts, axis=0)  # (r, n_a)
    return sorted_ids[starts], dcols.T  # (r,), (n_a, r)


# --- pretrained vectors: W_ag g<t>, the dense part of W_ax x<t> ----------------

class VectorCache(NamedTuple):
    g: np.ndarray  # (T_x, m, n_g), the tokens' pretrained vectors (0 where a word has none)
    W_ag: np.ndarray  # (n_a, n_g)


def vector_forward(g, W_ag):
    """zg = W_ag g<t> for every step at once.

    g : (T_x, m, n_g).  W_ag : (n_a, n_g).  Returns zg : (T_x, m, n_a) and the cache.
    """
    return g @ W_ag.T, VectorCache(g, W_ag)


def vector_backward(dzg, cache: VectorCache, dg: bool = False):
    """Returns {"W_ag": (n_a, n_g)}, and with dg=True also {"g": (T_x, m, n_g)}, the
    gradient reaching the vectors themselves (only fine-tuning needs it)."""
    g, W_ag = cache
    grads = {"W_ag": dzg.reshape(-1, dzg.shape[-1]).T @ g.reshape(-1, g.shape[-1])}  # (n_a, n_g)
    if dg:
        grads["g"] = dzg @ W_ag  # (T_x, m, n_g)
    return grads


# --- the vectors' table: g<t> is a column of G (trainable when fine-tuned) ------

class TableCache(NamedTuple):
    rows: np.ndarray  # int (T_x, m), the tokens' rows in the table (0: no vector)
    n_rows: int


def table_forward(rows, G):
    """g<t> = G[:, r<t>] for every step: the vectors as a lookup, like W_ax's columns.

    rows : int (T_x, m).  G : (n_g, V + 1), column-major, column r = row r of the
    artifact's vectors.  Returns g : (T_x, m, n_g) and the cache.
    """
    return G.T[rows], TableCache(rows, G.shape[1])


def table_backward(dg, cache: TableCache, sparse: bool = False):
    """{"G": dG}: each dg<t> (T_x, m, n_g) added into the column its token looked up.

    dG is dense (n_g, V + 1), or with sparse=True only the columns the batch used,
    a ``(cols, dcols)`` pair, the form lazy Adam takes (the table has 100k columns).
    """
    # one looked-up column per step: input_backward_cols's scatter-add with K = 1
    cols, dcols = input_backward_cols(dg, InputCache(cache.rows[..., None], cache.n_rows))
    if sparse:
        return {"G": (cols, dcols)}
    dG = np.zeros((dg.shape[-1], cache.n_rows), dtype=dg.dtype, order="F")
    dG[:, cols] = dcols
    return {"G": dG}


# --- the recurrence ------------------------------------------------------------

class RNNStepCache(NamedTuple):
    a_t: np.ndarray  # (m, n_a)
    a_prev: np.ndarray  # (m, n_a)
    W_aa: np.ndarray  # (n_a, n_a)


def rnn_step_forward(zx_t, a_prev, W_aa):
    """One Elman step: a<t> = tanh(zx<t> + W_aa a<t-1>).

    zx_t, a_prev : (m, n_a).  Returns a_t : (m, n_a) and the cache.
    Twin: the body of ``rnn_recurrence``'s loop, written in place for speed;
    ``tests/test_gradients.py::test_rnn_forward_repeats_the_step`` ties them.
    """
    a_t = np.tanh(zx_t + a_prev @ W_aa.T)
    return a_t, RNNStepCache(a_t, a_prev, W_aa)


def rnn_step_backward(da_t, cache: RNNStepCache):
    """Backward of rnn_step_forward.

    Returns dz (m, n_a), da_prev (m, n_a), dW_aa (n_a, n_a).
    """
    a_t, a_prev, W_aa = cache
    dz = da_t * (1.0 - a_t * a_t)  # tanh'(z) = 1 - tanh(z)²
    return dz, dz @ W_aa, dz.T @ a_prev


class RNNCache(NamedTuple):
    a: np.ndarray  # (T_x, m, n_a), a<1> .. a<T_x>
    W_aa: np.ndarray  # (n_a, n_a)


def rnn_recurrence(x, W_aaT):
    """a<t> = tanh(x<t> + a<t-1> W_aa.T) from a<0> = 0, for d directions at once:
    the step loop of both training (``rnn_forward``, d = 1) and serving
    (``inference.forward``, d = 2 for a bidirectional model).

    x : (T_x, d, m, n_a), the input projections, overwritten by the states.
    W_aaT : (d, n_a, n_a), each direction's W_aa.T, C-contiguous.
    Returns a : (T_x, d, m, n_a), x's memory. Only the loop runs per step: one
    stacked product, one add and one tanh, into preallocated arrays.
    """
    a = x
    h = np.empty_like(a[0])  # (d, m, n_a), reused every step
    np.tanh(a[0], out=a[0])  # a<0> = 0: the first step has no product
    for a_prev, a_t in zip(a[:-1], a[1:]):
        np.matmul(a_prev, W_aaT, out=h)
        a_t += h
        np.tanh(a_t, out=a_t)
    return a


def rnn_forward(zx, W_aa):
    """Run the recurrence over T_x steps from a<0> = 0.

    zx : (T_x, m, n_a), the input projections.  W_aa : (n_a, n_a).
    Returns a : (T_x, m, n_a) and the cache.
    """
    x = zx.copy()[:, None]  # (T_x, 1, m, n_a): one direction
    a = rnn_recurrence(x, np.ascontiguousarray(W_aa.T)[None])[:, 0]  # (T_x, m, n_a)
    return a, RNNCache(a, W_aa)


def rnn_backward(da, cache: RNNCache):
    """BPTT through rnn_forward, one rnn_step_backward per step.

    da : (T_x, m, n_a), the loss gradient reaching each a<t> from above.
    Returns dzx : (T_x, m, n_a) and {"W_aa": (n_a, n_a)}.
    """
    a, W_aa = cache
    T_x, m, n_a = a.shape
    dzx = np.empty_like(a)
    dW_aa = np.zeros_like(W_aa)
    da_next = np.zeros((m, n_a), dtype=a.dtype)
    zero = np.zeros((m, n_a), dtype=a.dtype)
    for t in reversed(range(T_x)):
        step = RNNStepCache(a[t], a[t - 1] if t > 0 else zero, W_aa)
        dz, da_next, dW = rnn_step_backward(da[t] + da_next, step)
        dzx[t] = dz
        dW_aa += dW
    return dzx, {"W_aa": dW_aa}


# --- the character cell: one state per word form -------------------------------

class CharCache(NamedTuple):
    inp: InputCache
    rnn: RNNCache
    lengths: np.ndarray  # (U,)


def char_forward(ids, lengths, W_cx, W_cc, b_c):
    """The seed's cell over each word's characters, its final state c<L_w> per word:
    c<j> = tanh(W_cc c<j-1> + W_cx e(char_j) + b_c) from c<0> = 0.

    Parameters
    ----------
    ids : int (L, U), the character ids of U word forms, time-major, padded with 0
        after each word's end (so a word's last state is read before any padding).
    lengths : (U,), characters per word; 0 gives the zero state.
    W_cx : (n_c, n_ch), column-major (a character's embedding is its column).
    W_cc : (n_c, n_c).  b_c : (n_c, 1).

    Returns
    -------
    c : (U, n_c).  cache : CharCache
    Twin: ``inference.char_states`` (both directions at once).
    """
    zx, inp = input_forward(ids[..., None], W_cx, b_c)  # (L, U, n_c): one id per step
    a, rnn = rnn_forward(zx, W_cc)
    U = len(lengths)
    c = a[np.maximum(lengths - 1, 0), np.arange(U)] * (lengths > 0)[:, None]  # (U, n_c)
    return c, CharCache(inp, rnn, lengths)


def char_backward(dc, cache: CharCache):
    """BPTT through char_forward: dc (U, n_c) enters at each word's last step only
    (the steps past it, padding, get none and give none).

    Returns {"W_cx": (n_c, n_ch), "W_cc": (n_c, n_c), "b_c": (n_c, 1)}.
    """
    lengths = cache.lengths
    U = len(lengths)
    da = np.zeros_like(cache.rnn.a)  # (L, U, n_c)
    da[np.maximum(lengths - 1, 0), np.arange(U)] = dc * (lengths > 0)[:, None]
    dzx, g = rnn_backward(da, cache.rnn)
    g.update(input_backward(dzx, cache.inp))
    return {"W_cx": g["W_ax"], "W_cc": g["W_aa"], "b_c": g["b_a"]}


# --- reversing padded sequences for the backward direction -------------------

def reverse_index(lengths, T_x):
    """Index (T_x, m) that reverses each sequence within its own length.

    Padding (t >= length) maps to itself, so it stays at the end.
    """
    t = np.arange(T_x)[:, None]  # (T_x, 1)
    L = np.asarray(lengths)[None, :]  # (1, m)
    return np.where(t < L, L - 1 - t, t)


def time_gather(x, idx):
    """x[idx[t, i], i] for every (t, i): x (T_x, m, ...), idx (T_x, m)."""
    return x[idx, np.arange(x.shape[1])[None, :]]


# --- dropout on the states (training only) --------------------------------------

class DropoutCache(NamedTuple):
    keep: np.ndarray | None  # like x: 0 or 1/(1-p); None when nothing was dropped


def dropout_forward(x, p: float, rng: np.random.Generator | None = None):
    """Inverted dropout: zero each entry with probability p, scale the rest by
    1/(1-p) so that the expected value is unchanged and serving needs no rescale.
    p = 0 returns x itself (and draws nothing from rng)."""
    if p <= 0.0:
        return x, DropoutCache(None)
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / (1.0 - p)
    return x * keep, DropoutCache(keep)


def dropout_backward(dout, cache: DropoutCache):
    """The gradient passes where the entry was kept, with the same scale."""
    return dout if cache.keep is None else dout * cache.keep


# --- heads ---------------------------------------------------------------------

class AffineCache(NamedTuple):
    a: np.ndarray  # (T_x, m, n_a)
    W_ya: np.ndarray  # (n_y, n_a)


def affine_forward(a, W_ya, b_y):
    """scores = W_ya a<t> + b_y at every step. a (T_x, m, n_a) -> (T_x, m, n_y).

    Twin: ``inference.head`` (both directions' halves in one product);
    ``tests/test_inference.py`` ties them.
    """
    return a @ W_ya.T + b_y[:, 0], AffineCache(a, W_ya)


def affine_backward(dscores, cache: AffineCache):
    """Returns da (T_x, m, n_a) and {"W_ya": (n_y, n_a), "b_y": (n_y, 1)}."""
    a, W_ya = cache
    n_a = a.shape[-1]
    dW_ya = dscores.reshape(-1, dscores.shape[-1]).T @ a.reshape(-1, n_a)
    db_y = dscores.sum(axis=(0, 1))[:, None]
    return dscores @ W_ya, {"W_ya": dW_ya, "b_y": db_y}


def softmax(scores):
    """Softmax over the last axis, shifted by the max for numerical stability."""
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(scores):
    """Logistic function without overflow for large negative scores."""
    return 0.5 * (1.0 + np.tanh(0.5 * scores))


def log_softmax(scores):
    """log ŷ over the last axis, shifted by the max for numerical stability."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_loss(scores, y, mask):
    """Cross-entropy summed over valid steps, averaged over the m sentences.

    scores : (T_x, m, n_y).  y : int (T_x, m).  mask : (T_x, m), 1 on real tokens.
    Returns J and dscores (T_x, m, n_y); padded steps get zero gradient.
    """
    m = scores.shape[1]
    log_p = log_softmax(scores)
    picked = np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]  # (T_x, m)
    J = -(picked * mask).sum() / m
    dscores = np.exp(log_p)
    np.put_along_axis(dscores, y[..., None], np.take_along_axis(dscores, y[..., None], -1) - 1, -1)
    dscores *= (mask / m)[..., None]
    return J, dscores


def soft_softmax_loss(scores, q, mask):
    """Cross-entropy against target distributions, -sum q log ŷ, summed over valid steps,
    averaged over the m sentences (distillation: q mixes the gold tags and teachers' ŷ).

    scores, q : (T_x, m, n_y).  mask : (T_x, m).  Returns J and dscores = (ŷ - q) / m.
    """
    m = scores.shape[1]
    log_p = log_softmax(scores)
    J = -((q * log_p).sum(axis=-1) * mask).sum() / m
    dscores = (np.exp(log_p) - q) * (mask / m)[..., None]
    return J, dscores


def sigmoid_loss(scores, y, mask):
    """The seed's binary cross-entropy, -y log ŷ - (1-y) log(1-ŷ), summed over valid steps.

    scores : (T_x, m, 1).  y : {0,1} (T_x, m).  mask : (T_x, m).
    Computed from the logit (log(1+e^s) form) so it never takes log(0).
    """
    m = scores.shape[1]
    s = scores[..., 0]
    per_step = np.logaddexp(0.0, s) - y * s
    J = (per_step * mask).sum() / m
    dscores = ((sigmoid(s) - y) * mask / m)[..., None]
    return J, dscores
