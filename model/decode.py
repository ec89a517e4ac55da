"""From per-token probabilities to tags and name spans.

Softmax head: constrained Viterbi over log ŷ<t>, so the tags always form valid
IOB2 spans (no O -> I-PER, no sentence-initial I-PER). Taking the argmax and
repairing afterwards loses the common case of a first name tagged O and its
surname I-PER.
Sigmoid head: a threshold; a name is a maximal run of tokens above it.
"""
from __future__ import annotations

import numpy as np

from .data import B, I, O

# allowed[i, j]: may tag j follow tag i?  (rows/cols: O, B-PER, I-PER)
_ALLOWED = np.array([[1, 1, 0],
                     [1, 1, 1],
                     [1, 1, 1]], dtype=bool)
_START = np.array([True, True, False])


def viterbi(probs: np.ndarray) -> list[int]:
    """Best valid tag path of one sentence. probs : (T_x, 3) -> T_x tags."""
    T_x = probs.shape[0]
    if T_x == 0:
        return []
    log_p = np.log(np.maximum(probs.astype(np.float64), 1e-30))
    trans = np.where(_ALLOWED, 0.0, -np.inf)
    score = np.where(_START, log_p[0], -np.inf)
    back = np.empty((T_x, 3), dtype=np.int64)
    for t in range(1, T_x):
        cand = score[:, None] + trans  # (3 prev, 3 next)
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_p[t]
    path = [int(score.argmax())]
    for t in range(T_x - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def threshold_tags(p_name: np.ndarray, threshold: float = 0.5) -> list[int]:
    """IOB2 tags from one probability per token: runs above threshold are names."""
    tags, prev = [], O
    for p in p_name:
        tag = O if p < threshold else (I if prev != O else B)
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
