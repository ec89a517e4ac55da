"""model/redact.py (the operators), model/names.py (the lists, later mentions) and
model/offsets.py, and the offset guarantee as a property."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.names import DENY_LIST, MODEL, Span, apply_lists, later_mentions
from model.offsets import offsets
from model.redact import Operator, Pseudonyms, RedactError, redact

SEED = "Harry Potter and Hermione Granger invented a new spell."
SEED_SPANS = [Span(0, 12, 0.99), Span(17, 33, 0.98)]
KEY = b"k" * 32


def test_replace_is_the_default():
    out = redact(SEED, SEED_SPANS, Operator())
    assert out.text == "[PERSON] and [PERSON] invented a new spell."
    assert [(i.start, i.end, i.out_start, i.out_end, i.text, i.replacement, i.source) for i in out.items] == [
        (0, 12, 0, 8, "Harry Potter", "[PERSON]", MODEL), (17, 33, 13, 21, "Hermione Granger", "[PERSON]", MODEL)]


def test_mask_keeps_length_and_spaces():
    out = redact("Hi Jean  Luc!", [Span(3, 12, 0.9)], Operator("mask", mask_char="#"))
    assert out.text == "Hi ####  ###!"


def test_pseudonyms_are_consistent_and_follow_first_and_last_words():
    text = "Harry Potter met Hermione Granger. Later Harry thanked Hermione."
    spans = [Span(0, 12, 1), Span(17, 33, 1), Span(41, 46, 1), Span(55, 63, 1)]
    out = redact(text, spans, Operator("pseudonym"))
    assert out.text == "<PERSON_1> met <PERSON_2>. Later <PERSON_1> thanked <PERSON_2>."
    # the same Pseudonyms carries over (one request, several inputs); case does not matter
    p = Pseudonyms()
    redact(text, spans, Operator("pseudonym"), p)
    assert redact("GRANGER and Ron", [Span(0, 7, 1), Span(12, 15, 1)], Operator("pseudonym"), p).text == \
        "<PERSON_2> and <PERSON_3>"


def test_hash_is_keyed_and_never_unkeyed():
    out = redact(SEED, SEED_SPANS, Operator("hash", key=KEY))
    want = hmac.new(KEY, b"harry potter", hashlib.sha256).hexdigest()[:16]
    assert out.items[0].replacement == want and len(want) == 16
    assert redact(SEED, SEED_SPANS, Operator("hash", key=b"other" * 8)).items[0].replacement != want
    with pytest.raises(RedactError, match="key"):
        Operator("hash")


def test_allow_list_removes_exactly_that_name_and_deny_list_adds_whole_words():
    text = "Harry Potter met Dobby and dobby's friend Dobbyson."
    spans = [Span(0, 12, 0.99)]
    assert apply_lists(text, spans, allow_list=["harry potter"]) == []
    assert apply_lists(text, spans, allow_list=["Harry"]) == spans  # exact match only
    got = apply_lists(text, spans, deny_list=["DOBBY"])
    assert [(text[s.start:s.end], s.source, s.score) for s in got] == [
        ("Harry Potter", MODEL, 0.99), ("Dobby", DENY_LIST, 1.0), ("dobby", DENY_LIST, 1.0)]


def test_deny_match_overlapping_a_model_span_takes_their_union():
    text = "Harry Potter spoke."
    assert apply_lists(text, [Span(0, 5, 0.7)], deny_list=["Harry Potter"]) == [Span(0, 12, 1.0, DENY_LIST)]
    assert apply_lists(text, [Span(0, 12, 0.7)], deny_list=["potter"]) == [Span(0, 12, 0.7)]


def test_offsets_in_each_unit():
    text = "😀 Harry Potter"
    assert [offsets(text, u)(2) for u in ("codepoint", "utf16", "utf8")] == [2, 3, 5]
    combining = "Rene\u0301e Smith"  # combining acute: one code point, one UTF-16 unit, two bytes
    assert [offsets(combining, u)(7) for u in ("codepoint", "utf16", "utf8")] == [7, 7, 8]
    with pytest.raises(ValueError):
        offsets(text, "bytes")


# --- the guarantee, as a property --------------------------------------------

TEXT = st.lists(st.sampled_from(list("ab Zé😀\u0301 .\n") + ["Ann", "Bo"]), max_size=30).map("".join)


@st.composite
def text_and_spans(draw):
    text = draw(TEXT)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8, unique=True)))
    spans = [Span(a, b, draw(st.floats(0, 1))) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    words = draw(st.lists(st.sampled_from(["ann", "bo", "zé", "a b"]), max_size=3))
    allow = draw(st.lists(st.sampled_from(["ann", "Bo", "a"]), max_size=2))
    return text, spans, words, allow


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text_and_spans(), st.sampled_from(["replace", "mask", "pseudonym", "hash"]),
       st.sampled_from(["codepoint", "utf16", "utf8"]))
def test_every_item_points_at_its_name_and_its_replacement(case, operator, unit):
    text, spans, deny, allow = case
    chosen = apply_lists(text, spans, allow, deny)
    assert all(a.end <= b.start for a, b in zip(chosen, chosen[1:]))  # sorted, disjoint
    out = redact(text, chosen, Operator(operator, replacement="<x>", key=KEY))
    for item in out.items:
        assert text[item.start:item.end] == item.text
        assert out.text[item.out_start:item.out_end] == item.replacement
    # in another unit, the same slices of the encoded strings
    enc = {"utf16": "utf-16-le", "utf8": "utf-8"}.get(unit)
    conv_in, conv_out = offsets(text, unit), offsets(out.text, unit)
    for item in out.items:
        if enc is None:
            continue
        width = 2 if unit == "utf16" else 1
        raw_in, raw_out = text.encode(enc), out.text.encode(enc)
        assert raw_in[conv_in(item.start) * width:conv_in(item.end) * width].decode(enc) == item.text
        assert raw_out[conv_out(item.out_start) * width:conv_out(item.out_end) * width].decode(enc) == item.replacement


def test_later_mentions_of_a_found_name_are_taken_too():
    from model.tokenizer import tokenize
    text = "Will Smith met Ann. Later Smith and Will left; you will see J. Smith and will."
    spans = [Span(0, 10, 0.9)]
    got = later_mentions(text, spans, tokenize(text))
    assert [(text[s.start:s.end], s.score, s.source) for s in got] == [
        ("Will Smith", 0.9, MODEL), ("Smith", 0.9, MODEL), ("Will", 0.9, MODEL), ("Smith", 0.9, MODEL)]
    assert later_mentions(text, [], tokenize(text)) == []
