"""model/restore.py: the book a token holds, continuity, sealing and opening, and restoring
(on the LLM answers in tests/data/llm_answers.jsonl, and as properties: a redacted text
comes back byte for byte, through a sealed token)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.names import Span
from model.offsets import offsets
from model.redact import Operator, Pseudonyms, redact
from model.restore import (DEFAULT_TTL_S, PLACEHOLDER, Book, Sealer, TokenError, answer, decode, encode, extend,
                           pseudonyms, restore)

KEY, OTHER = b"r" * 32, b"o" * 32
ANSWERS = [json.loads(line) for line in (Path(__file__).parent / "data" / "llm_answers.jsonl").read_text().splitlines()]
PSEUDONYM = Operator("pseudonym")
PROFILE = settings(max_examples=300, deadline=None, derandomize=True)


def spans_of(text: str, names: list[str]) -> list[Span]:
    """Spans of each name, in order, searched left to right (the model's stand-in)."""
    out, pos = [], 0
    for n in names:
        start = text.index(n, pos)
        out.append(Span(start, start + len(n), 1.0))
        pos = start + len(n)
    return out


def redact_with_book(text, names, previous=None):
    ps = pseudonyms(previous)
    red = redact(text, spans_of(text, names), PSEUDONYM, ps)
    return red, extend(previous, ps, [(text, red)])


def check_items(text, res):
    for i in res.items:
        assert text[i.start:i.end] == i.placeholder
        assert res.text[i.out_start:i.out_end] == i.text


# ---- the bars' sentences, without the model

MERKEL = "Angela Merkel met Emmanuel Macron in Berlin."


def test_round_trip_of_the_bar_sentence():
    red, book = redact_with_book(MERKEL, ["Angela Merkel", "Emmanuel Macron"])
    assert red.text == "<PERSON_1> met <PERSON_2> in Berlin."
    assert book.people == ("Angela Merkel", "Emmanuel Macron") and not book.exact
    assert restore(red.text, book).text == MERKEL
    res = restore("<PERSON_2> thanked <PERSON_1>'s team.", book)
    assert res.text == "Emmanuel Macron thanked Angela Merkel's team."
    assert res.counts == {"<PERSON_1>": 1, "<PERSON_2>": 1} and res.unknown == {}


def test_continuity_keeps_numbers_and_follows_surnames():
    _, book = redact_with_book(MERKEL, ["Angela Merkel", "Emmanuel Macron"])
    red, book2 = redact_with_book("Emmanuel Macron called Olaf Scholz. Later Merkel and Scholz spoke.",
                                  ["Emmanuel Macron", "Olaf Scholz", "Merkel", "Scholz"], book)
    assert red.text == "<PERSON_2> called <PERSON_3>. Later <PERSON_1> and <PERSON_3> spoke."
    assert book2.people == ("Angela Merkel", "Emmanuel Macron", "Olaf Scholz")
    res = restore("<PERSON_1>, <PERSON_2> and <PERSON_3>", book2)
    assert res.text == "Angela Merkel, Emmanuel Macron and Olaf Scholz"
    assert restore(red.text, book2).text == "Emmanuel Macron called Olaf Scholz. Later Merkel and Scholz spoke."


def test_later_mentions_come_back_exactly_in_the_redacted_text_and_in_full_elsewhere():
    text = "Harry Potter met harry potter. Later Harry left, and the file PERSON_1 stayed."
    red, book = redact_with_book(text, ["Harry Potter", "harry potter", "Harry"])
    assert red.text == "<PERSON_1> met <PERSON_1>. Later <PERSON_1> left, and the file PERSON_1 stayed."
    assert book.exact  # the names alone would not give it back
    assert restore(red.text, book).text == text
    assert restore(red.text + " ", book).text == (
        "Harry Potter met Harry Potter. Later Harry Potter left, and the file Harry Potter stayed. ")


def test_first_full_mention_is_restored_on_one_line():
    text = "Angela\n  Merkel spoke. Merkel left."
    red, book = redact_with_book(text, ["Angela\n  Merkel", "Merkel"])
    assert book.people == ("Angela Merkel",)
    assert restore(red.text, book).text == text
    assert restore("Ask <PERSON_1>.", book).text == "Ask Angela Merkel."


# ---- what LLMs do to placeholders

def test_every_form_the_issue_names_has_an_answer():
    assert {a["form"] for a in ANSWERS} >= {"possessive", "punctuation", "repeated", "absent",
                                            "brackets dropped", "other case", "unknown", "free-form, left alone"}


@pytest.mark.parametrize("case", ANSWERS, ids=[f"{i}-{a['form']}" for i, a in enumerate(ANSWERS)])
def test_llm_answers(case):
    book = Book(tuple(case["people"]))
    res = restore(case["answer"], book)
    assert res.text == case["restored"]
    assert res.unknown == case["unknown"]
    assert sum(res.counts.values()) == len(res.items)
    check_items(case["answer"], res)
    if case["form"] == "repeated":
        assert res.counts == {"<PERSON_1>": 6}
    if case["form"] in ("absent", "free-form, left alone"):
        assert res.items == [] and res.counts == {}


@pytest.mark.parametrize("text", ["PERSON_01", "<PERSON_0>", "PERSON_" + "9" * 5000, "<PERSON_99999999999>"])
def test_odd_numbers_are_unknown_and_left_as_they_are(text):
    res = restore(text, Book(("Angela Merkel",)))
    assert res.text == text and res.items == [] and sum(res.unknown.values()) == 1


def test_offsets_in_every_unit():
    book = Book(("Zoë Saldaña",))
    text = "😀 <PERSON_1> and 😀 person_1"
    res = restore(text, book)
    assert res.text == "😀 Zoë Saldaña and 😀 Zoë Saldaña"
    for unit in ("codepoint", "utf16", "utf8"):
        out = answer(text, res, unit)
        enc = {"codepoint": None, "utf16": "utf-16-le", "utf8": "utf-8"}[unit]
        w = 2 if unit == "utf16" else 1
        for item in out["items"]:
            if enc is None:
                assert text[item["start"]:item["end"]] == item["placeholder"]
                assert out["text"][item["out_start"]:item["out_end"]] == item["text"]
            else:
                assert text.encode(enc)[w * item["start"]:w * item["end"]].decode(enc) == item["placeholder"]
                assert out["text"].encode(enc)[w * item["out_start"]:w * item["out_end"]].decode(enc) == item["text"]
        assert out["restored"] == [{"pseudonym": "<PERSON_1>", "count": 2}] and out["unknown"] == []
    assert answer(text, res, "utf16")["items"][0]["start"] == offsets(text, "utf16")(2) == 3


# ---- the token

@pytest.fixture
def token_and_book():
    _, book = redact_with_book(MERKEL, ["Angela Merkel", "Emmanuel Macron"])
    return Sealer(KEY).seal(book, now=1_000_000), book


def test_seal_and_open(token_and_book):
    token, book = token_and_book
    assert Sealer(KEY).open(token, now=1_000_000 + DEFAULT_TTL_S - 1) == book
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "Merkel" not in token and "Angela" not in repr(Sealer(KEY).open(token, now=1_000_000).aliases)
    assert Sealer(KEY).seal(book, now=1_000_000) != token  # a fresh nonce every time


def test_every_one_character_change_is_refused(token_and_book):
    token, _ = token_and_book
    sealer = Sealer(KEY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, c in enumerate(token):
        for new in (alphabet[(alphabet.index(c) + 1) % 64], alphabet[(alphabet.index(c) + 32) % 64], "*"):
            with pytest.raises(TokenError):
                sealer.open(token[:i] + new + token[i + 1:], now=1_000_000)


def test_every_truncation_is_refused(token_and_book):
    token, _ = token_and_book
    for n in range(len(token)):
        with pytest.raises(TokenError):
            Sealer(KEY).open(token[:n], now=1_000_000)
    with pytest.raises(TokenError, match="altered, truncated or damaged"):
        Sealer(KEY).open(token[:len(token) // 2 + 8], now=1_000_000)


def test_expired_foreign_and_rotated_keys(token_and_book):
    token, book = token_and_book
    with pytest.raises(TokenError, match="expired at 1970-01-13T13:46:40Z"):
        Sealer(KEY).open(token, now=1_000_000 + DEFAULT_TTL_S)
    with pytest.raises(TokenError, match="sealed under another key"):
        Sealer(OTHER).open(token, now=1_000_000)
    rotated = Sealer(OTHER, previous=KEY)
    assert rotated.open(token, now=1_000_000) == book  # the grace period: read under the previous key
    with pytest.raises(TokenError, match="another key"):  # but new tokens are sealed under the new one
        Sealer(KEY).open(rotated.seal(book, now=1_000_000), now=1_000_000)


@pytest.mark.parametrize("garbage", ["", "x", "not a token!", "====", "A" * 10_000, "é" * 60,
                                     "AAAA=", " " + "A" * 60, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp"])
def test_garbage_is_refused_with_one_error(garbage):
    with pytest.raises(TokenError) as e:
        Sealer(KEY).open(garbage)
    assert str(e.value).startswith("The restore token ")


def test_short_keys_and_bad_ttls_are_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(b"k" * 31)
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(KEY, previous=b"short")
    for ttl in (0, -1, 10 * 365 * 86_400 + 1):
        with pytest.raises(ValueError, match="ttl"):
            Sealer(KEY, ttl=ttl)
    assert "r" * 32 not in repr(Sealer(KEY)) and "hidden" in repr(Sealer(KEY))


@pytest.mark.parametrize("raw", [b"", b"\x00", b"not deflate at all", encode(Book(("A",)))[:-1]])
def test_damaged_contents_are_a_token_error(raw):
    with pytest.raises(TokenError, match="contents are damaged"):
        decode(raw)


# ---- properties

PEOPLE = [("Angela", "Merkel"), ("Emmanuel", "Macron"), ("Harry", "Potter"), ("Harry", "Smith"),
          ("Hermione", "Granger"), ("Zoë", "Saldaña"), ("Dobby",), ("Jean-Pierre", "Léaud")]


@st.composite
def mention(draw):
    words = draw(st.sampled_from(PEOPLE))
    form = draw(st.sampled_from(["full", "first", "last", "lower", "spaced", "upper"]))
    if form == "first":
        return words[0]
    if form == "last":
        return words[-1]
    text = " ".join(words)
    return {"full": text, "lower": text.lower(), "upper": text.upper(),
            "spaced": text.replace(" ", draw(st.sampled_from(["  ", "\n", "\t "])))}[form]


FILLER = st.one_of(
    st.sampled_from([" met ", ", ", " and ", ". Later ", " thanked ", "'s team and ", " (", ") ", " PERSON_1 ",
                     " <PERSON_2> ", " <person_1>'s ", " 😀 ", "\n\n"]),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12).map(lambda s: f" {s} "))


@st.composite
def document(draw):
    """(text, the names in it in order): mentions of a few people between fillers."""
    names = draw(st.lists(mention(), max_size=8))
    parts = [draw(FILLER)]
    for n in names:
        parts += [n, draw(FILLER)]
    return "".join(parts), names


@PROFILE
@given(document())
def test_restore_of_the_redacted_text_is_the_text_through_a_token(doc):
    text, names = doc
    red, book = redact_with_book(text, names)
    sealer = Sealer(KEY)
    opened = sealer.open(sealer.seal(book))
    assert opened == book
    res = restore(red.text, opened)
    assert res.text == text
    assert sum(res.counts.values()) == len(red.items)
    check_items(red.text, res)


@PROFILE
@given(document(), document(), document())
def test_continuity_through_tokens_equals_one_request(d1, d2, d3):
    """Three turns, each with the token of the one before, number people as one request would."""
    ps = Pseudonyms()
    together = [redact(t, spans_of(t, n), PSEUDONYM, ps).text for t, n in (d1, d2, d3)]
    sealer, book = Sealer(KEY), None
    for (text, names), want in zip((d1, d2, d3), together):
        red, book = redact_with_book(text, names, sealer.open(sealer.seal(book)) if book else None)
        assert red.text == want
        assert restore(red.text, book).text == text
    assert len(book.people) == ps.count


PIECES = ["<PERSON_1>", "PERSON_2", "<person_3>", "'s", "PERSON_", "<", ">", "_", "1", "😀", " ", "x", "é"]


@PROFILE
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.characters(exclude_categories=("Cs",))), max_size=30)
       .map("".join))
def test_any_text_keeps_the_offset_guarantee_and_everything_around_the_placeholders(text):
    book = Book(("Angela Merkel", "Zoë Saldaña"))
    res = restore(text, book)
    check_items(text, res)
    assert sum(res.counts.values()) + sum(res.unknown.values()) == len(PLACEHOLDER.findall(text))
    ins = [0] + [x for i in res.items for x in (i.start, i.end)] + [len(text)]
    outs = [0] + [x for i in res.items for x in (i.out_start, i.out_end)] + [len(res.text)]
    assert [text[a:b] for a, b in zip(ins[::2], ins[1::2])] == [res.text[a:b] for a, b in zip(outs[::2], outs[1::2])]


def test_a_sealer_travels_to_another_process_as_its_keys():
    import pickle  # noqa: S403  (only to check what Dask does with the bulk command's tasks)
    sealer = Sealer(OTHER, previous=KEY, ttl=60)
    copy = pickle.loads(pickle.dumps(sealer))
    token = Sealer(KEY).seal(Book(("Angela Merkel",)))
    assert copy.open(token) == Book(("Angela Merkel",)) and copy.ttl == 60
    assert sealer.open(copy.seal(Book(("A",)))) == Book(("A",))
