"""The tagger: tokens in, per-token name tags and scores out.

preprocess (``features.featurize``) -> predict (``inference.probabilities``, the
serving forward pass, float32) -> postprocess (the head's decoding, ``heads.py``),
each a plain step. ``Tagger`` holds only read-only arrays after
construction (and, with the character cell, a locked cache of word forms'
character states), so one instance can serve concurrent threads.
"""
from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import inference
from .artifact import Artifact
from .calibration import SentenceBatch, word_facts
from .decode import agreeing, spans, typed_spans
from .tags import PER, begin
from .features import char_ids, document_sets, featurize, form_index, name_key, pad
from .headers import join_last_first
from .titles import begins_a_name, join_title_stops, outside_names
from .reading import read_particles, rereadings
from .tokenizer import join_clitics
from .vectors import pad_rows

SENTENCE_END = {".", "!", "?"}


@dataclass
class Tagged:
    tags: list[int]  # IOB2 ids over the model's types (model/tags.py): 0 O, 1 B-PER, 2 I-PER for one type
    scores: list[float]  # probability that the token is part of an entity (calibrated when the artifact is)
    entity_scores: list[float] | None = None  # per span, in order: P(exactly this entity); None: not computed
    types: tuple[str, ...] = (PER,)  # the model's entity types: tag 1 + 2k / 2 + 2k is B / I of types[k]

    @property
    def labels(self) -> list[int]:
        """The seed's y: 1 for a token inside a person's name when the model finds people,
        else 1 inside any entity."""
        if PER not in self.types:
            return [int(t > 0) for t in self.tags]
        b = begin(self.types.index(PER))
        return [int(t in (b, b + 1)) for t in self.tags]

    @property
    def spans(self) -> list[tuple[int, int]]:
        return spans(self.tags)

    @property
    def typed_spans(self) -> list[tuple[int, int, int]]:
        """(start, end, type k) of each entity, in order."""
        return typed_spans(self.tags)


