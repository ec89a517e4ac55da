"""service.jsonio.loads (orjson) accepts exactly what the standard library's strict
parser accepts, returns the same value, and refuses with the same message."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.jsonio import MalformedJSON, loads, strict_loads


def verdict(fn, raw: bytes):
    try:
        value = fn(raw)
    except MalformedJSON as e:
        return "refused", e.description, e.errors
    return "accepted", repr(value), type(value)  # repr: 1 and 1.0, -0.0 and 0.0 differ


def same(raw: bytes) -> None:
    assert verdict(loads, raw) == verdict(strict_loads, raw), raw[:200]


EDGES = [
    b'{"a":1}', b'{"a":1,"a":2}', b'{"\\u0061":1,"a":2}', b'{"a:b":1,"a:b":2}', b'{"a":"x:y","a":1}',
    b'{"a":"\\u003a","a":1}', b'{"a":"\\u003A:","b":{"a":1,"a":1}}', b'{"t":"10:30"}', b'[{"a":1},{"a":1}]',
    b'{"a":{"b":1,"b":2}}', b'[1,{"x":[{"y":1,"y":1}]}]',
    b'NaN', b'[Infinity]', b'[-Infinity]', b'1e400', b'[-1e400]', b'1.7976931348623157e309',
    b'18446744073709551615', b'18446744073709551616', b'-9223372036854775809', b'[1.5, 123456789012345678901]',
    b'"\\ud800"', b'{"text":"\\udfff\\ud800"}', b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"', b'"\xff"', b'\xef\xbb\xbf{}',
    b'"\x00"', b'"\\u0000"', b'', b' ', b'{} x', b'[1,]', b'{"a":1,}', b"'a'", b'0123', b'-0', b'-0.0',
    b'[' * 600 + b']' * 600, b'[' * 1020 + b']' * 1020, b'[' * 1030 + b']' * 1030, b'{"a":' * 990 + b'1' + b'}' * 990,
    b'1' * 5000, b'\t\n\r {}\n', b'true', b'null', b'"a\\/b"',
]


@pytest.mark.parametrize("raw", EDGES)
def test_edges(raw):
    same(raw)


def test_duplicates_and_colons_are_told_apart():
    assert loads(b'{"t":"10:30","u":"a:b:c"}') == {"t": "10:30", "u": "a:b:c"}
    for raw in (b'{"a":1,"a":2}', b'{"t":"x:","t":"y"}', b'{"a":"\\u003a","a":1}'):
        with pytest.raises(MalformedJSON, match="duplicate key"):
            loads(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(alphabet=st.characters(codec="utf-8")),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "a:b", ":", "text"]),
                                                              kids, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_valid_documents_agree(value):
    same(json.dumps(value, ensure_ascii=False).encode())
    same(json.dumps(value).encode())  # \\u escapes


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(min_value=0, max_value=400), st.binary(max_size=4))
def test_mangled_documents_agree(value, cut, noise):
    """Cut, spliced, or given a duplicate key: both parsers agree on every one."""
    raw = json.dumps(value, ensure_ascii=False).encode()
    same(raw[:cut] + noise + raw[cut:])
    if raw.startswith(b"{") and len(raw) > 2:
        first = raw[1:].split(b",")[0].rstrip(b"}")
        same(b"{" + first + b"," + raw[1:])  # the first member twice


def test_floats_round_trip_exactly():
    for x in (0.1, 1 / 3, 5e-324, 2.2250738585072011e-308, 1.7976931348623157e308, math.pi):
        assert loads(repr(x).encode()) == x
