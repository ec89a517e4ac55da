"""The tagger: tokens in, per-token name tags and scores out.

preprocess (``features.featurize``) -> predict (``inference.probabilities``, the
serving forward pass, float32) -> postprocess (the head's decoding, ``heads.py``),
each a plain step. ``Tagger`` holds only read-only arrays after
construction, so one instance can serve concurrent threads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import inference
from .artifact import Artifact
from .calibration import SentenceView, word_facts
from .decode import spans
from .features import document_sets, featurize, pad
from .vectors import pad_rows

SENTENCE_END = {".", "!", "?"}


@dataclass
class Tagged:
    tags: list[int]  # IOB2 ids: 0 O, 1 B-PER, 2 I-PER
    scores: list[float]  # probability that the token is part of a name (calibrated when the artifact is)
    entity_scores: list[float] | None = None  # per span, in order: P(exactly a name); None: not computed

    @property
    def labels(self) -> list[int]:
        """The seed's y: 1 for a token inside a person's name."""
        return [int(t > 0) for t in self.tags]

    @property
    def spans(self) -> list[tuple[int, int]]:
        return spans(self.tags)


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


class Tagger:
    def __init__(self, artifact: Artifact, batch_size: int = 64, calibrated: bool = True):
        self.artifact = artifact
        # the artifact's calibration, or None: scores as the network gives them
        self.calibration = artifact.calibration if calibrated else None
        self.word_facts = word_facts(artifact.tables)  # what the calibration reads of a word, cached
        self.config = artifact.config
        self.tables = artifact.tables
        self.params = {k: v.astype(np.float32, copy=False) for k, v in artifact.params.items()}
        # laid out once, read-only: one lookup table, small feature groups folded
        self.weights = inference.prepare(self.params, self.config, self.tables.group_ids())
        self.vectors = artifact.vectors
        self.batch_size = batch_size

    def predict_proba(self, sentences: list[list[str]], doc_sets=None) -> list[np.ndarray]:
        """ŷ of every token of every (non-empty) sentence: arrays (T_i, n_y).

        Sentences are run in batches of similar length so padding stays small.
        """
        feats = featurize(self.tables, sentences, doc_sets)
        out: list[np.ndarray] = [None] * len(sentences)  # type: ignore[list-item]
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            ids, lengths, _, _ = pad([feats[i] for i in idx])
            g = self.vectors_of([sentences[i] for i in idx], ids.shape[0])
            probs = inference.probabilities(self.weights, ids, lengths, g)  # (T_x, m, n_y)
            for j, i in enumerate(idx):
                out[i] = probs[: lengths[j], j]
        return out

    def vectors_of(self, sentences: list[list[str]], T_x: int) -> np.ndarray | None:
        """g<t> of a batch, time-major (T_x, m, n_g), zero on padding; None without vectors."""
        if self.vectors is None:
            return None
        return self.vectors.dense(pad_rows([self.vectors.rows(t) for t in sentences], T_x))

    def decode(self, probs: np.ndarray, threshold: float | None = None, tokens: list[str] | None = None) -> Tagged:
        """Tags, calibrated token scores and entity scores of one sentence from its ŷ (T_x, n_y).

        threshold: None decodes as the head does by default (see ``heads.py``); a
        threshold applies to the calibrated token scores. Without the tokens
        (which the calibration reads), the scores are the network's own.
        """
        head = self.config.head_policy
        raw = head.name_scores(probs)
        if tokens is None or self.calibration is None:
            tags = head.decode(probs, threshold)
            return Tagged(tags, raw.tolist(), [float(raw[s:e].mean()) for s, e in spans(tags)])
        view = SentenceView(tokens, self.word_facts)
        p_name = self.calibration.tokens(view, raw)
        tags = head.decode(probs, threshold, p_name)
        return Tagged(tags, p_name.tolist(), self.calibration.entities(view, raw, spans(tags)).tolist())

    def tag_sentences(self, sentences: list[list[str]], docs: list[int] | None = None,
                      threshold: float | None = None) -> list[Tagged]:
        """Tag sentences; sentences sharing a doc id share document features."""
        doc_sets = None
        if docs is not None:
            doc_sets = document_sets(docs, sentences, self.tables.first_names)
        return [self.decode(p, threshold, toks) for p, toks in zip(self.predict_proba(sentences, doc_sets), sentences)]

    def tag_documents(self, documents: list[list[str]], threshold: float | None = None) -> list[Tagged]:
        """Tag token lists, each one document that may hold several sentences;
        all sentences of all documents go through the network as one batch."""
        sentences, docs = [], []
        for d, tokens in enumerate(documents):
            for s, e in split_sentences(tokens):
                sentences.append(tokens[s:e])
                docs.append(d)
        tagged = self.tag_sentences(sentences, docs, threshold)
        out = [Tagged([], [], []) for _ in documents]
        for d, t in zip(docs, tagged):  # a sentence never starts inside a name: spans stay whole
            out[d].tags.extend(t.tags)
            out[d].scores.extend(t.scores)
            out[d].entity_scores.extend(t.entity_scores)
        return out