def split_sentences(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) token ranges of the sentences in a token list: a sentence ends
    after ".", "!" or "?" (the model was trained on sentences)."""
    bounds, start = [], 0
    for i, tok in enumerate(tokens):
        if tok in SENTENCE_END:
            bounds.append((start, i + 1))
            start = i + 1
    if start < len(tokens):
        bounds.append((start, len(tokens)))
    return bounds


class FormCache:
    """A bounded least-recently-used map from a word form to its character state
    (2 n_c,): real text repeats its words, so serving runs the character cells
    once per form; a stream of unseen words cannot grow memory. Thread-safe."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, forms: list[str]) -> list[np.ndarray | None]:
        with self._lock:
            out = [self._data.get(f) for f in forms]
            for f, v in zip(forms, out):
                if v is not None:
                    self._data.move_to_end(f)
            return out

    def put_many(self, forms: list[str], states: np.ndarray) -> None:
        if self.maxsize <= 0:
            return
        with self._lock:
            for f, v in zip(forms, states):
                self._data[f] = v.copy()  # not a view: it would keep the whole batch alive
                self._data.move_to_end(f)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class Tagger:
    def __init__(self, artifact: Artifact, batch_size: int = 64, calibrated: bool = True,
                 char_cache: int = 1 << 15):
        self.artifact = artifact
        # the artifact's calibration, or None: scores as the network gives them
        self.calibration = artifact.calibration if calibrated else None
        self.word_facts = word_facts(artifact.tables)  # what the calibration reads of a word, cached
        self.config = artifact.config
        self.tables = artifact.tables
        self.params = _float32(artifact.params)
        # laid out once, read-only: one lookup table, small feature groups folded
        self.weights = inference.prepare(self.params, self.config, self.tables.group_ids())
        self.vectors = artifact.vectors
        # an ensemble's other networks (config.members > 1): their ŷ are averaged with this one's
        self.members = [(inference.prepare(_float32(p), self.config, self.tables.group_ids()), vec)
                        for p, vec in artifact.members]
        self.batch_size = batch_size
        self.char_cache = FormCache(char_cache)  # char_cache=0: every form's state computed anew

    def predict_proba(self, sentences: list[list[str]], doc_sets=None) -> list[np.ndarray]:
        """ŷ of every token of every (non-empty) sentence: arrays (T_i, n_y).

        The network (``network_proba``) reads each sentence by the rules of ``reading``:
        a clitic written apart as one word, a rare name particle as ``de``, and some parts
        again in another context (the opening of a sentence that opens like a name after
        a comma, a display name before an address after ``From :``), each of their tokens getting
        the mean of its ŷ over the readings. Every input token gets the ŷ of the word it
        was read as.
        """
        joined = [join_clitics(s) for s in sentences]
        sentences = [read_particles(s if j is None else j[0]) for s, j in zip(sentences, joined)]
        again = [(i, s, e, c) for i, words in enumerate(sentences) for s, e, c in rereadings(words, self.has_vector)]
        probs = self.network_proba(sentences, doc_sets)
        if again:  # each token: the mean of its ŷ over the readings that hold it
            # the parts read again go through the network on their own: short, they pad little together
            more = self.network_proba([[*c, *sentences[i][s:e]] for i, s, e, c in again],
                                      None if doc_sets is None else [doc_sets[i] for i, _, _, _ in again])
            sums = [p.copy() for p in probs]
            counts = [np.ones((len(p), 1), dtype=np.float32) for p in probs]
            for (i, s, e, c), p in zip(again, more):
                sums[i][s:e] += p[len(c):]
                counts[i][s:e] += 1
            probs = [t / k for t, k in zip(sums, counts)]
        return [p if j is None else p[j[1]] for p, j in zip(probs, joined)]

    def is_first_name(self, word: str) -> bool:
        """Whether the word is in the artifact's first-name list (US SSA names)."""
        return bool(self.tables.first_names.get(name_key(word)))

    def has_vector(self, word: str) -> bool:
        """Whether the word has a GloVe vector here (always, for a model without vectors)."""
        return self.vectors is None or bool(self.vectors.rows([word])[0])

    def network_proba(self, sentences: list[list[str]], doc_sets=None) -> list[np.ndarray]:
        """The network's ŷ (T_i, n_y) of each sentence as given, in batches of similar
        length so padding stays small."""
        feats = featurize(self.tables, sentences, doc_sets)
        out: list[np.ndarray] = [None] * len(sentences)  # type: ignore[list-item]
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            ids, lengths, _, _ = pad([feats[i] for i in idx])
            rows = self.rows_of([sentences[i] for i in idx], ids.shape[0])
            g = None if rows is None else self.vectors.dense(rows)
            h = self.chars_of([sentences[i] for i in idx], ids.shape[0])
            probs = inference.probabilities(self.weights, ids, lengths, g, h)  # (T_x, m, n_y)
            if self.members:  # an ensemble: the mean ŷ of its networks
                for w, vec in self.members:
                    probs += inference.probabilities(w, ids, lengths, None if rows is None else vec.dense(rows))
                probs /= 1 + len(self.members)
            for j, i in enumerate(idx):
                out[i] = probs[: lengths[j], j]
        return out

    def vectors_of(self, sentences: list[list[str]], T_x: int) -> np.ndarray | None:
        """g<t> of a batch, time-major (T_x, m, n_g), zero on padding; None without vectors."""
        rows = self.rows_of(sentences, T_x)
        return None if rows is None else self.vectors.dense(rows)

    def rows_of(self, sentences: list[list[str]], T_x: int) -> np.ndarray | None:
        """Each token's row in the vector tables (T_x, m), 0 on padding; None without vectors.
        An ensemble's networks share the words, so the rows serve every network."""
        if self.vectors is None:
            return None
        return pad_rows([self.vectors.rows(t) for t in sentences], T_x)

    def chars_of(self, sentences: list[list[str]], T_x: int) -> np.ndarray | None:
        """h<t> of a batch, time-major (T_x, m, 2 n_c), zero on padding; None without the character cell."""
        if not self.config.n_c:
            return None
        forms, index = form_index(sentences, T_x)
        states = np.zeros((len(forms), 2 * self.config.n_c), dtype=np.float32)  # form 0, padding: the zero state
        states[1:] = self.char_states(forms[1:])
        return states[index]

    def char_states(self, forms: list[str]) -> np.ndarray:
        """The character state of each word form (U, 2 n_c): from the cache, or computed
        for the forms it lacks, all together, and remembered."""
        states = np.empty((len(forms), 2 * self.config.n_c), dtype=np.float32)
        cached = self.char_cache.get_many(forms)
        missing = [u for u, v in enumerate(cached) if v is None]
        for u, v in enumerate(cached):
            if v is not None:
                states[u] = v
        if missing:
            new = [forms[u] for u in missing]
            states[missing] = inference.char_states(self.weights, *char_ids(self.tables, new))
            self.char_cache.put_many(new, states[missing])
        return states

    def decode(self, probs: list[np.ndarray], threshold: float | None = None,
               sentences: list[list[str]] | None = None) -> list[Tagged]:
        """Tags, calibrated token scores and entity scores of sentences from their ŷ (T_i, n_y) each.

        All the sentences are decoded and calibrated together, their tokens end to
        end (one ``SentenceBatch``, one pass of NumPy calls for the whole batch).
        threshold None decodes as the head does by default (see ``heads.py``); a
        threshold applies to the calibrated token scores. A token's score is the
        calibrated probability that it is in an entity, over the sentence's valid tag
        paths; under the default decoding it is moved to the 0.5 line where the best
        path contradicts it (``decode.agreeing``), so a label never contradicts its
        score. Without the sentences' tokens (which the calibration reads), the scores
        are the network's own. A person-name model's titles (``titles.outside_names``)
        are never in a name, and score 0; under the default decoding, a display name
        "Surname, First" of an e-mail address header is one name (``headers.join_last_first``).
        """
        head = self.config.head_policy
        cuts = [0, *itertools.accumulate(len(p) for p in probs)]  # sentence i: tokens cuts[i]:cuts[i + 1]
        flat = probs[0] if len(probs) == 1 else np.concatenate(probs or [np.zeros((0, head.n_y), np.float32)])  # (N, n_y)
        raw = head.name_scores(head.posteriors(flat, cuts))  # (N,): P(in an entity | the sentence)
        if sentences is None or self.calibration is None:
            tags = head.decode_many(flat, cuts, threshold)
            scores = raw if threshold is not None else agreeing(raw, tags)
            found = _spans_in_batch(tags, cuts)
            return _per_sentence(tags, scores.tolist(), [float(raw[s:e].mean()) for s, e in found], found, cuts,
                                 self.config.types)
        batch = SentenceBatch(sentences, self.word_facts)
        d = self.calibration.domain_weights(batch)
        p_name = self.calibration.tokens(batch, raw, d)
        if self.config.types == (PER,):  # a title or greeting is never in a name: decoded outside one, scored 0
            titles = np.array([x for s in sentences for x in outside_names(s)], dtype=bool)
            # and a name begins after "Mr", "Dr", ... and after a greeting ("Hi Will,"), under the default decoding
            named = np.array([x for s in sentences for x in begins_a_name(s, self.is_first_name)], dtype=bool)
            if titles.any() or named.any():
                p_name[titles] = 0.0
                flat = flat.copy()
                flat[titles] = head.outside()  # decoded outside any name, whatever the head
                flat[named] = head.begins()
        tags = head.decode_many(flat, cuts, threshold, p_name)
        if threshold is None:
            if self.config.types == (PER,):  # "From: Kowalski, Anna" is one person
                tags = [join_last_first(s, t) for s, t in zip(sentences, tags)]
            p_name = agreeing(p_name, tags)
        found = _spans_in_batch(tags, cuts)
        kinds = None
        if self.calibration.entity_by_type is not None:
            kinds = [k for t in tags for _, _, k in typed_spans(t)]
        entity = self.calibration.entities(batch, raw, found, d, kinds)
        return _per_sentence(tags, p_name.tolist(), entity.tolist(), found, cuts, self.config.types)

    def tag_sentences(self, sentences: list[list[str]], docs: list[int] | None = None,
                      threshold: float | None = None) -> list[Tagged]:
        """Tag sentences; sentences sharing a doc id share document features."""
        doc_sets = None
        if docs is not None:
            doc_sets = document_sets(docs, sentences, self.tables.first_names)
        return self.decode(self.predict_proba(sentences, doc_sets), threshold, sentences)

    def tag_documents(self, documents: list[list[str]], threshold: float | None = None,
                      bounds: list[list[tuple[int, int]]] | None = None) -> list[Tagged]:
        """Tag token lists, each one document that may hold several sentences; one
        Tagged per document. All sentences of all documents go through the network as
        one batch, and the sentences of a document share its document features.
        bounds: each document's (start, end) sentence ranges (default: ``split_sentences``);
        one that ends in a personal title's full stop is read with the next
        (``titles.join_title_stops``), so "Mr." and its name are in one sentence."""
        sentences, docs = [], []
        for d, tokens in enumerate(documents):  # a personal title's stop ends no sentence here
            for s, e in join_title_stops(tokens, split_sentences(tokens) if bounds is None else bounds[d]):
                sentences.append(tokens[s:e])
                docs.append(d)
        tagged = self.tag_sentences(sentences, docs, threshold)
        out = [Tagged([], [], [], self.config.types) for _ in documents]
        for d, t in zip(docs, tagged):  # a sentence never starts inside a name: spans stay whole
            out[d].tags.extend(t.tags)
            out[d].scores.extend(t.scores)
            out[d].entity_scores.extend(t.entity_scores)
        return out


def _float32(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.astype(np.float32, copy=False) for k, v in params.items()}


def _spans_in_batch(tags: list[list[int]], bounds: list[int]) -> list[tuple[int, int]]:
    """Entity spans of each sentence, in the batch's token positions (bounds: where each starts)."""
    return [(s + b, e + b) for t, b in zip(tags, bounds) for s, e in spans(t)]


def _per_sentence(tags: list[list[int]], scores: list[float], entity_scores: list[float],
                  found: list[tuple[int, int]], bounds: list[int], types: tuple[str, ...] = (PER,)) -> list[Tagged]:
    """The batch's flat token and entity scores cut back into one Tagged per sentence."""
    out, k = [], 0
    for t, s, e in zip(tags, bounds, bounds[1:]):
        n = k
        while n < len(found) and found[n][0] < e:
            n += 1
        out.append(Tagged(t, scores[s:e], entity_scores[k:n], types))
        k = n
    return out
