"""service.fastpath agrees with the marshmallow schema + service.inputs: whenever it
answers, they accept the same request and load the same TagRequest; the common
requests do take it."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service import fastpath, schemas
from service import inputs as adapt
from service.config import Limits

SMALL = Limits(max_body_bytes=1 << 20, max_chars=40, max_tokens=6, max_inputs=3, max_total_tokens=10)


def schema_load(data, lim: Limits):
    try:
        return adapt.tag_request(schemas.tag_request.load(data), lim)
    except ValidationError:
        return "refused"


def agree(data, lim: Limits = SMALL):
    fast = fastpath.tag_request(data, lim)
    if fast is not None:
        assert fast == schema_load(data, lim), data
    return fast


strings = st.sampled_from(["Harry Potter", "", " ", "a\x00b", "\ud800", "x" * 41, "a b c d e f g",
                           "J. K. Rowling , 10:30", "Ron"]) | st.text(max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | strings
token_lists = st.lists(strings, max_size=8) | st.lists(scalars, max_size=3)
inputs = st.dictionaries(st.sampled_from(["text", "tokens", "inputs", "threshold", "other"]),
                         strings | token_lists | scalars, max_size=2)
requests = (st.dictionaries(st.sampled_from(["text", "tokens", "threshold", "other"]),
                            strings | token_lists | scalars, max_size=3)
            | st.fixed_dictionaries({"inputs": st.lists(inputs, max_size=4) | scalars})
            | st.fixed_dictionaries({"inputs": st.lists(inputs, max_size=4)},
                                    optional={"threshold": st.floats(0, 1) | scalars})
            | scalars | st.lists(scalars, max_size=2))


words = st.sampled_from(["Harry", "Potter", "J.", "O'Brien", ",", "10:30", "don't", "x" * 12, "Ron", " ",
                         "a\x00", "\ud800", "ß"])
texts = st.lists(words, max_size=8).map(" ".join)
valid_inputs = st.one_of(st.fixed_dictionaries({"text": texts}),
                         st.fixed_dictionaries({"tokens": st.lists(words, max_size=8)}))
near_valid = valid_inputs | st.fixed_dictionaries({"inputs": st.lists(valid_inputs, max_size=4)})


@settings(max_examples=500, deadline=None)
@given(requests)
def test_agrees_with_the_schema(data):
    agree(data)


@settings(max_examples=500, deadline=None)
@given(near_valid)
def test_agrees_on_near_valid_requests(data):
    """Mostly valid requests, some a limit or a character away from it."""
    agree(data)


@pytest.mark.parametrize("data", [
    {"text": "Harry Potter and Hermione Granger invented a new spell ."},
    {"tokens": ["Harry", "Potter", "came"]},
    {"inputs": [{"text": "Harry Potter came"}, {"tokens": ["Ron", "Weasley"]}]},
    {"inputs": []},
])
def test_common_requests_take_it(data):
    assert agree(data, Limits()) is not None


@pytest.mark.parametrize("data", [
    {"text": "Harry", "threshold": 0.5}, {"text": 1}, {"text": "a\x00"}, {"tokens": ["a", " "]},
    {"inputs": [{"text": "a"}] * 4}, {"text": "a b c d e f g"}, {"inputs": [{"text": "a b c d e"}] * 3},
    {"text": "x", "tokens": ["x"]}, {"inputs": [{"text": "a", "tokens": ["a"]}]}, [], "text",
])
def test_everything_else_is_left_to_the_schema(data):
    assert agree(data) is None
