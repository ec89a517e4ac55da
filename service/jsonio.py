"""JSON in and out with orjson, as strict as the standard library's parser was.

``loads`` accepts exactly what ``strict_loads`` (``json.loads`` with RFC 8259's
rules: UTF-8 only, no NaN/Infinity, no duplicate keys) accepts, and returns the
same value; it refuses with the same ``MalformedJSON`` message. orjson parses;
where orjson and the standard library could disagree, the standard library
decides (an error's message always comes from it):

- orjson keeps the last of duplicate keys: a document has a duplicate key when
  it holds more ``key:`` members than its objects hold keys. Members are counted
  as the ':' bytes outside strings, i.e. all ':' bytes less those inside the
  parsed strings (exact unless a string spells ':' as an escape, ``\\u003a``);
- orjson turns integers beyond 64 bits into floats (the standard library keeps
  them exact), refuses lone surrogate escapes and numbers that overflow to
  infinity (the standard library accepts both), and nests up to 1024 levels
  (the standard library's recursion limit comes first).

``JSONProvider`` is Flask's JSON provider on orjson: compact, UTF-8, keys in
insertion order, the same strict ``loads``.
"""
from __future__ import annotations

import json
import re

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 500  # deeper documents go to the standard library (whose limit is near 1000)
_LONG_INT = re.compile(rb"\d{19}")  # an integer that may not fit 64 bits
_COLON_ESCAPE = re.compile(rb"\\u003[aA]")


class MalformedJSON(BadRequest):
    def __init__(self, reason: str):
        super().__init__(f"The request body is not valid JSON: {reason}")
        self.errors = {"body": [reason]}


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def strict_loads(raw: bytes):
    """The reference: RFC 8259 with the standard library; errors as MalformedJSON."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                          object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as e:
        raise MalformedJSON(f"invalid UTF-8 at byte {e.start}") from None
    except RecursionError:
        raise MalformedJSON("nested too deeply") from None
    except ValueError as e:
        raise MalformedJSON(str(e)) from None


def _shape(value) -> tuple[int, bool, bool]:
    """(keys in all objects, any float, deeper than MAX_DEPTH) of a parsed document."""
    keys, floats, stack = 0, False, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            return keys, floats, True
        t = type(v)
        if t is dict:
            keys += len(v)
            children = v.values()
        elif t is list:
            children = v
        else:
            floats = floats or t is float
            continue
        for c in children:
            tc = type(c)
            if tc is dict or tc is list:
                stack.append((c, depth + 1))
            elif tc is float:
                floats = True
    return keys, floats, False


def _colons_in_strings(value) -> int:
    n, stack = 0, [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            n += v.count(":")
        elif t is dict:
            for k, c in v.items():
                n += k.count(":")
                stack.append(c)
        elif t is list:
            stack.extend(v)
    return n


def loads(raw: bytes):
    """Strict RFC 8259 (see the module docstring): the value, or MalformedJSON."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return strict_loads(raw)  # the standard library's verdict and message
    keys, floats, deep = _shape(value)
    if deep or (floats and _LONG_INT.search(raw)):
        return strict_loads(raw)
    colons = raw.count(b":")
    if colons != keys:  # colons inside strings, or a duplicate key
        if _COLON_ESCAPE.search(raw) or colons - _colons_in_strings(value) != keys:
            return strict_loads(raw)
    return value


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON on orjson: compact UTF-8, insertion order, strict loads."""

    def encode(self, obj) -> bytes:
        return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS)

    def dumps(self, obj, **kwargs) -> str:
        return self.encode(obj).decode()

    def loads(self, s: str | bytes, **kwargs):
        return loads(s if isinstance(s, bytes) else s.encode("utf-8", "surrogatepass"))

    def response(self, *args, **kwargs):
        body = self.encode(self._prepare_response_obj(args, kwargs)) + b"\n"  # the newline as Flask's
        return self._app.response_class(body, mimetype=self.mimetype)
