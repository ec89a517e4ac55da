"""Entity-level and token-level scores for the person class (conlleval rules).

Gold and predicted tags are IOB2 ids (0 O, 1 B-PER, 2 I-PER); the readers
already turned IOB1/IO files into IOB2 by conlleval's chunk rules, so an
entity is an exact (start, end) span match.
"""
from __future__ import annotations

from dataclasses import dataclass

from .decode import spans


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    token_f1: float
    n_gold: int
    n_pred: int
    n_correct: int

    def to_json(self) -> dict:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def _prf(correct: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = correct / n_pred if n_pred else 0.0
    r = correct / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(gold: list[list[int]], pred: list[list[int]]) -> Scores:
    """Exact-span PER precision / recall / F1, plus token-level F1 of "in a name"."""
    n_gold = n_pred = correct = tp = tok_gold = tok_pred = 0
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(spans(g)), set(spans(p))
        n_gold, n_pred, correct = n_gold + len(gs), n_pred + len(ps), correct + len(gs & ps)
        for a, b in zip(g, p, strict=True):
            tp += a > 0 and b > 0
            tok_gold += a > 0
            tok_pred += b > 0
    precision, recall, f1 = _prf(correct, n_pred, n_gold)
    return Scores(precision, recall, f1, _prf(tp, tok_pred, tok_gold)[2], n_gold, n_pred, correct)
