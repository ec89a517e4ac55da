"""Calibrated scores: among entities scored about p, about a fraction p are right.

The network's own probabilities are over-confident out of its training domain
(news): on tweets its names are right half the time at a mean score of 0.86.
The calibrator is fitted on dev sets (``model.calibration_fit``), one or two, each a
*domain* (CoNLL-2003 dev: news; WNUT-17 dev: social media), and stored in the
artifact's meta.json under "calibration":

    d = σ(w_dom · sentence_features)                 P(the sentence is from domain 2)
                                                     (hashed words and word shapes + a few ratios)
    token score  = (1 - d) σ(w_tok[0] · x_tok) + d σ(w_tok[1] · x_tok)
    entity score = (1 - d) σ(w_ent[0] · x_ent) + d σ(w_ent[1] · x_ent)

Each σ(w · x) is a small logistic regression on a few features (below), the
first of which is the logit of the model's own score, so with one domain and
the weights (1, 0, ..., 0) the scores are unchanged. With one dev set, d = 0.

A model of several entity types has one entity calibrator per type
(``entity_by_type``, (K, n_domains, n_features + 1)): an entity's score is
P(exactly this span, of this type), fitted on that type's entities; the token
score stays P(the token is in an entity of any type).

``ece`` is the expected calibration error used by the bench and the fit.
"""
from __future__ import annotations

import functools
import itertools
import math
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .decode import typed_spans
from .features import FeatureTables, name_key, normalise, shape, visible

EPS = 1e-6
SOCIAL_MARKS = ("@", "#", "http", "www.")
SENTENCE_FEATURES = ("oov", "lower", "title", "social", "no_final_punct", "log_length")  # + HASH_BUCKETS
HASH_BUCKETS = 512  # lower-cased words and word shapes, hashed (crc32: the same in every process)
TOKEN_FEATURES = ("logit", "oov", "no_name_list", "title", "sentence_oov")
ENTITY_FEATURES = ("logit_mean", "no_name_list", "sentence_oov", "single", "sentence_initial",
                   "first_name_bin", "last_name_bin", "entity_oov", "social")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.minimum(np.maximum(np.asarray(p, dtype=np.float64), EPS), 1 - EPS)  # np.clip, at half the call cost
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    s = np.tanh(np.multiply(z, 0.5))  # no overflow warnings for large |z|
    s += 1
    s *= 0.5
    return s


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.c_[X, np.ones(len(X))]


class WordFact(NamedTuple):
    """What the calibrator reads of one word form: a row of ``SentenceBatch.facts``.
    The first three are token features as they are; the next five are counted per sentence."""
    oov: float  # the word feature is <unk>
    no_list: float  # in neither name list
    title: float  # Title case
    social: float  # @user, #tag, a link
    alpha: float  # has a letter
    lower: float  # has a letter and is lower case
    upper_initial: float  # has a letter and starts with a capital
    fn: float  # first-name list frequency bin (0: not in it)
    ln: float  # surname list frequency bin
    h_word: float  # hash buckets of the lower-cased word and of its shape
    h_shape: float


N_FACTS = len(WordFact._fields)
_OOV, _NO_LIST, _TITLE, _SOCIAL, _ALPHA, _LOWER, _UPPER_INITIAL, _FN, _LN, _H_WORD, _H_SHAPE = range(N_FACTS)
_FIRST_LAST, _FN_LN = np.array([0, 1]), np.array([_FN, _LN])  # an entity's first and last token: start, end - 1


