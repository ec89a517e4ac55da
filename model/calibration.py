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

import functools
import math
import zlib
from dataclasses import dataclass
from typing import NamedTuple

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


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.c_[X, np.ones(len(X))]


class WordFact(NamedTuple):
    oov: float  # the word feature is <unk>
    fn: float  # first-name list frequency bin (0: not in it)
    ln: float  # surname list frequency bin
    title: float  # Title case
    lower: bool
    alpha: bool  # has a letter
    upper_initial: bool
    social: bool  # @user, #tag, a link
    h_word: int  # hash buckets of the lower-cased word and of its shape
    h_shape: int


def word_facts(tables: FeatureTables):
    """word -> WordFact, cached per word form (bounded), for one model's tables."""
    unk = tables.id("word", "<unk>")

    @functools.lru_cache(maxsize=1 << 15)
    def facts(token: str) -> WordFact:
        w = visible(token)
        return WordFact(float(tables.id("word", normalise(w)) == unk),
                        float(tables.first_names.get(name_key(w), 0)), float(tables.last_names.get(name_key(w), 0)),
                        float(w[:1].isupper() and not w.isupper()), w.islower(), any(c.isalpha() for c in w),
                        w[:1].isupper(), w.lower().startswith(SOCIAL_MARKS),
                        zlib.crc32(("w:" + w.lower()).encode("utf-8", "surrogatepass")) % HASH_BUCKETS,
                        zlib.crc32(("s:" + shape(w)).encode("utf-8", "surrogatepass")) % HASH_BUCKETS)
    return facts


class SentenceView:
    """What the calibrator reads of one sentence: per-token facts (cached per word form)
    and the sentence features of the domain model."""

    def __init__(self, tokens: list[str], facts):
        f = [facts(w) for w in tokens]
        self.n = len(f)
        cols = np.array([x[:4] for x in f], dtype=np.float64).reshape(self.n, 4)
        self.oov, self.fn, self.ln, self.title = cols.T
        self.no_list = ((self.fn == 0) & (self.ln == 0)).astype(np.float64)  # in neither name list
        alpha = [x for x in f if x.alpha]
        n = max(self.n, 1)
        self.features = np.array([
            sum(x.oov for x in f) / n,
            sum(x.lower for x in alpha) / len(alpha) if alpha else 0.0,
            sum(x.upper_initial for x in alpha) / len(alpha) if alpha else 0.0,
            sum(x.social for x in f) / n,
            float(bool(tokens) and tokens[-1] not in (".", "!", "?", '"', "'")),
            math.log(n),
        ])
        counts: dict[int, int] = {}
        for x in f:
            counts[x.h_word] = counts.get(x.h_word, 0) + 1
            counts[x.h_shape] = counts.get(x.h_shape, 0) + 1
        norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
        self.hashed = {k: c / norm for k, c in counts.items()}  # sparse, L2-normalised
        self.d: float | None = None  # the domain weight, once a Calibration computed it

    @property
    def domain_features(self) -> np.ndarray:
        """(len(SENTENCE_FEATURES) + HASH_BUCKETS,), dense: for fitting."""
        v = np.zeros(HASH_BUCKETS)
        for k, c in self.hashed.items():
            v[k] = c
        return np.concatenate([self.features, v])

    def token_features(self, p_name: np.ndarray) -> np.ndarray:
        """(T_x, len(TOKEN_FEATURES) + 1): the features, then 1 (the bias)."""
        X = np.empty((self.n, len(TOKEN_FEATURES) + 1))
        X[:, 0] = logit(p_name)
        X[:, 1], X[:, 2], X[:, 3] = self.oov, self.no_list, self.title
        X[:, 4], X[:, 5] = self.features[0], 1.0
        return X

    def entity_features(self, p_name: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        """(len(spans), len(ENTITY_FEATURES) + 1) for entity spans (start, end exclusive), then 1."""
        p, oov, fn, ln = p_name.tolist(), self.oov.tolist(), self.fn.tolist(), self.ln.tolist()
        rows = []
        for s, e in spans:
            mean = min(max(sum(p[s:e]) / (e - s), EPS), 1 - EPS)
            rows.append([math.log(mean / (1 - mean)), float(fn[s] == 0 and ln[e - 1] == 0), self.features[0],
                         float(e - s == 1), float(s == 0), fn[s] / 5, ln[e - 1] / 5, sum(oov[s:e]) / (e - s),
                         self.features[3], 1.0])
        return np.array(rows, dtype=np.float64).reshape(len(spans), len(ENTITY_FEATURES) + 1)


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
        """d: P(the sentence is from the second domain); 0 with one domain. Kept on the view."""
        if self.domain is None:
            return 0.0
        if view.d is None:
            n = len(SENTENCE_FEATURES)
            z = view.features @ self.domain[:n] + self.domain[-1]
            z += sum(c * self.domain[n + k] for k, c in view.hashed.items())
            view.d = float(sigmoid(z))
        return view.d

    def _mix(self, W: np.ndarray, Xb: np.ndarray, d: float) -> np.ndarray:
        p = sigmoid(Xb @ W.T)  # (n, n_domains); Xb ends with the bias column
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
