"""The inference forward pass: the same function as ``network.forward`` +
``network.probabilities``, arranged for speed instead of for backpropagation.

The recurrence is the seed's, ``a<t> = tanh(W_aa a<t-1> + W_ax x<t> + b_a)``,
run for both directions at once:

* the weights are laid out once per model (``prepare``), not per call: one
  C-contiguous lookup table ``[W_ax; W_ax_bw]ᵀ`` (n_x, d n_a), the transposed
  ``W_aa`` of each direction stacked as (d, n_a, n_a), the head as (n_a, d n_y);
* the input projections of every step come from one lookup into that table,
  where the smallest feature groups are *folded*: their rows are summed ahead of
  time for every combination of values (``fold_plan``), 9 lookups a token, not 13;
* the backward direction reads the time-reversed batch. Padding then comes
  *first* for it; its projections are zeroed so the state stays exactly 0
  until each sentence's own last token, as if every sentence were reversed
  within its length (``layers.reverse_index``), without gathering per sentence;
* only the recurrence loops over t: one stacked (d, m, n_a) @ (d, n_a, n_a)
  product, one add and one tanh per step, all into preallocated arrays
  (``layers.rnn_recurrence``, the step loop training runs too).

Each function names its twin in ``layers.py``/``network.py``; the tests of
``tests/test_inference.py`` tie every twin pair to ``network.forward``.

Everything stays float32, time-major. ``d`` is 2 for a bidirectional model, else 1.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import layers as L
from .network import Config


class Weights(NamedTuple):
    table: np.ndarray  # (n_x + folded rows, d n_a): row i is column i of W_ax (| W_ax_bw)
    b_a: np.ndarray  # (d n_a,)
    W_aaT: np.ndarray  # (d, n_a, n_a): W_aa.T of each direction
    W_yaT: np.ndarray  # (n_a, d n_y): the head's columns for each direction side by side
    b_y: np.ndarray  # (n_y,)
    config: Config
    keep: np.ndarray  # int (K',): the id columns looked up as they are
    folds: tuple  # ((cols, offset), ...): id columns replaced by one id into table[offset:]
    code: np.ndarray | None  # int (n_x,): an id's share of its fold's row number
    W_agT: np.ndarray | None = None  # (n_g, d n_a): W_ag.T of each direction side by side
    chars: "CharWeights | None" = None  # the character cell's, when the model has one


class CharWeights(NamedTuple):
    table: np.ndarray  # (n_ch, 2 n_c): row i is column i of W_cx | W_cx_bw
    b_c: np.ndarray  # (2 n_c,)
    W_ccT: np.ndarray  # (2, n_c, n_c): W_cc.T of each direction
    W_ahT: np.ndarray  # (2 n_c, d n_a): W_ah.T of each direction side by side


def prepare(params: dict[str, np.ndarray], cfg: Config, groups: list[np.ndarray] | None = None,
            max_rows: int = 4096) -> Weights:
    """Lay the parameters out for ``forward``; done once per model.

    groups : the ids of each feature group (column k of ids holds group k's ids
    or 0). Given, the smallest groups are *folded*: their rows are summed ahead
    of time for every combination of values, in blocks of at most ``max_rows``
    rows, so one lookup replaces several (see ``fold_plan``).
    """
    f32 = np.float32
    suffixes = ("", "_bw") if cfg.bidirectional else ("",)
    table = np.concatenate([params["W_ax" + s].T for s in suffixes], axis=1).astype(f32)  # (n_x, d n_a)
    b_a = np.concatenate([params["b_a" + s][:, 0] for s in suffixes])
    W_aaT = np.stack([params["W_aa" + s].T for s in suffixes])  # (d, n_a, n_a)
    n_a = cfg.n_a
    W_ya = params["W_ya"]  # (n_y, d n_a)
    W_yaT = np.concatenate([W_ya[:, i * n_a:(i + 1) * n_a].T for i in range(len(suffixes))], axis=1)
    plan = fold_plan([len(g) for g in groups], max_rows) if groups is not None else []
    folded = {c for cols in plan for c in cols}
    keep = np.array([k for k in range(len(groups or [])) if k not in folded], dtype=np.int64)
    code = np.zeros(cfg.n_x, dtype=np.int64) if plan else None
    blocks, folds, offset = [table], [], table.shape[0]
    for cols in plan:
        sizes = [len(groups[c]) + 1 for c in cols]  # + 1: position 0 is padding, a zero row
        strides = np.cumprod([1] + sizes[:0:-1])[::-1]  # C order of the broadcast sum below
        block = np.zeros(sizes + [table.shape[1]], dtype=f32)
        for j, (c, stride) in enumerate(zip(cols, strides)):
            rows = np.zeros((sizes[j], table.shape[1]), dtype=f32)
            rows[1:] = table[groups[c]]
            code[groups[c]] = np.arange(1, sizes[j]) * stride
            block += rows.reshape([-1 if i == j else 1 for i in range(len(cols))] + [table.shape[1]])
        blocks.append(block.reshape(-1, table.shape[1]))
        folds.append((np.array(cols), offset))
        offset += blocks[-1].shape[0]
    W_agT = (np.ascontiguousarray(np.concatenate([params["W_ag" + s].T for s in suffixes], axis=1), dtype=f32)
             if cfg.n_g else None)  # (n_g, d n_a)
    chars = None
    if cfg.n_c:
        cs = ("", "_bw")  # the character cells: left to right, right to left
        chars = CharWeights(
            np.ascontiguousarray(np.concatenate([params["W_cx" + s].T for s in cs], axis=1), dtype=f32),
            np.ascontiguousarray(np.concatenate([params["b_c" + s][:, 0] for s in cs]), dtype=f32),
            np.ascontiguousarray(np.stack([params["W_cc" + s].T for s in cs]), dtype=f32),
            np.ascontiguousarray(np.concatenate([params["W_ah" + s].T for s in suffixes], axis=1), dtype=f32))
    return Weights(np.ascontiguousarray(np.concatenate(blocks) if plan else table),
                   np.ascontiguousarray(b_a, dtype=f32),
                   np.ascontiguousarray(W_aaT, dtype=f32), np.ascontiguousarray(W_yaT, dtype=f32),
                   np.ascontiguousarray(params["b_y"][:, 0], dtype=f32), cfg,
                   keep, tuple(folds), code, W_agT, chars)


def char_states(w: Weights, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[c_fw; c_bw] of word forms: both character cells' final states, run together.

    ids : int (L, U) character ids, padded with 0 after each word.  lengths : (U,).
    Returns (U, 2 n_c), zero for a word of no characters.
    Twin: ``network.chars_forward`` before its per-token lookup (``layers.char_forward`` twice).
    """
    L_w, U = ids.shape
    n_c = w.config.n_c
    zx = w.chars.table[ids] + w.chars.b_c  # (L, U, 2 n_c)
    x = np.empty((L_w, 2, U, n_c), dtype=np.float32)
    x[:, 0] = zx[..., :n_c]
    x[:, 1] = L.time_gather(zx[..., n_c:], L.reverse_index(lengths, L_w))  # each word reversed in place
    a = L.rnn_recurrence(x, w.chars.W_ccT)  # (L, 2, U, n_c)
    c = a[np.maximum(lengths - 1, 0), :, np.arange(U)]  # (U, 2, n_c): each word's last step
    return c.reshape(U, 2 * n_c) * (lengths > 0)[:, None]