def word_facts(tables: FeatureTables):
    """word -> its WordFact packed as float64 bytes (one row of ``SentenceBatch.facts``),
    cached per word form (bounded), for one model's tables. Bytes, so a batch's
    rows join in one C call instead of a Python list -> array conversion."""
    unk = tables.id("word", "<unk>")

    @functools.lru_cache(maxsize=1 << 15)
    def facts(token: str) -> bytes:
        w = visible(token)
        fn, ln = tables.first_names.get(name_key(w), 0), tables.last_names.get(name_key(w), 0)
        alpha = any(c.isalpha() for c in w)
        fact = WordFact(tables.id("word", normalise(w)) == unk, fn == 0 and ln == 0,
                        w[:1].isupper() and not w.isupper(), w.lower().startswith(SOCIAL_MARKS),
                        alpha, alpha and w.islower(), alpha and w[:1].isupper(), fn, ln,
                        zlib.crc32(("w:" + w.lower()).encode("utf-8", "surrogatepass")) % HASH_BUCKETS,
                        zlib.crc32(("s:" + shape(w)).encode("utf-8", "surrogatepass")) % HASH_BUCKETS)
        return np.array(fact, dtype=np.float64).tobytes()
    return facts


def segment_sums(X: np.ndarray, lengths: list[int]) -> np.ndarray:
    """Σ of the rows of X (N, k) over consecutive segments of the given lengths -> (m, k),
    each added in order; an empty segment sums to 0."""
    if all(lengths) and lengths:
        return np.add.reduceat(X, np.array([0, *itertools.accumulate(lengths[:-1])]), axis=0)
    cs = np.zeros((len(X) + 1, X.shape[1]))  # integer-valued X here: the cumulative sums are exact
    np.cumsum(X, axis=0, out=cs[1:])
    bounds = np.array([0, *itertools.accumulate(lengths)])
    return cs[bounds[1:]] - cs[bounds[:-1]]


