"""The output head as one policy: what ``ŷ<t> = g(W_ya a<t> + b_y)`` means.

    softmax   n_y = 1 + 2K over K entity types, ŷ<t> over (O, B-T1, I-T1, ...)
              (K = 1: O, B-PER, I-PER); cross-entropy; decoded by constrained
              Viterbi over log ŷ plus the model's entity bias on the B-/I- tags
              (0 unless trained with one), so the tags are always valid IOB2. Its posteriors are the
              marginals of the same constrained lattice
              (``decode.lattice_marginals``), so a token's name score is the
              probability, over the valid tag paths, that it is in an entity.
    sigmoid   n_y = 1, ŷ<t> = P(token is in a name); the seed's binary
              cross-entropy; decoded by a threshold (``DEFAULT_THRESHOLD``):
              a name is a maximal run of tokens at or above it. Its posteriors
              are ŷ itself. One type only (it cannot tell types apart).

With a caller's threshold, either head puts a token in an entity when its name
score (calibrated, when the caller has it) is at least the threshold; an entity
is a run of such tokens, and the softmax head starts a new one where B is
likelier than I, or where the likeliest type changes.

Everything that depends on the head asks its ``Head`` here; no other module
compares head names. A config names its head by string (so does meta.json);
``get`` turns the name (and the number of types) into the policy and is where
it is validated.
"""
from __future__ import annotations

import numpy as np

from . import layers as L
import functools

from .tags import B, I
from .decode import (best_path, best_path_typed, lattice_marginals, log_potentials, one_type_marginals, path_loss,
                     threshold_tags, threshold_tags_typed, transitions)

DEFAULT_THRESHOLD = 0.5
MAX_BIAS = 10.0  # an entity bias beyond this (log-space, per token) is a typo, not a prior


