"""From per-token probabilities to tags and entity spans.

Softmax head: constrained Viterbi over log ŷ<t> (plus the model's entity bias on
the B-/I- tags, ``log_potentials``), so the tags always form valid
IOB2 spans (no O -> I-X, no B-X -> I-Y, no sentence-initial I-X). Taking the
argmax and repairing afterwards loses the common case of a first name tagged O
and its surname I-PER. One type (PER) runs ``best_path`` on plain floats;
several types run ``best_path_typed``, the same recursion in NumPy.
Sigmoid head: a threshold; a name is a maximal run of tokens above it. Either head
with a caller's threshold: ``threshold_tags`` on the (calibrated) name probability.

A token's score is the marginal of the same constrained lattice
(``lattice_marginals``: forward-backward over the valid paths only; one type on
plain floats, ``one_type_marginals``), calibrated; ``agreeing`` moves the rare
score that the best path contradicts to the 0.5 line, so a label never
contradicts its score.
"""
from __future__ import annotations

import math

import numpy as np

from .tags import B, I, O, begin, inside


def log_potentials(probs: np.ndarray, entity_bias: float = 0.0) -> np.ndarray:
    """What constrained Viterbi maximises: log ŷ (floored at 1e-30, float64), with
    ``entity_bias`` added to every B-/I- column (a prior on entities: above 0 a path
    through a name is preferred by that much per token, so recall rises, precision falls).
    probs : (N, n_y), one sentence or several end to end."""
    log_p = np.log(np.maximum(probs.astype(np.float64), 1e-30))
    if entity_bias:
        log_p[:, 1:] += entity_bias
    return log_p


def log_probs(probs: np.ndarray) -> list[list[float]]:
    """log ŷ (``log_potentials`` with no bias) as nested Python floats: what ``best_path``
    reads. probs : (N, 3), one sentence or several end to end (one NumPy call for a batch)."""
    return log_potentials(probs).tolist()


def viterbi(probs: np.ndarray) -> list[int]:
    """Best valid tag path of one sentence. probs : (T_x, 3) -> T_x tags."""
    return best_path(log_probs(probs))


def best_path(log_p: list[list[float]]) -> list[int]:
    """The constrained Viterbi recursion on one sentence's ``log_probs`` (T_x lists of 3).

    Three states, so the recursion runs on plain Python floats: NumPy calls on
    3x3 arrays cost more than the arithmetic. Ties go to the lower tag id.
    """
    if not log_p:
        return []
    score = (log_p[0][O], log_p[0][B], -math.inf)  # no sentence-initial I-PER
    back = []
    for lo, lb, li in log_p[1:]:
        s_o, s_b, s_i = score
        k = O if s_o >= s_b and s_o >= s_i else (B if s_b >= s_i else I)  # any tag may precede O or B
        j = B if s_b >= s_i else I  # only B or I may precede I (no O -> I-PER)
        back.append((k, k, j))
        score = (score[k] + lo, score[k] + lb, score[j] + li)
    path = [max(range(3), key=lambda t: (score[t], -t))]
    for ptr in reversed(back):
        path.append(ptr[path[-1]])
    return path[::-1]


def transitions(n_types: int) -> np.ndarray:
    """allowed[i, j]: tag j may follow tag i (n_y, n_y): anything may precede O or B-X;
    only B-X or I-X may precede I-X."""
    n_y = 1 + 2 * n_types
    allowed = np.ones((n_y, n_y), dtype=bool)
    for k in range(n_types):
        allowed[:, inside(k)] = False
        allowed[[begin(k), inside(k)], inside(k)] = True
    return allowed


