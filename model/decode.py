"""From per-token probabilities to tags and name spans.

Softmax head: constrained Viterbi over log ŷ<t>, so the tags always form valid
IOB2 spans (no O -> I-PER, no sentence-initial I-PER). Taking the argmax and
repairing afterwards loses the common case of a first name tagged O and its
surname I-PER.
Sigmoid head: a threshold; a name is a maximal run of tokens above it. Either head
with a caller's threshold: ``threshold_tags`` on the (calibrated) name probability.
"""
from __future__ import annotations

import math

import numpy as np

from .tags import B, I, O


def log_probs(probs: np.ndarray) -> list[list[float]]:
    """log ŷ (floored at 1e-30) as nested Python floats: what ``best_path`` reads.
    probs : (N, 3), one sentence or several end to end (one NumPy call for a batch)."""
    return np.log(np.maximum(probs.astype(np.float64), 1e-30)).tolist()


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
    """Entity spans (start, end exclusive) of a valid IOB2 tag sequence."""
    out, start = [], None
    for t, tag in enumerate(list(tags) + [O]):
        if start is not None and tag != I:
            out.append((start, t))
            start = None
        if tag == B or (tag == I and start is None):
            start = t
    return out