def fold_plan(sizes: list[int], max_rows: int) -> list[tuple[int, ...]]:
    """Which id columns to fold: the smallest groups, greedily, while the product
    of their sizes (+1 for padding) stays within max_rows; folds of one group are
    pointless. With the shipped features: (doc, ln, fn, case) and (p1, s1), so a
    token needs 9 lookups instead of 13 (the lookup is most of the batch-64 time).
    """
    plan, cur, rows = [], [], 1
    for k in sorted(range(len(sizes)), key=lambda k: sizes[k]):
        if cur and rows * (sizes[k] + 1) > max_rows:
            if len(cur) > 1:
                plan.append(tuple(cur))
            cur, rows = [], 1
        if sizes[k] + 1 > max_rows:
            break
        cur, rows = cur + [k], rows * (sizes[k] + 1)
    if len(cur) > 1:
        plan.append(tuple(cur))
    return plan


def fold_ids(w: Weights, ids: np.ndarray) -> np.ndarray:
    """ids (N, K) -> (N, K'): the kept columns, then one id per fold."""
    if not w.folds:
        return ids
    code = w.code[ids]  # (N, K)
    out = np.empty((ids.shape[0], len(w.keep) + len(w.folds)), dtype=np.int64)
    out[:, : len(w.keep)] = ids[:, w.keep]
    for j, (cols, offset) in enumerate(w.folds):
        np.add(code[:, cols].sum(axis=1), offset, out=out[:, len(w.keep) + j])
    return out


