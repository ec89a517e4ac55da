"""Property tests (hypothesis) for the tokenizer and the response builder.

For any Unicode string up to the service's character limit: offsets slice the
text back to every token and entity, tokens are in order and never overlap,
nothing but whitespace is dropped, labels and tokens have the same length and
entities never cross token boundaries. The last test runs the same checks on
whole answers of the service (Flask test client, shipped model).
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from model.tagger import Tagged
from model.answer import result
from model.tokenizer import join_tokens, tokenize
from service.config import Limits

MAX_CHARS = Limits().max_chars
PROFILE = settings(max_examples=400, deadline=None, derandomize=True)

# Every code point but surrogates (not valid in JSON text), plus the ones that
# stress a tokenizer: whitespace of all kinds, zero-width and bidi controls,
# combining marks, skin-tone and variation modifiers, ZWJ emoji sequences.
SPECIAL = list(" \t\n\r\x0b\x0c\x1c\x1d\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000"
               "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202e\u2066\u2069"
               "\u0301\u0308\u20d0\ufe0f\ufe0e\u20e3\U0001F3FB\U0001F3FF\U000E0067\U000E007F"
               "'’-._@/:,") + ["👍🏽", "👨‍👩‍👧", "🏴\U000E0067\U000E0062\U000E007F", "שלום", "مرحبا",
                               "O'Brien", "n't", "'s", "U.S.", "J.", "http://x.y/z.", "a@b.co",
                               "1,000.50", "Jean-Pierre", "e\u0301", "\u0915\u094d\u0937"]
chars = st.characters(exclude_categories=("Cs",))
texts = st.one_of(
    st.text(chars, max_size=MAX_CHARS),
    st.lists(st.one_of(st.sampled_from(SPECIAL), st.text(chars, max_size=8)), max_size=200).map("".join),
)
AT_THE_LIMIT = (" ".join(SPECIAL) * MAX_CHARS)[:MAX_CHARS]  # hypothesis rarely draws long strings


def check_tokens(text, tokens):
    pos = 0
    for tok in tokens:
        assert tok.start < tok.end, tok  # never empty
        assert text[tok.start:tok.end] == tok.text
        assert tok.start >= pos, (tok, pos)  # in order, no overlap
        gap = text[pos:tok.start]
        assert gap == "" or gap.isspace(), (gap, tok)  # only whitespace dropped
        assert not any(c.isspace() for c in tok.text), tok
        pos = tok.end
    tail = text[pos:]
    assert tail == "" or tail.isspace(), tail


@PROFILE
@given(texts)
@example(AT_THE_LIMIT)
@example("x" * MAX_CHARS)
def test_tokenizer_offsets_order_and_coverage(text):
    tokens = tokenize(text)
    check_tokens(text, tokens)
    assert "".join(t.text for t in tokens) == "".join(c for c in text if not c.isspace())


@PROFILE
@given(st.lists(st.text(chars, min_size=1, max_size=12).filter(lambda w: w.strip()), max_size=60))
def test_join_tokens_offsets(words):
    text, tokens = join_tokens(words)
    assert [t.text for t in tokens] == words
    for t in tokens:
        assert text[t.start:t.end] == t.text
    assert all(a.end + 1 == b.start for a, b in zip(tokens, tokens[1:]))


def tagged_for(n):
    """Any tag sequence over O, B-PER, I-PER (also invalid IOB2) with any scores."""
    return st.tuples(st.lists(st.integers(0, 2), min_size=n, max_size=n),
                     st.lists(st.floats(0, 1), min_size=n, max_size=n)).map(lambda ts: Tagged(*ts))


def check_result(text, res):
    toks = res["tokens"]
    assert len(res["labels"]) == len(toks)
    assert res["labels"] == [t["label"] for t in toks]
    for t in toks:
        assert text[t["start"]:t["end"]] == t["text"]
        assert 0 <= t["score"] <= 1
    prev_end = 0
    inside = set()
    for e in res["entities"]:
        s, x = e["token_start"], e["token_end"]
        assert prev_end <= s < x <= len(toks), e  # ordered, disjoint, non-empty
        assert text[e["start"]:e["end"]] == e["text"]
        assert (e["start"], e["end"]) == (toks[s]["start"], toks[x - 1]["end"])  # token boundaries
        assert e["label"] == "PER" and 0 <= e["score"] <= 1
        inside.update(range(s, x))
        prev_end = x
    assert [i for i, t in enumerate(toks) if t["label"] == 1] == sorted(inside)


@PROFILE
@given(st.data())
def test_response_builder_on_any_text_and_tags(data):
    text = data.draw(texts)
    tokens = tokenize(text)
    res = result(text, tokens, data.draw(tagged_for(len(tokens))))
    check_result(text, res)
    json.dumps(res, allow_nan=False)  # plain JSON: no NaN, no numpy types


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(texts.map(lambda t: {"text": t}),
                 st.lists(st.text(chars, min_size=1, max_size=10).filter(str.strip), max_size=30)
                 .map(lambda ws: {"tokens": ws})))
def test_service_answers_keep_the_invariants(client, body):
    resp = client.post("/tag", data=json.dumps(body), content_type="application/json")
    text = body["text"] if "text" in body else " ".join(body["tokens"])
    if "\x00" in text:  # refused by the schema
        assert resp.status_code == 422
        return
    assert resp.status_code == 200, resp.get_json()
    check_result(text, resp.get_json())
