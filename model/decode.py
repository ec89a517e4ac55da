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

from .data import B, I, O


def viterbi(probs: np.ndarray) -> list[int]:
    """Best valid tag path of one sentence. probs : (T_x, 3) -> T_x tags.

    Three states, so the recursion runs on plain Python floats: NumPy calls on
    3x3 arrays cost more than the arithmetic. Ties go to the lower tag id.
    """
    if len(probs) == 0:
        return []
    log_p = np.log(np.maximum(probs.astype(np.float64), 1e-30)).tolist()
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
    (the softmax head's B-PER likelier than I-PER), else continues."""
    tags, prev = [], O
    for t, p in enumerate(p_name):
        if p < threshold:
            tag = O
        else:
            tag = B if prev == O or (new_name is not None and new_name[t]) else I
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
