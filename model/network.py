"""The tagger network: wires the layer pairs of ``layers.py`` together.

Unidirectional::

    a<t> = tanh(W_aa a<t-1> + W_ax x<t> + b_a),   ŷ<t> = g(W_ya a<t> + b_y)

Bidirectional: a second cell (``W_ax_bw, W_aa_bw, b_a_bw``) reads each sentence
right to left; its states are concatenated to the forward ones, so ``W_ya`` is
(n_y, 2 n_a). With a character cell (``n_c > 0``), each word form's characters are
read left to right and right to left by two more Elman cells (``layers.char_forward``);
their final states, h<t> = [c_fw; c_bw] (2 n_c), join x<t> as the vectors g<t> do:
W_ax x<t> + W_ag g<t> + W_ah h<t>. ``g``, n_y, the loss and the decoding are the head's policy
(``heads.py``: softmax over (O, B-PER, I-PER), or sigmoid). Parameters are a
plain dict; this module owns no math of its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from . import heads, layers as L
from .tags import PER, tags_of


@dataclass(frozen=True)
class Config:
    n_x: int
    n_a: int = 128
    head: str = "softmax"  # a name in heads.HEADS
    bidirectional: bool = True
    n_g: int = 0  # size of the pretrained vectors g<t> (0: none)
    n_c: int = 0  # state size of the character cell (each direction; 0: none)
    n_ch: int = 0  # its character vocabulary (padding, <unk>, the kept characters), from the tables
    types: tuple[str, ...] = (PER,)  # the entity types, in tag order (model/tags.py)
    entity_bias: float = 0.0  # added to log ŷ of the B-/I- tags when Viterbi decodes (softmax head)
    members: int = 1  # networks of this shape whose ŷ are averaged (an ensemble: ``model/ensemble.py``)

    def __post_init__(self):
        if isinstance(self.types, list):  # as meta.json stores it
            object.__setattr__(self, "types", tuple(self.types))
        if (not isinstance(self.types, tuple) or not self.types
                or not all(isinstance(t, str) and t for t in self.types) or len(set(self.types)) != len(self.types)):
            raise ValueError(f"types must be distinct non-empty names, not {self.types!r}")
        if not isinstance(self.entity_bias, (int, float)) or isinstance(self.entity_bias, bool):
            raise ValueError(f"entity_bias must be a number, not {self.entity_bias!r}")
        heads.get(self.head, len(self.types), self.entity_bias)  # ValueError: unknown head, too many types, bad bias
        if self.n_c < 0 or (self.n_c > 0) != (self.n_ch > 0):
            raise ValueError(f"n_c={self.n_c} and n_ch={self.n_ch}: a character cell needs both, no cell neither")
        if not isinstance(self.members, int) or isinstance(self.members, bool) or self.members < 1:
            raise ValueError(f"members must be a whole number of networks, at least 1, not {self.members!r}")
        if self.members > 1 and self.n_c:
            raise ValueError("an ensemble of networks with the character cell is not supported")

    @property
    def head_policy(self) -> heads.Head:
        return heads.get(self.head, len(self.types), self.entity_bias)

    @property
    def n_y(self) -> int:
        return self.head_policy.n_y

    @property
    def tags(self) -> tuple[str, ...]:
        return tags_of(self.types)

    def to_json(self) -> dict:
        """The config as meta.json stores it; a person-name model's has no "types" (it is the default)."""
        out = asdict(self)
        if not self.n_c:  # a model without the character cell: as before there was one
            del out["n_c"], out["n_ch"]
        if not self.entity_bias:  # decoded by Viterbi alone: as before there was a bias
            del out["entity_bias"]
        if self.members == 1:  # one network: as before there were ensembles
            del out["members"]
        if self.types == (PER,):
            del out["types"]
        else:
            out["types"] = list(self.types)
        return out


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
    if cfg.n_c:  # last again: a model without the character cell draws the same weights as before
        for s in ("", "_bw"):  # the cells reading each word left to right, right to left
            shapes.update({"W_cx" + s: (cfg.n_c, cfg.n_ch), "W_cc" + s: (cfg.n_c, cfg.n_c), "b_c" + s: (cfg.n_c, 1)})
        shapes["W_ah"] = (cfg.n_a, 2 * cfg.n_c)
        if cfg.bidirectional:
            shapes["W_ah_bw"] = (cfg.n_a, 2 * cfg.n_c)
    return shapes


