"""From per-token probabilities to tags and entity spans.

Softmax head: the marginals of the constrained lattice (``lattice_marginals``),
whose valid paths form IOB2 spans (no O -> I-X, no B-X -> I-Y, no
sentence-initial I-X), so a first name the argmax tags O before its surname's
I-PER still gets the surname's mass. One type (PER) runs ``one_type_marginals``
on plain floats; several types run the same recursion in NumPy.
Either head then decodes by a threshold on the (calibrated) name probability
(``threshold_tags``, ``threshold_tags_typed``): a token's label never contradicts
its score.
"""
from __future__ import annotations


import numpy as np

from .tags import B, I, O, begin, inside


def transitions(n_types: int) -> np.ndarray:
    """allowed[i, j]: tag j may follow tag i (n_y, n_y): anything may precede O or B-X;
    only B-X or I-X may precede I-X."""
    n_y = 1 + 2 * n_types
    allowed = np.ones((n_y, n_y), dtype=bool)
    for k in range(n_types):
        allowed[:, inside(k)] = False
        allowed[[begin(k), inside(k)], inside(k)] = True
    return allowed


def threshold_tags_typed(p_name: np.ndarray, threshold: float, probs: np.ndarray) -> list[int]:
    """``threshold_tags`` over several types: a token at or above threshold is in an
    entity of its likeliest type (B + I); an entity starts after a token outside one,
    where the type changes, or where B of its type is likelier than I.
    probs : (T_x, n_y) the softmax; p_name : (T_x,)."""
    inside_ = (~(np.asarray(p_name) < threshold)).tolist()
    b, i = probs[:, 1::2], probs[:, 2::2]  # (T_x, K)
    kind = np.argmax(b + i, axis=1)
    rows = np.arange(len(probs))
    new = (b[rows, kind] > i[rows, kind]).tolist()
    tags, prev_k = [], -1
    for t, k in enumerate(kind.tolist()):
        if not inside_[t]:
            tags.append(O)
            prev_k = -1
            continue
        tags.append(begin(k) if prev_k != k or new[t] else inside(k))
        prev_k = k
    return tags


def threshold_tags(p_name: np.ndarray, threshold: float = 0.5, new_name=None) -> list[int]:
    """IOB2 tags from one probability per token: a token at or above threshold is in
    a name; a name starts after a token outside one, or where new_name[t] is true
    (the softmax head's B-PER likelier than I-PER), else continues.

    The comparison is NumPy's, in p_name's own dtype (a float32 score against the
    threshold rounded to float32), then the loop runs on Python bools."""
    inside = (~(np.asarray(p_name) < threshold)).tolist()
    starts = [False] * len(inside) if new_name is None else np.asarray(new_name, dtype=bool).tolist()
    tags, prev = [], O
    for t, tag_in in enumerate(inside):
        tag = (B if prev == O or starts[t] else I) if tag_in else O
        tags.append(tag)
        prev = tag
    return tags


def spans(tags: list[int]) -> list[tuple[int, int]]:
    """Entity spans (start, end exclusive) of an IOB2 tag sequence, any type."""
    return [(s, e) for s, e, _ in typed_spans(tags)]


def typed_spans(tags: list[int]) -> list[tuple[int, int, int]]:
    """Entity spans (start, end exclusive, type k) of an IOB2 tag sequence, by
    conlleval's rules: an entity starts at B-X, or at I-X not preceded by B-X or
    I-X, and runs over the I-X that follow."""
    out, start, k = [], None, -1
    for t, tag in enumerate(list(tags) + [O]):
        if start is not None and tag != inside(k):
            out.append((start, t, k))
            start = None
        if start is None and tag != O:
            start, k = t, (tag - 1) // 2
    return out


def one_type_marginals(rows: list[list[float]]) -> list[tuple[float, float, float]]:
    """``lattice_marginals`` of one sentence of a one-type head, on plain Python floats
    (as ``best_path``: NumPy calls on 3-vectors cost more than the arithmetic).
    rows : T_x lists (ŷ_O, ŷ_B, ŷ_I), floored above 0 -> T_x marginals (O, B, I)."""
    T = len(rows)
    if not T:
        return []
    fw = []
    o, b, i = rows[0][0], rows[0][1], 0.0
    z = o + b
    o, b = o / z, b / z
    fw.append((o, b, i))
    for po, pb, pi in rows[1:]:
        s = o + b + i
        o, b, i = s * po, s * pb, (b + i) * pi
        z = o + b + i
        o, b, i = o / z, b / z, i / z
        fw.append((o, b, i))
    out = [None] * T
    bo = bb = 1.0  # beta of O; of B = of I (both may be followed by anything)
    for t in range(T - 1, -1, -1):
        fo, fb, fi = fw[t]
        mo, mb, mi = fo * bo, fb * bb, fi * bb
        z = mo + mb + mi
        out[t] = (mo / z, mb / z, mi / z)
        if t:
            po, pb, pi = rows[t]
            to, tb = po * bo + pb * bb, po * bo + pb * bb + pi * bb
            z = to + tb
            bo, bb = to / z, tb / z
    return out


def lattice_marginals(probs: np.ndarray, bounds, allowed: np.ndarray) -> np.ndarray:
    """P(tag at token t | the sentence) under the constrained lattice: each valid
    IOB2 path weighs the product of its tokens' ŷ, invalid paths (O -> I-X,
    B-X -> I-Y, a sentence-initial I-X) weigh nothing; forward-backward, scaled
    at every step. probs (N, n_y): sentences end to end, sentence i being rows
    bounds[i]:bounds[i + 1]; allowed (n_y, n_y) from ``transitions``. -> (N, n_y),
    each row summing to 1. All the sentences run side by side, one step a token."""
    N, n_y = probs.shape
    starts = np.asarray(bounds[:-1], dtype=np.int64)
    lengths = np.diff(np.asarray(bounds, dtype=np.int64))
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    out = np.zeros((N, n_y))
    if not len(lengths):
        return out
    T_x = int(lengths.max())
    t = np.arange(T_x)[:, None]
    valid = t < lengths[None, :]  # (T_x, m)
    rows = np.where(valid, starts[None, :] + t, 0)
    p = np.where(valid[..., None], np.maximum(probs[rows].astype(np.float64), 1e-30), 1.0)  # (T_x, m, n_y)
    A = allowed.astype(np.float64)
    alpha = np.empty_like(p)
    a = p[0] * A[0]  # O may precede: the sentence-initial tags
    alpha[0] = a / a.sum(axis=1, keepdims=True)
    for s in range(1, T_x):
        a = (alpha[s - 1] @ A) * p[s]
        a /= a.sum(axis=1, keepdims=True)
        alpha[s] = np.where(valid[s, :, None], a, alpha[s - 1])
    beta = np.ones_like(p)
    for s in range(T_x - 2, -1, -1):
        b = (p[s + 1] * beta[s + 1]) @ A.T
        b /= b.sum(axis=1, keepdims=True)
        beta[s] = np.where(valid[s + 1, :, None], b, 1.0)
    post = alpha * beta
    post /= post.sum(axis=2, keepdims=True)
    out[rows[valid]] = post[valid]
    return out