def lookup_sum(table: np.ndarray, ids: np.ndarray, chunk: int = 128) -> np.ndarray:
    """Σ_k table[ids[..., k]]: the multi-hot product W_ax x<t> as a sum of rows.

    ids : int (N, K).  Returns (N, table.shape[1]).  NumPy has no fused
    gather-and-sum, so the K gathered rows of ``chunk`` tokens at a time are
    summed while they are still in cache (all N at once spills to memory and
    costs twice as much at batch 64).
    """
    N, K = ids.shape
    ids_k = np.ascontiguousarray(ids.T)  # (K, N): one gather per feature group
    out = np.empty((N, table.shape[1]), dtype=table.dtype)
    buf = np.empty((K, min(chunk, N), table.shape[1]), dtype=table.dtype)
    for s in range(0, N, chunk):
        e = min(s + chunk, N)
        rows = np.take(table, ids_k[:, s:e], axis=0, out=buf[:, : e - s], mode="clip")  # (K, c, D)
        rows.sum(axis=0, out=out[s:e])
    return out


def input_projections(w: Weights, ids: np.ndarray, lengths: np.ndarray, g=None, h=None) -> np.ndarray:
    """W_ax x<t> (+ W_ag g<t> + W_ah h<t>) + b_a of both directions, the backward one time-reversed.

    ids : int (T_x, m, K).  g : (T_x, m, n_g) pretrained vectors, when the model has them.
    h : (T_x, m, 2 n_c) the tokens' character states (``char_states``), when it has the cell.
    Returns x : (T_x, d, m, n_a), where x[t, 1] is the backward direction's input
    at step T_x - 1 - t (zero on padding).
    Twin: ``layers.input_forward`` (+ ``layers.vector_forward``) of each direction of ``network.forward``.
    """
    T_x, m, K = ids.shape
    n_a, d = w.config.n_a, w.W_aaT.shape[0]
    zx = lookup_sum(w.table, fold_ids(w, ids.reshape(T_x * m, K))).reshape(T_x, m, d * n_a)
    if w.W_agT is not None:
        zx += (g.reshape(T_x * m, -1) @ w.W_agT).reshape(T_x, m, d * n_a)  # one dense product, both directions
    if w.chars is not None:
        zx += (h.reshape(T_x * m, -1) @ w.chars.W_ahT).reshape(T_x, m, d * n_a)
    zx += w.b_a
    x = np.empty((T_x, d, m, n_a), dtype=np.float32)
    x[:, 0] = zx[:, :, :n_a]
    if d == 2:
        if lengths.min() < T_x:
            zx[:, :, n_a:][np.arange(T_x)[:, None] >= lengths[None, :]] = 0.0  # (T_x, m) padding
        x[:, 1] = zx[::-1, :, n_a:]
    return x


def forward(w: Weights, ids: np.ndarray, lengths: np.ndarray, g=None, h=None) -> np.ndarray:
    """Scores (T_x, m, n_y) of every token, equal to ``network.forward``'s.

    ids : int (T_x, m, K), padded with 0.  lengths : (m,).  g : (T_x, m, n_g) or None.
    h : (T_x, m, 2 n_c), the tokens' character states, or None.
    Twin: ``network.forward``; ``tests/test_inference.py::test_inference_forward_matches_network``.
    """
    return head(w, L.rnn_recurrence(input_projections(w, ids, np.asarray(lengths), g, h), w.W_aaT))


def head(w: Weights, a: np.ndarray) -> np.ndarray:
    """W_ya [a_fw<t>; a_bw<t>] + b_y from the states a : (T_x, d, m, n_a) -> (T_x, m, n_y).

    One product for all states against both directions' columns; each direction
    keeps its own half (a small waste: n_y is 3). Twin: ``layers.affine_forward``.
    """
    T_x, d, m, _ = a.shape
    n_y = w.b_y.shape[0]
    y = (a.reshape(T_x * d * m, -1) @ w.W_yaT).reshape(T_x, d, m, d * n_y)
    scores = y[:, 0, :, :n_y] + w.b_y  # (T_x, m, n_y)
    if d == 2:
        scores += y[::-1, 1, :, n_y:]  # the backward states back in reading order
    return scores


def probabilities(w: Weights, ids: np.ndarray, lengths: np.ndarray, g=None, h=None) -> np.ndarray:
    """ŷ (T_x, m, n_y): softmax over tags, or the sigmoid of the one score."""
    return w.config.head_policy.probabilities(forward(w, ids, lengths, g, h))
