"""The common requests validated without a marshmallow round trip.

``tag_request(data, limits)`` returns the ``TagRequest`` that
``inputs.tag_request(schemas.tag_request.load(data), limits)`` would return,
when ``data`` is a request it is sure those accept: ``{"text": str}``, ``{"tokens": [str, ...]}`` or
``{"inputs": [...]}`` of those, within the limits. Anything else (another key,
a wrong type, a limit passed, a bad character) gives None and the schema
decides, so every error answer still comes from there, unchanged.
tests/test_fastpath.py checks the two agree on generated requests.
"""
from __future__ import annotations

from model.tokenizer import join_tokens, tokenize

from .config import Limits
from .inputs import Input, TagRequest
from .schemas import _BAD_CHARS


def _input(item, lim: Limits) -> Input | None:
    if type(item) is not dict or len(item) != 1:
        return None
    if "text" in item:
        text = item["text"]
        if type(text) is not str or len(text) > lim.max_chars or _BAD_CHARS.search(text):
            return None
        tokens = tokenize(text)
    elif "tokens" in item:
        words = item["tokens"]
        if type(words) is not list:
            return None
        for w in words:
            if type(w) is not str or not w.strip():
                return None
        text, tokens = join_tokens(words)
        if len(text) > lim.max_chars or _BAD_CHARS.search(text):
            return None
    else:
        return None
    return Input(text, tokens) if len(tokens) <= lim.max_tokens else None


def tag_request(data, lim: Limits) -> TagRequest | None:
    """The loaded request, or None: let the schema decide."""
    if type(data) is not dict or len(data) != 1:
        return None
    if "inputs" not in data:
        one = _input(data, lim)
        return None if one is None else TagRequest([one], False, None)
    items = data["inputs"]
    if type(items) is not list or len(items) > lim.max_inputs:
        return None
    inputs = []
    for item in items:
        one = _input(item, lim)
        if one is None:
            return None
        inputs.append(one)
    if sum(len(i.tokens) for i in inputs) > lim.max_total_tokens:
        return None
    return TagRequest(inputs, True, None)
