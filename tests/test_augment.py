"""Augmentation is pure: same corpus + same seed = same output, tags unchanged,
names swapped consistently within a document; corpora combine without doc clashes."""
from __future__ import annotations

import numpy as np

from model.augment import NamePool, augment, case_modes, combine, name_pool, recase, replace_mentions
from model.data import Corpus
from model.tags import B, I, O

POOL = NamePool(first=("Aisha", "Wei", "Kwame"), last=("Okafor", "Nakamura", "Haddad"))


def corpus() -> Corpus:
    return Corpus(
        sentences=[["Bill", "Clinton", "met", "Ludwig", "van", "Beethoven", "."],
                   ["CLINTON", "said", "J.", "Smith", "left", "."],
                   ["Clinton", "spoke", "."],
                   ["Paris", "is", "big", "."]],
        tags=[[B, I, O, B, I, I, O], [B, O, B, I, O, O], [B, O, O], [O, O, O, O]],
        docs=[0, 0, 0, 1])


def test_recase():
    assert recase(["Bill", "McDonald", "."], "lower") == ["bill", "mcdonald", "."]
    assert recase(["Bill", "McDonald"], "upper") == ["BILL", "MCDONALD"]
    assert recase(["Bill"], "keep") == ["Bill"]


def test_case_modes_shares():
    modes = case_modes(20_000, 0.2, 0.1, np.random.default_rng(0))
    assert abs(modes.count("lower") / 20_000 - 0.2) < 0.02
    assert abs(modes.count("upper") / 20_000 - 0.1) < 0.02


def test_replacement_is_consistent_within_a_document_and_keeps_tags():
    c = corpus()
    out = replace_mentions(c, POOL, 1.0, np.random.default_rng(3))
    assert out.tags == c.tags and [len(s) for s in out.sentences] == [len(s) for s in c.sentences]
    s0, s1, s2 = out.sentences[:3]
    assert s0[1] in POOL.last  # the last token of a two-token name becomes a surname
    assert s0[0] in POOL.first
    assert s2[0] == s0[1] and s1[0] == s0[1].upper()  # "Clinton" ... "CLINTON" follow "Bill Clinton"
    assert s0[4] == "van" and s1[2] == "J."  # particles and initials stay
    assert s0[2] == "met" and out.sentences[3] == c.sentences[3]  # non-names untouched
    assert c.sentences[0][0] == "Bill"  # the input is not modified


def test_augment_is_deterministic_given_the_seed():
    c = corpus()
    a = augment(c, POOL, 0.5, 0.3, 0.3, np.random.default_rng(7))
    b = augment(c, POOL, 0.5, 0.3, 0.3, np.random.default_rng(7))
    assert a == b and a.tags == c.tags


def test_name_pool_from_the_lists_is_title_case_and_sorted():
    pool = name_pool({"AISHA": 4, "WEI": 3, "X": 5, "RARE": 1}, {"OKAFOR": 3, "SMITH": 1, "NG": 2})
    assert pool.first == ("Aisha", "Wei") and pool.last == ("Ng", "Smith")


def test_combine_keeps_documents_apart_and_gives_posts_their_own():
    conll = Corpus([["a"], ["b"], ["c"]], [[O], [O], [B]], [0, 0, 1])
    wnut = Corpus([["x"], ["y"]], [[O], [B]], [0, 0])
    both = combine([conll, wnut], [False, True])
    assert both.docs == [0, 0, 1, 2, 3] and both.sentences[3:] == [["x"], ["y"]]


def test_case_by_document_recases_whole_documents():
    c = Corpus([["Ann", "Lee"], ["Bo", "Ek"], ["Cy", "Ro"], ["Di", "Su"]], [[B, I]] * 4, [0, 0, 1, 1])
    for seed in range(20):
        out = augment(c, None, 0.0, 0.4, 0.4, np.random.default_rng(seed))
        for a, b in ((0, 1), (2, 3)):  # both sentences of a document share their case
            assert [w.islower() for w in out.sentences[a]] == [w.islower() for w in out.sentences[b]]
            assert [w.isupper() for w in out.sentences[a]] == [w.isupper() for w in out.sentences[b]]


def test_lower_names_lowercases_only_the_names_of_documents_kept_as_written():
    c = corpus()
    out = augment(c, None, 0.0, 0.0, 0.0, np.random.default_rng(0), p_lower_names=0.99)
    assert out.tags == c.tags
    assert out.sentences[0] == ["bill", "clinton", "met", "ludwig", "van", "beethoven", "."]
    assert out.sentences[1] == ["clinton", "said", "j.", "smith", "left", "."]
    assert out.sentences[3] == ["Paris", "is", "big", "."]  # no name, nothing changes
    assert c.sentences[0][0] == "Bill"  # the input is not modified
    seen = set()
    for seed in range(40):  # a document lower- or upper-cased as a whole keeps its own case
        out = augment(c, None, 0.0, 0.3, 0.3, np.random.default_rng(seed), p_lower_names=0.99)
        first = out.sentences[0]
        if first[2] == "MET":
            assert first == [w.upper() for w in c.sentences[0]]
        seen.add(first[2])
    assert seen == {"met", "MET"}


def test_lower_names_at_zero_draws_nothing():
    c = corpus()
    a = augment(c, POOL, 0.5, 0.3, 0.3, np.random.default_rng(7))
    b = augment(c, POOL, 0.5, 0.3, 0.3, np.random.default_rng(7), p_lower_names=0.0)
    assert a == b
