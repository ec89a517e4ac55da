"""model.synth: training documents in the shapes people write, from a seed."""
from __future__ import annotations

import numpy as np
import pytest

from model.synth import SHAPES, TITLES, Pools, documents, faker_names, to_corpus
from model.tags import B, I, O
from model.titles import is_title, name_start
from model.tokenizer import tokenize
from model.units import unit_bounds

SMALL = Pools(("Priya", "Tom", "Ngozi", "Will", "Siobhán"), ("Okafor", "Smith", "Kowalczyk", "Nguyễn"),
              ((("Łukasz", "Agnieszka"), ("Wiśniewski", "Dąbrowska")), (("Chidi",), ("Eze", "Obi"))))


@pytest.fixture(scope="module")
def pools():
    """The pools training uses: Faker's Latin-script locales, here without the US lists."""
    cultures = faker_names()
    first = tuple(sorted({f for fs, _ in cultures for f in fs}))
    last = tuple(sorted({s for _, ls in cultures for s in ls}))
    return Pools(first, last, cultures)


def test_same_seed_same_documents_other_seed_others():
    a = documents(50, SMALL, np.random.default_rng(7))
    assert a == documents(50, SMALL, np.random.default_rng(7))
    assert a != documents(50, SMALL, np.random.default_rng(8))


def test_faker_names_are_latin_script_and_sorted(pools):
    import unicodedata
    assert len(pools.cultures) >= 30
    for firsts, lasts in pools.cultures:
        assert firsts and lasts and list(firsts) == sorted(firsts) and list(lasts) == sorted(lasts)
        for name in firsts + lasts:
            assert all("LATIN" in unicodedata.name(c) for c in name if c.isalpha()), name


def test_spans_are_exact_whole_tokens_without_titles(pools):
    docs = documents(600, pools, np.random.default_rng(0))
    assert {d.shape for d in docs} == set(SHAPES)
    for d in docs:
        tokens = tokenize(d.text)
        starts, ends, words = [t.start for t in tokens], [t.end for t in tokens], [t.text for t in tokens]
        for s, e in d.spans:
            name = d.text[s:e]
            assert name and name == name.strip() and "\n" not in name, (d, name)
            assert s in starts and e in ends, (d.text, name)
            i, j = starts.index(s), ends.index(e) + 1
            assert name_start(words, i, j) == i, name  # a title is never inside the span
        assert all(a[1] <= b[0] for a, b in zip(d.spans, d.spans[1:]))
    assert not any(d.spans for d in docs if d.shape == "negative")
    assert sum(len(d.spans) for d in docs) > 1000


def test_hard_negatives_hold_names_that_are_not_people(pools):
    """Companies and streets named after people, days, months and God, outside every span."""
    docs = documents(300, pools, np.random.default_rng(1))
    outside = " ".join(d.text[a:b] for d in docs
                       for a, b in zip([0, *[e for _, e in d.spans]], [*[s for s, _ in d.spans], len(d.text)]))
    for word in ("God", "Monday", "May", " Drive", " & ", "Holdings"):
        assert word in outside, word
    surnames = set(pools.last)
    assert any(w in surnames for d in docs if d.shape == "negative" for w in d.text.split())


def test_titles_written_before_names_are_titles():
    assert all(is_title(t) for t in TITLES)


def test_to_corpus_tags_the_spans_and_cuts_as_the_service_does():
    docs = documents(80, SMALL, np.random.default_rng(3))
    corpus = to_corpus(docs)
    k = 0
    for d, doc in enumerate(docs):
        tokens = tokenize(doc.text)
        units = unit_bounds(doc.text, tokens)
        sentences, tags = corpus.sentences[k:k + len(units)], corpus.tags[k:k + len(units)]
        assert corpus.docs[k:k + len(units)] == [d] * len(units)  # one document, shared features
        assert sentences == [[t.text for t in tokens[s:e]] for s, e in units]
        flat = [t for ts in tags for t in ts]
        found = []
        for i, t in enumerate(flat):
            if t == B:
                found.append([i, i + 1])
            elif t == I:
                assert found and found[-1][1] == i
                found[-1][1] = i + 1
            else:
                assert t == O
        assert [(tokens[s].start, tokens[e - 1].end) for s, e in found] == list(doc.spans)
        k += len(units)
    assert k == len(corpus)
