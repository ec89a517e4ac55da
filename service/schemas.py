"""Request and response schemas (marshmallow), one module-level instance each.

Requests are validated here, shape and fixed rules only; ``service.inputs``
then tokenizes them and applies the configured limits (which
``service.openapi`` writes into the document).
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from model.heads import DEFAULT_THRESHOLD, HEADS


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
