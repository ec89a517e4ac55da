"""Entity-level and token-level scores (conlleval's and seqeval's default rules).

Gold and predicted tags are IOB2 ids over the model's types (``model.tags``;
one type: 0 O, 1 B-PER, 2 I-PER); the readers already turned IOB1/IO files into
IOB2 by conlleval's chunk rules, so an entity is an exact (start, end, type)
match. With several types, ``per_type`` holds each type's precision, recall
and F1, and the top-level figures are their micro-average, as seqeval's
``classification_report`` gives them (tests/test_types.py checks the two agree).
"""
from __future__ import annotations

from dataclasses import dataclass

from .decode import typed_spans


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    token_f1: float
    n_gold: int
    n_pred: int
    n_correct: int
    per_type: dict | None = None  # type -> {"precision", "recall", "f1", "n_gold", "n_pred", "n_correct"}; several types only

    def to_json(self) -> dict:
        out = {k: round(v, 6) if isinstance(v, float) else v for k, v in self.__dict__.items() if k != "per_type"}
        if self.per_type is not None:
            out["per_type"] = self.per_type
        return out


def _prf(correct: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = correct / n_pred if n_pred else 0.0
    r = correct / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(gold: list[list[int]], pred: list[list[int]], types: tuple[str, ...] | None = None) -> Scores:
    """Exact-span precision / recall / F1 (micro over the types), plus token-level F1 of
    "in an entity"; with more than one of `types`, each type's own in ``per_type``."""
    counts = {}  # k -> [gold, pred, correct]
    tp = tok_gold = tok_pred = 0
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(typed_spans(g)), set(typed_spans(p))
        for group, i in ((gs, 0), (ps, 1), (gs & ps, 2)):
            for *_, k in group:
                counts.setdefault(k, [0, 0, 0])[i] += 1
        for a, b in zip(g, p, strict=True):
            tp += a > 0 and b > 0
            tok_gold += a > 0
            tok_pred += b > 0
    n_gold, n_pred, correct = (sum(c[i] for c in counts.values()) for i in range(3))
    precision, recall, f1 = _prf(correct, n_pred, n_gold)
    per_type = None
    if types is not None and len(types) > 1:
        per_type = {}
        for k, name in enumerate(types):
            ng, npred, nc = counts.get(k, [0, 0, 0])
            p_, r_, f_ = _prf(nc, npred, ng)
            per_type[name] = {"precision": round(p_, 6), "recall": round(r_, 6), "f1": round(f_, 6),
                              "n_gold": ng, "n_pred": npred, "n_correct": nc}
    return Scores(precision, recall, f1, _prf(tp, tok_pred, tok_gold)[2], n_gold, n_pred, correct, per_type)
