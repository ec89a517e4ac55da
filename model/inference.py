"""The inference forward pass: the same function as ``network.forward`` +
``network.probabilities``, arranged for speed instead of for backpropagation.

The recurrence is the seed's, ``a<t> = tanh(W_aa a<t-1> + W_ax x<t> + b_a)``,
run for both directions at once:

* the weights are laid out once per model (``prepare``), not per call: one
  C-contiguous lookup table ``[W_ax; W_ax_bw]ᵀ`` (n_x, d n_a), the transposed
  ``W_aa`` of each direction stacked as (d, n_a, n_a), the head as (n_a, d n_y);
* the input projections of every step come from one lookup into that table;
* the backward direction reads the time-reversed batch. Padding then comes
  *first* for it; its projections are zeroed so the state stays exactly 0
  until each sentence's own last token, as if every sentence were reversed
  within its length (``layers.reverse_index``), without gathering per sentence;
* only the recurrence loops over t: one stacked (d, m, n_a) @ (d, n_a, n_a)
  product, one add and one tanh per step, all into preallocated arrays.

Everything stays float32, time-major. ``d`` is 2 for a bidirectional model, else 1.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import layers as L
from .network import Config


class Weights(NamedTuple):
    table: np.ndarray  # (n_x, d n_a): row i is column i of W_ax (| W_ax_bw)
    b_a: np.ndarray  # (d n_a,)
    W_aaT: np.ndarray  # (d, n_a, n_a): W_aa.T of each direction
    W_yaT: np.ndarray  # (n_a, d n_y): the head's columns for each direction side by side
    b_y: np.ndarray  # (n_y,)
    config: Config


def prepare(params: dict[str, np.ndarray], cfg: Config) -> Weights:
    """Lay the parameters out for ``forward``; done once per model."""
    f32 = np.float32
    suffixes = ("", "_bw") if cfg.bidirectional else ("",)
    table = np.concatenate([params["W_ax" + s].T for s in suffixes], axis=1)  # (n_x, d n_a)
    b_a = np.concatenate([params["b_a" + s][:, 0] for s in suffixes])
    W_aaT = np.stack([params["W_aa" + s].T for s in suffixes])  # (d, n_a, n_a)
    n_a = cfg.n_a
    W_ya = params["W_ya"]  # (n_y, d n_a)
    W_yaT = np.concatenate([W_ya[:, i * n_a:(i + 1) * n_a].T for i in range(len(suffixes))], axis=1)
    return Weights(np.ascontiguousarray(table, dtype=f32), np.ascontiguousarray(b_a, dtype=f32),
                   np.ascontiguousarray(W_aaT, dtype=f32), np.ascontiguousarray(W_yaT, dtype=f32),
                   np.ascontiguousarray(params["b_y"][:, 0], dtype=f32), cfg)


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


def input_projections(w: Weights, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """W_ax x<t> + b_a of both directions, the backward one time-reversed.

    ids : int (T_x, m, K).  Returns x : (T_x, d, m, n_a), where x[t, 1] is the
    backward direction's input at step T_x - 1 - t (zero on padding).
    """
    T_x, m, K = ids.shape
    n_a, d = w.config.n_a, w.W_aaT.shape[0]
    zx = lookup_sum(w.table, ids.reshape(T_x * m, K)).reshape(T_x, m, d * n_a)
    zx += w.b_a
    x = np.empty((T_x, d, m, n_a), dtype=np.float32)
    x[:, 0] = zx[:, :, :n_a]
    if d == 2:
        if lengths.min() < T_x:
            zx[:, :, n_a:][np.arange(T_x)[:, None] >= lengths[None, :]] = 0.0  # (T_x, m) padding
        x[:, 1] = zx[::-1, :, n_a:]
    return x


def recurrence(x: np.ndarray, W_aaT: np.ndarray) -> np.ndarray:
    """a<t> = tanh(x<t> + a<t-1> W_aa.T) from a<0> = 0, every direction in one product.

    x : (T_x, d, m, n_a), overwritten by the states a : (T_x, d, m, n_a).
    """
    a = x
    h = np.empty_like(a[0])  # (d, m, n_a), reused every step
    np.tanh(a[0], out=a[0])
    for a_prev, a_t in zip(a[:-1], a[1:]):
        np.matmul(a_prev, W_aaT, out=h)
        a_t += h
        np.tanh(a_t, out=a_t)
    return a


def forward(w: Weights, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Scores (T_x, m, n_y) of every token, equal to ``network.forward``'s.

    ids : int (T_x, m, K), padded with 0.  lengths : (m,).
    """
    T_x, m, _ = ids.shape
    d = w.W_aaT.shape[0]
    n_y = w.b_y.shape[0]
    a = recurrence(input_projections(w, ids, np.asarray(lengths)), w.W_aaT)  # (T_x, d, m, n_a)
    y = (a.reshape(T_x * d * m, -1) @ w.W_yaT).reshape(T_x, d, m, d * n_y)
    scores = y[:, 0, :, :n_y] + w.b_y  # (T_x, m, n_y)
    if d == 2:
        scores += y[::-1, 1, :, n_y:]  # the backward states back in reading order
    return scores


def probabilities(w: Weights, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """ŷ (T_x, m, n_y): softmax over tags, or the sigmoid of the one score."""
    scores = forward(w, ids, lengths)
    return L.softmax(scores) if w.config.head == "softmax" else L.sigmoid(scores)
