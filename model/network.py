"""The tagger network: wires the layer pairs of ``layers.py`` together.

Unidirectional::

    a<t> = tanh(W_aa a<t-1> + W_ax x<t> + b_a),   ŷ<t> = g(W_ya a<t> + b_y)

Bidirectional: a second cell (``W_ax_bw, W_aa_bw, b_a_bw``) reads each sentence
right to left; its states are concatenated to the forward ones, so ``W_ya`` is
(n_y, 2 n_a). ``g``, n_y, the loss and the decoding are the head's policy
(``heads.py``: softmax over (O, B-PER, I-PER), or sigmoid). Parameters are a
plain dict; this module owns no math of its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from . import heads, layers as L


@dataclass(frozen=True)
class Config:
    n_x: int
    n_a: int = 128
    head: str = "softmax"  # a name in heads.HEADS
    bidirectional: bool = True
    n_g: int = 0  # size of the pretrained vectors g<t> (0: none)

    def __post_init__(self):
        heads.get(self.head)  # ValueError for an unknown head

    @property
    def head_policy(self) -> heads.Head:
        return heads.get(self.head)

    @property
    def n_y(self) -> int:
        return self.head_policy.n_y

    def to_json(self) -> dict:
        return asdict(self)


def param_shapes(cfg: Config) -> dict[str, tuple[int, ...]]:
    shapes = {"W_ax": (cfg.n_a, cfg.n_x), "W_aa": (cfg.n_a, cfg.n_a), "b_a": (cfg.n_a, 1)}
    if cfg.bidirectional:
        shapes.update(W_ax_bw=(cfg.n_a, cfg.n_x), W_aa_bw=(cfg.n_a, cfg.n_a), b_a_bw=(cfg.n_a, 1))
    n_h = cfg.n_a * (2 if cfg.bidirectional else 1)
    shapes.update(W_ya=(cfg.n_y, n_h), b_y=(cfg.n_y, 1))
    if cfg.n_g:  # last, so a model without vectors draws the same initial weights as before
        shapes["W_ag"] = (cfg.n_a, cfg.n_g)
        if cfg.bidirectional:
            shapes["W_ag_bw"] = (cfg.n_a, cfg.n_g)
    return shapes


def init_params(cfg: Config, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """Small random input columns, orthogonal W_aa (keeps early gradients from
    exploding or vanishing through time), Xavier W_ya, zero biases."""
    params = {}
    for name, shp in param_shapes(cfg).items():
        if name.startswith("W_ax"):
            p = np.asfortranarray(rng.normal(0.0, 0.1, shp))  # column-major: lookups read columns
            p[:, 0] = 0.0  # padding column
        elif name.startswith("W_aa"):
            q, _ = np.linalg.qr(rng.normal(size=shp))
            p = q
        elif name.startswith("W_ag"):
            p = rng.normal(0.0, 0.1, shp)
        elif name == "W_ya":
            p = rng.normal(0.0, np.sqrt(2.0 / sum(shp)), shp)
        else:
            p = np.zeros(shp)
        params[name] = p.astype(dtype, order="K")
    return params


class Cache(NamedTuple):
    inp: tuple
    rnn: L.RNNCache
    inp_bw: tuple | None
    rnn_bw: L.RNNCache | None
    rev: np.ndarray | None
    drop: np.ndarray | None
    head: tuple
    vec: L.VectorCache | None = None
    vec_bw: L.VectorCache | None = None


def forward(params, ids, lengths, cfg: Config, drop_p: float = 0.0, rng=None, g=None):
    """Scores (pre-activation) of every token.

    ids : int (T_x, m, K) feature ids, padded with 0.  lengths : (m,).
    g : (T_x, m, n_g) pretrained vectors of the tokens (needed when cfg.n_g).
    drop_p : dropout on the hidden states (training only; needs rng).
    Returns scores (T_x, m, n_y) and the cache for backward().
    """
    zx, inp = L.input_forward(ids, params["W_ax"], params["b_a"])
    vec = vec_bw = None
    if cfg.n_g:
        zg, vec = L.vector_forward(g, params["W_ag"])
        zx += zg
    a, rnn = L.rnn_forward(zx, params["W_aa"])
    inp_bw = rnn_bw = rev = None
    if cfg.bidirectional:
        rev = L.reverse_index(lengths, ids.shape[0])  # (T_x, m)
        zx_bw, inp_bw = L.input_forward(L.time_gather(ids, rev), params["W_ax_bw"], params["b_a_bw"])
        if cfg.n_g:
            zg, vec_bw = L.vector_forward(L.time_gather(g, rev), params["W_ag_bw"])
            zx_bw += zg
        a_bw, rnn_bw = L.rnn_forward(zx_bw, params["W_aa_bw"])
        a = np.concatenate([a, L.time_gather(a_bw, rev)], axis=-1)  # (T_x, m, 2 n_a)
    drop = None
    if drop_p > 0.0:
        drop = (rng.random(a.shape) >= drop_p).astype(a.dtype) / (1.0 - drop_p)
        a = a * drop
    scores, head = L.affine_forward(a, params["W_ya"], params["b_y"])
    return scores, Cache(inp, rnn, inp_bw, rnn_bw, rev, drop, head, vec, vec_bw)


def backward(dscores, cache: Cache, cfg: Config, sparse: bool = False):
    """Gradients of every parameter, keys matching the params dict.

    With sparse=True, W_ax and W_ax_bw come as (cols, dcols) pairs of their
    non-zero columns (see layers.input_backward_cols).
    """
    da, grads = L.affine_backward(dscores, cache.head)
    if cache.drop is not None:
        da = da * cache.drop
    n_a = cache.rnn.a.shape[-1]
    directions = [("", da[..., :n_a], cache.rnn, cache.inp, cache.vec)]
    if cfg.bidirectional:
        directions.append(("_bw", L.time_gather(da[..., n_a:], cache.rev), cache.rnn_bw, cache.inp_bw,
                           cache.vec_bw))
    for suffix, da_dir, rnn, inp, vec in directions:
        dzx, g = L.rnn_backward(da_dir, rnn)
        grads["W_aa" + suffix] = g["W_aa"]
        if vec is not None:
            grads["W_ag" + suffix] = L.vector_backward(dzx, vec)["W_ag"]
        grads["b_a" + suffix] = dzx.sum(axis=(0, 1))[:, None]
        if sparse:
            grads["W_ax" + suffix] = L.input_backward_cols(dzx, inp)
        else:
            grads["W_ax" + suffix] = L.input_backward(dzx, inp)["W_ax"]
    return grads


def loss(scores, y, mask, cfg: Config):
    """J and dscores for the configured head (y: IOB2 tag ids (T_x, m))."""
    return cfg.head_policy.loss(scores, y, mask)


def probabilities(scores, cfg: Config):
    """ŷ<t>: (T_x, m, 3) softmax over tags, or (T_x, m, 1) sigmoid."""
    return cfg.head_policy.probabilities(scores)