class Head:
    """One head's policy. Subclasses set the three facts and six functions (loss,
    probabilities, posteriors, name_scores, decode_many, outside); ``decode`` is
    decode_many of one sentence."""

    name: str
    n_y: int
    takes_threshold: bool  # whether a caller may choose the decoding threshold

    max_types: int = 1

    def loss(self, scores: np.ndarray, y: np.ndarray, mask: np.ndarray):
        """J and dscores (T_x, m, n_y) from scores (T_x, m, n_y), IOB2 tag ids y (T_x, m), mask (T_x, m)."""
        raise NotImplementedError

    def path_loss(self, scores: np.ndarray, y: np.ndarray, mask: np.ndarray):
        """J and dscores of the gold paths under the constrained lattice (``decode.path_loss``)."""
        raise ValueError(f"the {self.name} head has no tag lattice: it trains with the token loss")

    def soft_loss(self, scores: np.ndarray, q: np.ndarray, mask: np.ndarray):
        """J and dscores against target ŷ q (T_x, m, n_y), a distribution per token (distillation)."""
        raise NotImplementedError

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """ŷ (..., n_y) from scores (..., n_y): the one output function of training, serving and bench."""
        raise NotImplementedError

    def posteriors(self, probs: np.ndarray, bounds) -> np.ndarray:
        """P(tag | the whole sentence) of each token, (N, n_y) from the batch's ŷ (N, n_y),
        sentence i being rows bounds[i]:bounds[i + 1]."""
        raise NotImplementedError

    def name_scores(self, post: np.ndarray) -> np.ndarray:
        """The probability that each token is part of an entity (any type): posteriors (N, n_y) -> (N,)."""
        raise NotImplementedError

    def outside(self) -> np.ndarray:
        """ŷ (n_y,) of a token that is certainly in no entity (a title, a greeting)."""
        raise NotImplementedError

    def begins(self) -> np.ndarray:
        """ŷ (n_y,) of a token that certainly begins an entity of the first type (a name after "Mr")."""
        raise NotImplementedError

    def decode(self, probs: np.ndarray, threshold: float | None = None, p_name=None) -> list[int]:
        """IOB2 tag ids of one sentence from its ŷ (T_x, n_y); see ``decode_many``."""
        return self.decode_many(probs, [0, len(probs)], threshold, p_name)[0]

    def decode_many(self, probs: np.ndarray, bounds, threshold: float | None = None, p_name=None) -> list[list[int]]:
        """Tags of each sentence of a batch laid end to end, from ŷ (N, n_y), sentence i being
        rows bounds[i]:bounds[i + 1]: threshold None decodes as the head does by default; a
        threshold applies to p_name (N,), the calibrated name probability (default: the
        head's own ``name_scores`` of its posteriors). The NumPy work is done once for all."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"heads.get({self.name!r})"


class Softmax(Head):
    name, n_y, takes_threshold, max_types = "softmax", 3, True, 1 << 10

    def __init__(self, n_types: int = 1, entity_bias: float = 0.0):
        self.n_types, self.n_y, self.entity_bias = n_types, 1 + 2 * n_types, entity_bias
        self.allowed = transitions(n_types)

    def loss(self, scores, y, mask):
        return L.softmax_loss(scores, y, mask)

    def path_loss(self, scores, y, mask):
        J, dscores = path_loss(L.log_softmax(scores.astype(np.float64)), y, mask, self.allowed)
        return J, dscores.astype(scores.dtype)

    def soft_loss(self, scores, q, mask):
        return L.soft_softmax_loss(scores, q, mask)

    def probabilities(self, scores):
        return L.softmax(scores)

    def posteriors(self, probs, bounds):
        if self.n_types > 1:
            return lattice_marginals(probs, bounds, self.allowed)
        rows = np.maximum(probs.astype(np.float64), 1e-30).tolist()
        out = [m for s, e in zip(bounds[:-1], bounds[1:]) for m in one_type_marginals(rows[s:e])]
        return np.array(out, dtype=np.float64).reshape(len(rows), 3)

    def outside(self):
        return np.eye(self.n_y)[0]  # all of ŷ on O

    def begins(self):
        return np.eye(self.n_y)[B]  # all of ŷ on B of the first type

    def name_scores(self, post):
        if self.n_types == 1:
            return post[:, B] + post[:, I]
        return 1.0 - post[:, 0]

    def decode_many(self, probs, bounds, threshold=None, p_name=None):
        cuts = list(zip(bounds[:-1], bounds[1:]))
        if threshold is None:
            log_p = log_potentials(probs, self.entity_bias)
            if self.n_types > 1:
                return [best_path_typed(log_p[s:e], self.allowed) for s, e in cuts]
            rows = log_p.tolist()
            return [best_path(rows[s:e]) for s, e in cuts]
        post = self.posteriors(probs, bounds)
        p = self.name_scores(post) if p_name is None else p_name
        if self.n_types > 1:
            return [threshold_tags_typed(p[s:e], threshold, post[s:e]) for s, e in cuts]
        new_name = post[:, B] > post[:, I]
        return [threshold_tags(p[s:e], threshold, new_name[s:e]) for s, e in cuts]

    def __repr__(self) -> str:
        bias = f", entity_bias={self.entity_bias!r}" if self.entity_bias else ""
        return f"heads.get({self.name!r}, {self.n_types}{bias})"


class Sigmoid(Head):
    name, n_y, takes_threshold = "sigmoid", 1, True

    def loss(self, scores, y, mask):
        return L.sigmoid_loss(scores, (y > 0).astype(scores.dtype), mask)

    def soft_loss(self, scores, q, mask):
        return L.sigmoid_loss(scores, q[..., 0], mask)  # the seed's cross-entropy holds for y in [0, 1]

    def probabilities(self, scores):
        return L.sigmoid(scores)

    def posteriors(self, probs, bounds):
        return probs

    def name_scores(self, post):
        return post[:, 0]

    def outside(self):
        return np.zeros(1)  # P(name) = 0

    def begins(self):
        return np.ones(1)  # P(name) = 1

    def decode_many(self, probs, bounds, threshold=None, p_name=None):
        if threshold is None:
            p, threshold = probs[:, 0], DEFAULT_THRESHOLD
        else:
            p = probs[:, 0] if p_name is None else p_name
        return [threshold_tags(p[s:e], threshold) for s, e in zip(bounds[:-1], bounds[1:])]


HEADS: dict[str, Head] = {h.name: h for h in (Softmax(), Sigmoid())}


@functools.lru_cache(maxsize=64)
def get(name: str, n_types: int = 1, entity_bias: float = 0.0) -> Head:
    """The policy of the head called name over n_types entity types, decoding with
    entity_bias (softmax only); ValueError for any other name, more types than the head
    can tell apart, or a bias the head cannot take."""
    if not isinstance(name, str) or name not in HEADS:
        raise ValueError(f"unknown head {name!r} (known: {', '.join(HEADS)})")
    head = HEADS[name]
    if not 1 <= n_types <= head.max_types:
        raise ValueError(f"the {name} head takes 1 to {head.max_types} entity types, not {n_types}")
    if not abs(entity_bias) <= MAX_BIAS:
        raise ValueError(f"entity_bias must be from -{MAX_BIAS:g} to {MAX_BIAS:g}, not {entity_bias!r}")
    if entity_bias and not isinstance(head, Softmax):
        raise ValueError(f"the {name} head decodes by a threshold: it takes no entity bias")
    return head if n_types == 1 and not entity_bias else type(head)(n_types, float(entity_bias))