def init_params(cfg: Config, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """Small random input columns, orthogonal W_aa (keeps early gradients from
    exploding or vanishing through time), Xavier W_ya, zero biases."""
    params = {}
    for name, shp in param_shapes(cfg).items():
        if name.startswith(("W_ax", "W_cx")):
            p = np.asfortranarray(rng.normal(0.0, 0.1, shp))  # column-major: lookups read columns
            p[:, 0] = 0.0  # padding column
        elif name.startswith(("W_aa", "W_cc")):
            q, _ = np.linalg.qr(rng.normal(size=shp))
            p = q
        elif name.startswith(("W_ag", "W_ah")):
            p = rng.normal(0.0, 0.1, shp)
        elif name == "W_ya":
            p = rng.normal(0.0, np.sqrt(2.0 / sum(shp)), shp)
        else:
            p = np.zeros(shp)
        params[name] = p.astype(dtype, order="K")
    return params


class DirectionCache(NamedTuple):
    inp: L.InputCache
    rnn: L.RNNCache
    vec: L.VectorCache | None = None  # when the model has pretrained vectors
    chars: L.VectorCache | None = None  # W_ah h<t>, when the model has the character cell


class CharsCache(NamedTuple):
    fw: L.CharCache  # the cell reading each word left to right
    bw: L.CharCache  # right to left
    look: L.TableCache  # each token's form


class Cache(NamedTuple):
    directions: tuple[DirectionCache, ...]  # left to right, then right to left if bidirectional
    rev: np.ndarray | None  # (T_x, m): layers.reverse_index, for the right-to-left cell
    drop: L.DropoutCache
    head: L.AffineCache
    chars: CharsCache | None = None  # with the character cell


def chars_forward(params, chars):
    """h<t> = [c_fw; c_bw] of every token: the final states of both character cells,
    computed once per distinct word form, then looked up per token.

    chars : features.CharBatch.  Returns h (T_x, m, 2 n_c) (0 on padding) and the cache.
    """
    c_fw, fw = L.char_forward(chars.ids, chars.lengths, params["W_cx"], params["W_cc"], params["b_c"])
    rev = L.reverse_index(chars.lengths, chars.ids.shape[0])  # (L, U): each word read backwards
    c_bw, bw = L.char_forward(L.time_gather(chars.ids, rev), chars.lengths,
                              params["W_cx_bw"], params["W_cc_bw"], params["b_c_bw"])
    H = np.concatenate([c_fw, c_bw], axis=1)  # (U, 2 n_c)
    h, look = L.table_forward(chars.index, H.T)  # (T_x, m, 2 n_c): form 0 (padding) has the zero state
    return h, CharsCache(fw, bw, look)


def chars_backward(dh, cache: CharsCache, n_c: int):
    """Gradients of both character cells from dh (T_x, m, 2 n_c): the tokens' gradients
    scatter-added to their word forms, then BPTT through each cell."""
    dH = L.table_backward(dh, cache.look)["G"].T  # (U, 2 n_c)
    grads = L.char_backward(dH[:, :n_c], cache.fw)
    bw = L.char_backward(dH[:, n_c:], cache.bw)
    grads.update({k + "_bw": v for k, v in bw.items()})
    return grads


def direction_forward(params, ids, suffix: str = "", g=None, h=None):
    """One direction's cell over its own (possibly reversed) ids: a (T_x, m, n_a) and its cache.

    suffix picks the parameters: "" reads W_ax, W_aa, b_a (and W_ag, W_ah); "_bw" the right-to-left cell's.
    g : (T_x, m, n_g), the tokens' pretrained vectors in the same order as ids, or None.
    h : (T_x, m, 2 n_c), the tokens' character states in the same order, or None.
    """
    zx, inp = L.input_forward(ids, params["W_ax" + suffix], params["b_a" + suffix])
    vec = chr_ = None
    if g is not None:
        zg, vec = L.vector_forward(g, params["W_ag" + suffix])
        zx += zg  # W_ax x<t> = the looked-up columns + W_ag g<t>
    if h is not None:
        zh, chr_ = L.vector_forward(h, params["W_ah" + suffix])
        zx += zh  # ... + W_ah h<t>
    a, rnn = L.rnn_forward(zx, params["W_aa" + suffix])
    return a, DirectionCache(inp, rnn, vec, chr_)


def direction_backward(da, cache: DirectionCache, suffix: str = "", sparse: bool = False, dg: bool = False):
    """Gradients of one direction's W_aa, b_a, W_ax (and W_ag, W_ah), keys with its suffix;
    with dg=True also "g": (T_x, m, n_g), the gradient of its vectors (no suffix: its input);
    with the character cell always "h": (T_x, m, 2 n_c), the gradient of its character states."""
    dzx, g = L.rnn_backward(da, cache.rnn)
    g.update(L.input_backward(dzx, cache.inp, sparse))
    names = ("W_aa", "b_a", "W_ax")
    if cache.vec is not None:
        g.update(L.vector_backward(dzx, cache.vec, dg))
        names += ("W_ag",)
    grads = {name + suffix: g[name] for name in names}
    if dg:
        grads["g"] = g["g"]
    if cache.chars is not None:
        gh = L.vector_backward(dzx, cache.chars, dg=True)
        grads["W_ah" + suffix], grads["h"] = gh["W_ag"], gh["g"]
    return grads


def forward(params, ids, lengths, cfg: Config, drop_p: float = 0.0, rng=None, g=None, chars=None):
    """Scores (pre-activation) of every token.

    ids : int (T_x, m, K) feature ids, padded with 0.  lengths : (m,).
    g : (T_x, m, n_g) pretrained vectors of the tokens (needed when cfg.n_g).
    chars : features.CharBatch, the batch's characters (needed when cfg.n_c).
    drop_p : dropout on the hidden states (training only; needs rng).
    Returns scores (T_x, m, n_y) and the cache for backward().
    Twin: ``inference.forward``, the serving pass (float32, laid out for speed);
    ``tests/test_inference.py::test_inference_forward_matches_network`` ties them.
    """
    h, ch = chars_forward(params, chars) if cfg.n_c else (None, None)
    a, fw = direction_forward(params, ids, "", g if cfg.n_g else None, h)
    directions, rev = (fw,), None
    if cfg.bidirectional:
        rev = L.reverse_index(lengths, ids.shape[0])  # (T_x, m)
        a_bw, bw = direction_forward(params, L.time_gather(ids, rev), "_bw",
                                     L.time_gather(g, rev) if cfg.n_g else None,
                                     L.time_gather(h, rev) if cfg.n_c else None)
        a = np.concatenate([a, L.time_gather(a_bw, rev)], axis=-1)  # (T_x, m, 2 n_a)
        directions += (bw,)
    a, drop = L.dropout_forward(a, drop_p, rng)
    scores, head = L.affine_forward(a, params["W_ya"], params["b_y"])
    return scores, Cache(directions, rev, drop, head, ch)


def backward(dscores, cache: Cache, cfg: Config, sparse: bool = False, dg: bool = False):
    """Gradients of every parameter, keys matching the params dict.

    With sparse=True, W_ax and W_ax_bw come as (cols, dcols) pairs of their
    non-zero columns (see layers.input_backward). With dg=True (a model with
    vectors), also "g": (T_x, m, n_g), the gradient of forward's g, both
    directions summed: what fine-tuning the vectors needs. With the character cell, the
    tokens' gradients of h<t> (both directions summed) reach its cells per word form.
    """
    da, grads = L.affine_backward(dscores, cache.head)
    da = L.dropout_backward(da, cache.drop)
    n_a = cfg.n_a
    grads.update(direction_backward(da[..., :n_a], cache.directions[0], "", sparse, dg))
    if cfg.bidirectional:
        da_bw = L.time_gather(da[..., n_a:], cache.rev)  # back in the right-to-left cell's order
        bw = direction_backward(da_bw, cache.directions[1], "_bw", sparse, dg)
        for k in ("g", "h"):
            if k in bw:
                grads[k] += L.time_gather(bw.pop(k), cache.rev)  # back in token order
        grads.update(bw)
    if cache.chars is not None:
        grads.update(chars_backward(grads.pop("h"), cache.chars, cfg.n_c))
    return grads


def loss(scores, y, mask, cfg: Config):
    """J and dscores for the configured head (y: IOB2 tag ids (T_x, m))."""
    return cfg.head_policy.loss(scores, y, mask)


def probabilities(scores, cfg: Config):
    """ŷ<t>: (T_x, m, 3) softmax over tags, or (T_x, m, 1) sigmoid."""
    return cfg.head_policy.probabilities(scores)
