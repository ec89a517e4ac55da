"""Calibrated scores: among entities scored about p, about a fraction p are right.

The network's own probabilities are over-confident out of its training domain
(news): on tweets its names are right half the time at a mean score of 0.86.
The calibrator is fitted on dev sets (``model.calibrate``), one or two, each a
*domain* (CoNLL-2003 dev: news; WNUT-17 dev: social media), and stored in the
artifact's meta.json under "calibration":

    d = σ(w_dom · sentence_features)                 P(the sentence is from domain 2)
                                                     (hashed words and word shapes + a few ratios)
    token score  = (1 - d) σ(w_tok[0] · x_tok) + d σ(w_tok[1] · x_tok)
    entity score = (1 - d) σ(w_ent[0] · x_ent) + d σ(w_ent[1] · x_ent)

Each σ(w · x) is a small logistic regression on a few features (below), the
first of which is the logit of the model's own score, so with one domain and
the weights (1, 0, ..., 0) the scores are unchanged. With one dev set, d = 0.

``ece`` is the expected calibration error used by the bench and the fit.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from .decode import spans as tag_spans
from .features import FeatureTables, name_key, normalise, shape, visible

EPS = 1e-6
SOCIAL_MARKS = ("@", "#", "http", "www.")
SENTENCE_FEATURES = ("oov", "lower", "title", "social", "no_final_punct", "log_length")  # + HASH_BUCKETS
HASH_BUCKETS = 512  # lower-cased words and word shapes, hashed (crc32: the same in every process)
TOKEN_FEATURES = ("logit", "oov", "no_name_list", "title", "sentence_oov")
ENTITY_FEATURES = ("logit_mean", "no_name_list", "sentence_oov", "single", "sentence_initial",
                   "first_name_bin", "last_name_bin", "entity_oov", "social")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * z))  # no overflow warnings for large |z|


def _hashed(words: list[str]) -> np.ndarray:
    """(HASH_BUCKETS,) counts of the lower-cased words and their shapes, L2-normalised."""
    v = np.zeros(HASH_BUCKETS)
    for w in words:
        v[zlib.crc32(("w:" + w.lower()).encode("utf-8", "surrogatepass")) % HASH_BUCKETS] += 1
        v[zlib.crc32(("s:" + shape(w)).encode("utf-8", "surrogatepass")) % HASH_BUCKETS] += 1
    norm = np.linalg.norm(v)
    return v / norm if norm else v


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.c_[X, np.ones(len(X))]


class SentenceView:
    """What the calibrator reads of one sentence: per-token facts, computed once."""

    def __init__(self, tokens: list[str], tables: FeatureTables):
        unk = tables.id("word", "<unk>")
        words = [visible(w) for w in tokens]
        self.tokens = words
        self.oov = np.array([tables.id("word", normalise(w)) == unk for w in words], dtype=np.float64)
        self.fn = np.array([tables.first_names.get(name_key(w), 0) for w in words], dtype=np.float64)
        self.ln = np.array([tables.last_names.get(name_key(w), 0) for w in words], dtype=np.float64)
        self.title = np.array([w[:1].isupper() and not w.isupper() for w in words], dtype=np.float64)
        alpha = [w for w in words if any(c.isalpha() for c in w)] or ["x"]
        n = max(len(words), 1)
        self.features = np.array([
            self.oov.mean() if words else 0.0,
            np.mean([w.islower() for w in alpha]),
            np.mean([w[:1].isupper() for w in alpha]),
            sum(w.lower().startswith(SOCIAL_MARKS) for w in words) / n,
            float(bool(words) and words[-1] not in (".", "!", "?", '"', "'")),
            math.log(n),
        ])
        self.domain_features = np.concatenate([self.features, _hashed(words)])

    def token_features(self, p_name: np.ndarray) -> np.ndarray:
        """(T_x, len(TOKEN_FEATURES))."""
        T = len(self.tokens)
        return np.c_[logit(p_name), self.oov, ((self.fn == 0) & (self.ln == 0)).astype(np.float64),
                     self.title, np.full(T, self.features[0])]

    def entity_features(self, p_name: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        """(len(spans), len(ENTITY_FEATURES)) for entity spans (start, end exclusive)."""
        rows = [[logit(p_name[s:e].mean()), float(self.fn[s] == 0 and self.ln[e - 1] == 0), self.features[0],
                 float(e - s == 1), float(s == 0), self.fn[s] / 5, self.ln[e - 1] / 5, self.oov[s:e].mean(),
                 self.features[3]] for s, e in spans]
        return np.array(rows, dtype=np.float64).reshape(len(spans), len(ENTITY_FEATURES))


@dataclass(frozen=True)
class Calibration:
    domain: np.ndarray | None  # (len(SENTENCE_FEATURES) + HASH_BUCKETS + 1,), or None for one domain
    token: np.ndarray  # (n_domains, len(TOKEN_FEATURES) + 1)
    entity: np.ndarray  # (n_domains, len(ENTITY_FEATURES) + 1)
    fitted_on: tuple[str, ...] = ()  # the dev files, one per domain

    @classmethod
    def identity(cls) -> Calibration:
        """Scores unchanged: σ(logit(p)) = p."""
        tok, ent = np.zeros((1, len(TOKEN_FEATURES) + 1)), np.zeros((1, len(ENTITY_FEATURES) + 1))
        tok[0, 0] = ent[0, 0] = 1.0
        return cls(None, tok, ent)

    def domain_weight(self, view: SentenceView) -> float:
        if self.domain is None:
            return 0.0
        return float(sigmoid(np.append(view.domain_features, 1.0) @ self.domain))

    def _mix(self, W: np.ndarray, X: np.ndarray, d: float) -> np.ndarray:
        p = sigmoid(_with_bias(X) @ W.T)  # (n, n_domains)
        return p[:, 0] if len(W) == 1 else (1 - d) * p[:, 0] + d * p[:, 1]

    def tokens(self, view: SentenceView, p_name: np.ndarray) -> np.ndarray:
        """Calibrated P(token is in a name): (T_x,) from the model's (T_x,)."""
        return self._mix(self.token, view.token_features(p_name), self.domain_weight(view))

    def entities(self, view: SentenceView, p_name: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        """Calibrated P(entity span is exactly a name), from the model's token scores (T_x,)."""
        if not spans:
            return np.zeros(0)
        return self._mix(self.entity, view.entity_features(p_name, spans), self.domain_weight(view))

    def to_json(self) -> dict:
        return {"domain": None if self.domain is None else self.domain.tolist(),
                "token": self.token.tolist(), "entity": self.entity.tolist(),
                "token_features": list(TOKEN_FEATURES), "entity_features": list(ENTITY_FEATURES),
                "sentence_features": list(SENTENCE_FEATURES), "hash_buckets": HASH_BUCKETS,
                "fitted_on": list(self.fitted_on)}

    @classmethod
    def from_json(cls, obj: dict) -> Calibration:
        """The calibration stored in meta.json; ValueError naming what does not check out."""
        if not isinstance(obj, dict):
            raise ValueError("calibration: expected an object")
        if (obj.get("token_features"), obj.get("entity_features")) != (list(TOKEN_FEATURES), list(ENTITY_FEATURES)):
            raise ValueError("calibration: features differ from this code's")
        token, entity = _matrix(obj.get("token"), "token"), _matrix(obj.get("entity"), "entity")
        if token.shape[1] != len(TOKEN_FEATURES) + 1 or entity.shape[1] != len(ENTITY_FEATURES) + 1:
            raise ValueError("calibration: wrong number of weights")
        if not 1 <= len(token) == len(entity) <= 2:
            raise ValueError("calibration: one or two domains expected")
        domain = None
        if len(token) == 2:
            if (obj.get("sentence_features"), obj.get("hash_buckets")) != (list(SENTENCE_FEATURES), HASH_BUCKETS):
                raise ValueError("calibration: sentence features differ from this code's")
            domain = _matrix([obj.get("domain")], "domain")[0]
            if len(domain) != len(SENTENCE_FEATURES) + HASH_BUCKETS + 1:
                raise ValueError("calibration: wrong number of domain weights")
        return cls(domain, token, entity, tuple(obj.get("fitted_on", ())))


def _matrix(v, name: str) -> np.ndarray:
    try:
        a = np.array(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"calibration: {name} weights are not numbers") from None
    if a.ndim != 2 or not np.isfinite(a).all():
        raise ValueError(f"calibration: {name} weights must be a finite matrix")
    return a


def entity_outcomes(tags_pred: list[int], tags_gold: list[int]) -> list[tuple[tuple[int, int], bool]]:
    """Each predicted entity span and whether it exactly matches a gold span."""
    gold = set(tag_spans(tags_gold))
    return [(s, s in gold) for s in tag_spans(tags_pred)]


def ece(conf, right, bins: int = 10) -> float:
    """Expected calibration error: the |accuracy - mean confidence| of each of
    `bins` equal-width bins of confidence, weighted by its share of the items."""
    conf, right = np.asarray(conf, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if len(conf) == 0:
        return 0.0
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(conf) * abs(right[m].mean() - conf[m].mean())
    return float(total)


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, identity_first: bool = True,
                 iters: int = 100) -> np.ndarray:
    """Weights (n_features + 1,) of an L2-regularised logistic regression (Newton's
    method). The penalty pulls towards the identity σ(x_0) when identity_first,
    so little data leaves the scores nearly as they were."""
    Xb = _with_bias(X)
    prior = np.zeros(Xb.shape[1])
    if identity_first:
        prior[0] = 1.0
    w = prior.copy()
    if len(y) == 0 or y.min() == y.max() and not identity_first:
        return w
    def loss(w):
        z = Xb @ w
        return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * np.sum((w - prior) ** 2))

    current = loss(w)
    for _ in range(iters):
        p = sigmoid(Xb @ w)
        grad = Xb.T @ (p - y) + l2 * (w - prior)
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + l2 * np.eye(len(w))
        step = np.linalg.solve(H, grad)
        t = 1.0
        while loss(w - t * step) > current and t > 1e-8:  # backtrack: saturated starts overshoot
            t /= 2
        w = w - t * step
        new = loss(w)
        if current - new < 1e-10 * max(1.0, abs(current)):
            break
        current = new
    return w