class SentenceBatch:
    """What the calibrator reads of a batch of sentences, their tokens laid end to end:
    per-token facts (cached per word form) and each sentence's domain features.
    The Tagger calibrates all the sentences of a request as one batch, the fit all of a dev set.

    facts : (N, N_FACTS), N tokens in all.  bounds : (m + 1,), sentence i is tokens
    bounds[i]:bounds[i + 1].  sentence : (N,) the sentence of each token.
    features : (m, len(SENTENCE_FEATURES)).
    """

    def __init__(self, sentences: list[list[str]], facts):
        lengths = [len(s) for s in sentences]
        self.m = len(sentences)
        self.bounds = np.array([0, *itertools.accumulate(lengths)], dtype=np.int64)
        self.facts = np.frombuffer(b"".join(map(facts, itertools.chain.from_iterable(sentences))),
                                   dtype=np.float64).reshape(-1, N_FACTS)
        self.sentence = np.repeat(np.arange(self.m), lengths) if self.m > 1 else np.zeros(len(self.facts), np.int64)
        counted = segment_sums(self.facts[:, :_UPPER_INITIAL + 1], lengths)  # (m, 7)
        # per sentence: its length (at least 1), no_final_punct, log_length
        whole = np.array([(max(len(s), 1), bool(s) and s[-1] not in (".", "!", "?", '"', "'"), math.log(max(len(s), 1)))
                          for s in sentences], dtype=np.float64).reshape(self.m, 3)
        self.features = np.empty((self.m, len(SENTENCE_FEATURES)))
        self.features[:, 0] = counted[:, _OOV] / whole[:, 0]
        # lower, title: shares of the tokens with a letter (0 without any: their counts are 0 too)
        self.features[:, 1:3] = counted[:, _LOWER:_UPPER_INITIAL + 1] / np.maximum(counted[:, _ALPHA:_ALPHA + 1], 1)
        self.features[:, 3] = counted[:, _SOCIAL] / whole[:, 0]
        self.features[:, 4:] = whole[:, 1:]

    def domain_features(self) -> np.ndarray:
        """(m, len(SENTENCE_FEATURES) + HASH_BUCKETS): the features, then the counts of
        the hash buckets of the sentence's words and shapes, L2-normalised."""
        buckets = self.facts[:, _H_WORD:_H_SHAPE + 1]  # (N, 2)
        if self.m > 1:
            buckets = buckets + (self.sentence * HASH_BUCKETS)[:, None]  # each sentence its own buckets
        counts = np.bincount(buckets.astype(np.int64).ravel(),
                             minlength=self.m * HASH_BUCKETS).reshape(self.m, HASH_BUCKETS)
        norm = np.sqrt(np.add.reduce(counts * counts, axis=1, keepdims=True))  # exact: a sum of integers
        return np.concatenate([self.features, counts / np.maximum(norm, 1.0)], axis=1)

    def token_features(self, p_name: np.ndarray) -> np.ndarray:
        """(N, len(TOKEN_FEATURES) + 1) from the model's scores (N,): the features, then 1 (the bias)."""
        X = np.empty((len(self.facts), len(TOKEN_FEATURES) + 1))
        X[:, 0] = logit(p_name)
        X[:, 1:4] = self.facts[:, _OOV:_TITLE + 1]  # oov, no_list, title
        X[:, 4] = self.features[self.sentence, 0]
        X[:, 5] = 1.0
        return X

    def entity_features(self, p_name: np.ndarray, spans: np.ndarray) -> np.ndarray:
        """(n_spans, len(ENTITY_FEATURES) + 1) for entity spans (n_spans, 2), [start, end)
        in the batch's token positions (within one sentence), then 1."""
        if not len(spans):
            return np.zeros((0, len(ENTITY_FEATURES) + 1))
        s = spans[:, 0]
        size = spans[:, 1] - s
        sent = self.sentence[s]
        cuts = spans.ravel()
        if cuts[-1] == len(self.facts):  # reduceat's last segment runs to the end anyway
            cuts = cuts[:-1]
        mean = np.add.reduceat(p_name, cuts, dtype=np.float64)[::2] / size  # each span in order, as Python sums
        X = np.empty((len(spans), len(ENTITY_FEATURES) + 1))
        X[:, 0] = [math.log(p / (1 - p)) for p in np.minimum(np.maximum(mean, EPS), 1 - EPS).tolist()]
        bins = self.facts[spans - _FIRST_LAST, _FN_LN]  # (n_spans, 2): the first token's first-name bin, the last's surname bin
        X[:, 1] = bins[:, 0] + bins[:, 1] == 0  # bins are >= 0
        sentence = self.features[sent]
        X[:, 2], X[:, 8] = sentence[:, 0], sentence[:, 3]  # the sentence's oov and social ratios
        X[:, 3] = size == 1
        X[:, 4] = s == self.bounds[sent]
        X[:, 5:7] = bins / 5
        X[:, 7] = np.add.reduceat(self.facts[:, _OOV], cuts)[::2] / size
        X[:, 9] = 1.0
        return X