def best_path_typed(log_p: np.ndarray, allowed: np.ndarray) -> list[int]:
    """Constrained Viterbi over any number of types. log_p : (T_x, n_y); allowed : (n_y, n_y).
    Ties go to the lower tag id."""
    T_x, n_y = log_p.shape
    if not T_x:
        return []
    penalty = np.where(allowed, 0.0, -np.inf)  # (n_y, n_y)
    score = np.where(allowed[0], log_p[0], -np.inf)  # O may precede: the sentence-initial tags
    back = np.empty((T_x, n_y), dtype=np.int64)
    for t in range(1, T_x):
        cand = score[:, None] + penalty  # (n_y from, n_y to)
        back[t] = np.argmax(cand, axis=0)
        score = cand[back[t], np.arange(n_y)] + log_p[t]
    path = [int(np.argmax(score))]
    for t in range(T_x - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


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


def forward_backward(p: np.ndarray, valid: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The constrained lattice of a time-major batch: each valid IOB2 path weighs the
    product of its tokens' p, invalid paths (O -> I-X, B-X -> I-Y, a sentence-initial
    I-X) weigh nothing. p (T_x, m, n_y) positive, float64; valid (T_x, m) bool, true on
    each sentence's first lengths[j] steps; allowed (n_y, n_y) from ``transitions``.
    -> (the marginals P(tag at t | the sentence) (T_x, m, n_y), rows summing to 1 on
    valid steps; log Z (m,), the log of the total weight of the valid paths).
    Forward-backward scaled at every step, all sentences side by side."""
    T_x = p.shape[0]
    A = allowed.astype(np.float64)
    alpha = np.empty_like(p)
    a = p[0] * A[0]  # O may precede: the sentence-initial tags
    c = a.sum(axis=1, keepdims=True)
    alpha[0], log_z = a / c, np.log(c[:, 0])
    for s in range(1, T_x):
        a = (alpha[s - 1] @ A) * p[s]
        c = a.sum(axis=1, keepdims=True)
        alpha[s] = np.where(valid[s, :, None], a / c, alpha[s - 1])
        log_z = log_z + np.where(valid[s], np.log(c[:, 0]), 0.0)
    beta = np.ones_like(p)
    for s in range(T_x - 2, -1, -1):
        b = (p[s + 1] * beta[s + 1]) @ A.T
        b /= b.sum(axis=1, keepdims=True)
        beta[s] = np.where(valid[s + 1, :, None], b, 1.0)
    post = alpha * beta
    post /= post.sum(axis=2, keepdims=True)
    return post, log_z


def lattice_marginals(probs: np.ndarray, bounds, allowed: np.ndarray) -> np.ndarray:
    """P(tag at token t | the sentence) under the constrained lattice (``forward_backward``
    on ŷ). probs (N, n_y): sentences end to end, sentence i being rows
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
    post, _ = forward_backward(p, valid, allowed)
    out[rows[valid]] = post[valid]
    return out


def path_loss(log_p: np.ndarray, y: np.ndarray, mask: np.ndarray, allowed: np.ndarray):
    """-log P(the gold path | the constrained lattice that decodes), summed over the
    batch's sentences and averaged over its m sentences, and its gradient with respect
    to the logits: a CRF whose transitions are the constraints alone, so the network is
    trained on the very lattice whose best path and marginals it serves (the per-token
    softmax cancels out of the path probabilities). log_p (T_x, m, n_y) float64 log ŷ;
    y (T_x, m) IOB2 tag ids, a valid path; mask (T_x, m).
    -> J, dscores = (marginals - one-hot(y)) / m (float64)."""
    m = log_p.shape[1]
    valid = mask > 0
    p = np.where(valid[..., None], np.exp(log_p), 1.0)
    post, log_z = forward_backward(np.maximum(p, 1e-300), valid, allowed)
    gold = np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]  # (T_x, m)
    J = float((log_z - (gold * mask).sum(axis=0)).sum() / m)
    onehot = np.eye(log_p.shape[-1])[y]
    return J, (post - onehot) * (mask / m)[..., None]


BELOW_HALF = 0.4999  # a score of a token outside every entity: under 0.5 after rounding to 4 digits


def agreeing(p_name: np.ndarray, tags: list[list[int]]) -> np.ndarray:
    """The scores p_name (N,) of the tags (the sentences' tag lists, end to end), moved where
    they contradict them: a token inside an entity scores at least 0.5, a token outside
    every entity under 0.5 (``BELOW_HALF``). The best path and the lattice's marginals
    disagree on about one token in a thousand."""
    inside = np.fromiter((t > 0 for ts in tags for t in ts), dtype=bool, count=len(p_name))
    out = np.array(p_name, dtype=np.float64)
    out[inside & (out < 0.5)] = 0.5
    out[~inside & (out > BELOW_HALF)] = BELOW_HALF
    return out
