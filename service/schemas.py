"""Request and response schemas (marshmallow), one module-level instance each.

Requests are validated and adapted here: a ``text`` is tokenized, ``tokens``
get their offsets in the space-joined text, and both arrive at the view as an
``Input``. The configurable limits come from a ``Limits`` set with
``LimitsContext(limits)`` around ``load`` (the defaults apply otherwise).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import NamedTuple

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema
from marshmallow.experimental.context import Context

from model.heads import DEFAULT_THRESHOLD, HEADS
from model.tokenizer import Token, tokenize

from .response import join_tokens


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1 << 20
    max_chars: int = 100_000  # per input: the text, or the tokens joined by spaces
    max_tokens: int = 10_000  # per input, after tokenization
    max_inputs: int = 128  # per batch
    max_total_tokens: int = 100_000  # per request, all inputs together: bounds the time (~5 s)

    def to_json(self) -> dict:
        return asdict(self)


LimitsContext = Context[Limits]


def limits() -> Limits:
    return LimitsContext.get(Limits())


class Input(NamedTuple):
    text: str
    tokens: list[Token]


class TagRequest(NamedTuple):
    inputs: list[Input]
    batch: bool  # answer {"results": [...]} rather than one result
    threshold: float | None


_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates


def _check_chars(s: str) -> None:
    if _BAD_CHARS.search(s):
        raise ValidationError("Must not contain NUL characters or unpaired surrogates.")


class TextField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        s = super()._deserialize(value, attr, data, **kwargs)
        _check_chars(s)
        return s


class TokensField(fields.Field):
    """A list of non-blank strings; one pass instead of a field per token, since
    batches carry thousands of them."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        errors = {}
        for i, tok in enumerate(value):
            if not isinstance(tok, str):
                errors[i] = ["Not a valid string."]
            elif not tok.strip():
                errors[i] = ["Must not be empty or whitespace."]
        if errors:
            raise ValidationError(errors)
        _check_chars("".join(value))
        return value


class InputSchema(Schema):
    text = TextField(metadata={"description": "Raw text; the service tokenizes it. "
                                              "Offsets are code-point offsets into it."})
    tokens = TokensField(metadata={"description": "Pre-tokenized input; offsets refer to the "
                                                  "tokens joined by single spaces.",
                                   "type": "array", "items": {"type": "string", "minLength": 1}})

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        given = [k for k in ("text", "tokens") if k in data]
        if len(given) != 1:
            msg = "Give exactly one of 'text' or 'tokens'."
            raise ValidationError(msg, "_schema")

    @post_load
    def _tokenize(self, data, **kwargs) -> Input:
        lim = limits()
        if "text" in data:
            field, text = "text", data["text"]
            if len(text) > lim.max_chars:
                raise ValidationError(f"Longer than {lim.max_chars} characters.", field)
            tokens = tokenize(text)
        else:
            field, (text, tokens) = "tokens", join_tokens(data["tokens"])
            if len(text) > lim.max_chars:
                raise ValidationError(f"Longer than {lim.max_chars} characters when joined.", field)
        if len(tokens) > lim.max_tokens:
            raise ValidationError(f"{len(tokens)} tokens, more than the limit of {lim.max_tokens}.", field)
        return Input(text, tokens)


class TagRequestSchema(InputSchema):
    """One input (`text` or `tokens`) or a batch (`inputs`), plus options."""

    inputs = fields.List(fields.Nested(InputSchema), metadata={
        "description": "A batch: each item one input, answered in the same order."})
    threshold = fields.Float(validate=validate.Range(0.0, 1.0), metadata={
        "description": "Sigmoid-head models only: a token is in a name when its score is "
                       f"at least this (default {DEFAULT_THRESHOLD}). Rejected (422) for a softmax head, "
                       "which is decoded with Viterbi."})

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        given = [k for k in ("text", "tokens", "inputs") if k in data]
        if len(given) != 1:
            raise ValidationError("Give exactly one of 'text', 'tokens' or 'inputs'.", "_schema")
        lim = limits()
        if "inputs" in data and len(data["inputs"]) > lim.max_inputs:
            raise ValidationError(f"{len(data['inputs'])} inputs, more than the limit of "
                                  f"{lim.max_inputs}.", "inputs")

    @post_load
    def _tokenize(self, data, **kwargs) -> TagRequest:
        threshold = data.get("threshold")
        if "inputs" not in data:
            return TagRequest([super()._tokenize(data)], False, threshold)
        lim, total = limits(), sum(len(i.tokens) for i in data["inputs"])
        if total > lim.max_total_tokens:
            raise ValidationError(f"{total} tokens in all, more than the limit of "
                                  f"{lim.max_total_tokens} per request.", "inputs")
        return TagRequest(data["inputs"], True, threshold)


class TokenSchema(Schema):
    text = fields.String(required=True)
    start = fields.Integer(required=True, metadata={"description": "code-point offset"})
    end = fields.Integer(required=True, metadata={"description": "code-point offset, exclusive"})
    label = fields.Integer(required=True, metadata={"description": "1 inside a person's name, else 0"})
    score = fields.Float(required=True, metadata={"description": "P(token is part of a name)"})


class EntitySchema(Schema):
    text = fields.String(required=True)
    start = fields.Integer(required=True)
    end = fields.Integer(required=True)
    token_start = fields.Integer(required=True)
    token_end = fields.Integer(required=True, metadata={"description": "exclusive"})
    label = fields.String(required=True, metadata={"enum": ["PER"]})
    score = fields.Float(required=True, metadata={"description": "mean score of its tokens"})


class ModelRefSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True, metadata={"description": "first 12 hex digits of the weights' sha256"})


class TagResultSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema), required=True)
    labels = fields.List(fields.Integer(), required=True)
    entities = fields.List(fields.Nested(EntitySchema), required=True)
    model = fields.Nested(ModelRefSchema, required=True)


class TagBatchSchema(Schema):
    results = fields.List(fields.Nested(TagResultSchema), required=True)


class LimitsSchema(Schema):
    max_body_bytes = fields.Integer(required=True)
    max_chars = fields.Integer(required=True)
    max_tokens = fields.Integer(required=True)
    max_inputs = fields.Integer(required=True)
    max_total_tokens = fields.Integer(required=True)


class ModelInfoSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    head = fields.String(required=True, metadata={"enum": list(HEADS)})
    n_x = fields.Integer(required=True)
    n_a = fields.Integer(required=True)
    n_y = fields.Integer(required=True)
    bidirectional = fields.Boolean(required=True)
    labels = fields.List(fields.String(), required=True)
    limits = fields.Nested(LimitsSchema, required=True)
    training = fields.Dict(required=True, metadata={"description": "flags and data checksums"})
    metrics = fields.Dict(required=True, metadata={"description": "as recorded at training time"})


class StatusSchema(Schema):
    status = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "each bad field (dotted path, e.g. inputs.0.text) to its messages"})


tag_request = TagRequestSchema()
tag_result = TagResultSchema()
tag_batch = TagBatchSchema()
model_info = ModelInfoSchema()
status = StatusSchema()
problem = ProblemSchema()