@dataclass(frozen=True)
class Calibration:
    domain: np.ndarray | None  # (len(SENTENCE_FEATURES) + HASH_BUCKETS + 1,), or None for one domain
    token: np.ndarray  # (n_domains, len(TOKEN_FEATURES) + 1)
    entity: np.ndarray  # (n_domains, len(ENTITY_FEATURES) + 1)
    fitted_on: tuple[str, ...] = ()  # the dev files, one per domain
    entity_by_type: np.ndarray | None = None  # (K, n_domains, len(ENTITY_FEATURES) + 1): several types only
    types: tuple[str, ...] = ()  # the types of entity_by_type, in tag order

    @classmethod
    def identity(cls) -> Calibration:
        """Scores unchanged: σ(logit(p)) = p."""
        tok, ent = np.zeros((1, len(TOKEN_FEATURES) + 1)), np.zeros((1, len(ENTITY_FEATURES) + 1))
        tok[0, 0] = ent[0, 0] = 1.0
        return cls(None, tok, ent)

    def domain_weights(self, batch: SentenceBatch) -> np.ndarray:
        """d of each sentence (m,): P(the sentence is from the second domain); 0 with one domain."""
        if self.domain is None:
            return np.zeros(batch.m)
        return sigmoid(batch.domain_features() @ self.domain[:-1] + self.domain[-1])

    def _mix(self, W: np.ndarray, Xb: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The domains' calibrators mixed by d (n,), each row's own domain weight."""
        p = sigmoid(Xb @ W.T)  # (n, n_domains); Xb ends with the bias column
        return p[:, 0] if len(W) == 1 else (1 - d) * p[:, 0] + d * p[:, 1]

    def tokens(self, batch: SentenceBatch, p_name: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        """Calibrated P(token is in a name): (N,) from the model's (N,), all the batch's tokens.
        d : the batch's ``domain_weights``, when the caller has them."""
        d = self.domain_weights(batch) if d is None else d
        return self._mix(self.token, batch.token_features(p_name), d[batch.sentence])

    def entities(self, batch: SentenceBatch, p_name: np.ndarray, spans, d: np.ndarray | None = None,
                 kinds=None) -> np.ndarray:
        """Calibrated P(entity span is exactly a name), from the model's token scores (N,).
        spans : (n_spans, 2) [start, end) in the batch's token positions.
        kinds : (n_spans,) each span's type k, for a calibration with ``entity_by_type``."""
        spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        if not len(spans):
            return np.zeros(0)
        d = self.domain_weights(batch) if d is None else d
        X, d_span = batch.entity_features(p_name, spans), d[batch.sentence[spans[:, 0]]]
        if self.entity_by_type is None or kinds is None:
            return self._mix(self.entity, X, d_span)
        kinds = np.asarray(kinds, dtype=np.int64)
        out = np.empty(len(spans))
        for k in np.unique(kinds).tolist():
            at = kinds == k
            out[at] = self._mix(self.entity_by_type[k], X[at], d_span[at])
        return out

    def to_json(self) -> dict:
        return {"domain": None if self.domain is None else self.domain.tolist(),
                "token": self.token.tolist(), "entity": self.entity.tolist(),
                "token_features": list(TOKEN_FEATURES), "entity_features": list(ENTITY_FEATURES),
                "sentence_features": list(SENTENCE_FEATURES), "hash_buckets": HASH_BUCKETS,
                "fitted_on": list(self.fitted_on),
                **({} if self.entity_by_type is None else
                   {"entity_types": list(self.types), "entity_by_type": self.entity_by_type.tolist()})}

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
        by_type, types = None, ()
        if "entity_by_type" in obj:
            types = obj.get("entity_types")
            if (not isinstance(types, list) or not isinstance(obj["entity_by_type"], list)
                    or len(types) != len(obj["entity_by_type"])):
                raise ValueError("calibration: entity_by_type needs one weight matrix per entity_types entry")
            types = tuple(types)
            by_type = np.stack([_matrix(w, f"entity_by_type[{k}]") for k, w in enumerate(obj["entity_by_type"])])
            if by_type.shape[1:] != entity.shape:
                raise ValueError("calibration: entity_by_type weights differ in shape from entity's")
        return cls(domain, token, entity, tuple(obj.get("fitted_on", ())), by_type, types)


def _matrix(v, name: str) -> np.ndarray:
    try:
        a = np.array(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"calibration: {name} weights are not numbers") from None
    if a.ndim != 2 or not np.isfinite(a).all():
        raise ValueError(f"calibration: {name} weights must be a finite matrix")
    return a


def entity_outcomes(tags_pred: list[int], tags_gold: list[int]) -> list[tuple[tuple[int, int], bool]]:
    """Each predicted entity span and whether it exactly matches a gold span (and type)."""
    return [((s, e), ok) for s, e, _, ok in typed_outcomes(tags_pred, tags_gold)]


def typed_outcomes(tags_pred: list[int], tags_gold: list[int]) -> list[tuple[int, int, int, bool]]:
    """(start, end, type, right) of each predicted entity: right when a gold entity has the same span and type."""
    gold = set(typed_spans(tags_gold))
    return [(s, e, k, (s, e, k) in gold) for s, e, k in typed_spans(tags_pred)]


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
