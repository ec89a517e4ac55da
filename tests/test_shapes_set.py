"""The hand-written set of names in text as people send it (tests/data/shapes_*.jsonl):
well-formed, big enough, and annotated as its README says."""
from __future__ import annotations

import pytest

from bench.shapes import PARTS, marked, part_path, read
from model.titles import name_start
from model.tokenizer import tokenize

SHAPES = {"greeting", "signoff", "signature", "address", "form", "chat", "ticket", "crm", "list",
          "initials", "first_alone", "title", "culture", "word_names", "negative", "email", "wrapped",
          "lower", "upper"}


@pytest.fixture(scope="module")
def parts():
    return {p: read(part_path(p)) for p in PARTS}


def test_marked_gives_text_and_spans():
    assert marked("Hi [[Priya]], meet [[Mr. X]]!") == ("Hi Priya, meet Mr. X!", [(3, 8), (15, 20)])
    assert marked("no names") == ("no names", [])


def test_the_set_is_big_enough_and_split_two_to_one(parts):
    lines = {p: sum(len([ln for ln in x.text.splitlines() if ln.strip()]) for x in xs) for p, xs in parts.items()}
    assert sum(lines.values()) >= 300
    assert 0.6 <= len(parts["dev"]) / (len(parts["dev"]) + len(parts["report"])) <= 0.72
    for xs in parts.values():
        assert {x.shape for x in xs} == SHAPES  # every shape in both parts
    ids = [x.id for xs in parts.values() for x in xs]
    assert len(ids) == len(set(ids))


def test_every_span_is_a_whole_name_without_its_title(parts):
    for x in (x for xs in parts.values() for x in xs):
        tokens = tokenize(x.text)
        starts, ends = [t.start for t in tokens], [t.end for t in tokens]
        words = [t.text for t in tokens]
        for s, e in x.spans:
            name = x.text[s:e]
            assert name == name.strip() and "[[" not in name, (x.id, name)
            assert s in starts and e in ends, (x.id, name)  # the tokenizer can give it
            i, j = starts.index(s), ends.index(e) + 1
            assert name_start(words, i, j) == i, (x.id, name)  # no title inside
        assert all(a[1] <= b[0] for a, b in zip(x.spans, x.spans[1:])), x.id  # sorted, disjoint
    negatives = [x for xs in parts.values() for x in xs if x.shape == "negative"]
    assert negatives and not any(x.spans for x in negatives)
