"""Quality of the shipped model: entity-level PER P/R/F1 (conlleval rules, exact
spans) through ``Tagger.tag_sentences``, the service's decode path, and the seed example."""
from __future__ import annotations

from model.artifact import load
from model.data import Corpus, read_corpus
from model.scoring import score
from model.tagger import Tagger

from harness import DEFAULT_ARTIFACT, SEED_LABELS, SEED_TOKENS

from .common import CONLL_TEST, WNUT_TEST


def _head(corpus: Corpus, n: int | None) -> Corpus:
    if n is None:
        return corpus
    return Corpus(corpus.sentences[:n], corpus.tags[:n], corpus.docs[:n])


def _scores(tagger: Tagger, corpus: Corpus, docs) -> dict:
    pred = tagger.tag_sentences(corpus.sentences, docs)
    s = score(corpus.tags, [t.tags for t in pred]).to_json()
    return dict(s, sentences=len(corpus), tokens=corpus.n_tokens)


def run(quick: bool = False) -> dict:
    tagger = Tagger(load(DEFAULT_ARTIFACT))
    n = 400 if quick else None
    conll, wnut = _head(read_corpus(CONLL_TEST), n), _head(read_corpus(WNUT_TEST), n)
    seed = tagger.tag_documents([SEED_TOKENS])[0]
    return {
        "subset": n,
        "dev_f1": tagger.artifact.meta.get("metrics", {}).get("dev", {}).get("f1"),
        # CoNLL: the file's -DOCSTART- documents share document features, as in `python -m model.evaluate`
        "conll_test": _scores(tagger, conll, conll.docs),
        # WNUT-17 has no document markers: every post is its own document ...
        "wnut_test": _scores(tagger, wnut, None),
        # ... while `python -m model.evaluate` reads the whole file as one document
        "wnut_test_one_doc": _scores(tagger, wnut, wnut.docs),
        "seed": {"tokens": SEED_TOKENS, "want": SEED_LABELS, "got": seed.labels, "ok": seed.labels == SEED_LABELS},
    }
