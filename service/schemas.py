"""Request and response schemas (marshmallow), one module-level instance each.

Requests are validated here, shape and fixed rules only; ``service.inputs``
then tokenizes them and applies the configured limits (which
``service.openapi`` writes into the document).
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from model.calibration_fit import THRESHOLDS
from model.heads import HEADS
from model.names import SOURCES
from model.offsets import OFFSET_UNITS
from model.redact import DEFAULT_MASK_CHAR, DEFAULT_REPLACEMENT, OPERATORS

MAX_LIST_ENTRIES = 1000  # allow_list, deny_list
MAX_ENTRY_CHARS = 200
MAX_REPLACEMENT_CHARS = 100
MAX_TYPES, MAX_TYPE_CHARS = 64, 50  # entities


_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates


def _check_chars(s: str) -> None:
    if _BAD_CHARS.search(s):
        raise ValidationError("Must not contain NUL characters or unpaired surrogates.")


class TextField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        s = super()._deserialize(value, attr, data, **kwargs)
        _check_chars(s)
        return s


class StrictBoolean(fields.Boolean):
    """true or false, nothing else ("yes", 1 and "true" are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: send true or false.")
        return value


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


NO_TOKENS = "Pre-tokenized input cannot be redacted: send the text, so that the answer can give it back."


def _one_of(keys: tuple[str, ...]) -> str:
    """'a' or 'b'; 'a', 'b' or 'c'."""
    quoted = [f"'{k}'" for k in keys]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class _ExactlyOneSchema(Schema):
    """A request that gives exactly one of the fields named in ONE_OF."""

    ONE_OF: tuple[str, ...] = ()

    @validates_schema
    def _exactly_one(self, data, **kwargs):
        if sum(k in data for k in self.ONE_OF) != 1:
            raise ValidationError(f"Give exactly one of {_one_of(self.ONE_OF)}.", "_schema")


class _NoTokensSchema(Schema):
    """Redaction input: pre-tokenized input is refused, since the answer gives the text back."""

    @pre_load
    def _no_tokens(self, data, **kwargs):
        if isinstance(data, dict) and "tokens" in data:
            raise ValidationError(NO_TOKENS, "tokens")
        return data


class InputSchema(_ExactlyOneSchema):
    ONE_OF = ("text", "tokens")

    text = TextField(metadata={"description": "Raw text; the service tokenizes it. "
                                              "Offsets are offsets into it (see `offsets`)."})
    tokens = TokensField(metadata={"description": "Pre-tokenized input; offsets refer to the "
                                                  "tokens joined by single spaces.",
                                   "type": "array", "items": {"type": "string", "minLength": 1}})


def _entries(what: str):
    return fields.List(
        TextField(validate=validate.Length(1, MAX_ENTRY_CHARS)), validate=validate.Length(max=MAX_LIST_ENTRIES),
        metadata={"description": f"{what} At most {MAX_LIST_ENTRIES} entries of 1 to {MAX_ENTRY_CHARS} characters."})


def _offsets():
    return fields.String(load_default="codepoint", validate=validate.OneOf(OFFSET_UNITS), metadata={
        "description": "The unit of every offset in the answer: code points (Python, the default), "
                       "UTF-16 code units (JavaScript, Java, .NET) or UTF-8 bytes."})


class OptionsSchema(Schema):
    """The per-request controls that /tag and /redact share."""

    threshold = fields.Float(validate=validate.Range(0.0, 1.0), metadata={
        "description": "A token is part of a name when its score (the calibrated probability that it "
                       "is in a name) is at least this; with the softmax head a new name starts where "
                       "B-PER is likelier than I-PER. Without it, the model's default decoding "
                       "(constrained Viterbi for softmax), whose labels agree with the scores too. "
                       "GET /model's operating_table gives dev precision and recall per threshold."})
    allow_list = _entries("Names never reported or redacted: exact match on the entity's text, "
                          "case-insensitive.")
    deny_list = _entries("Strings always reported or redacted wherever they occur as whole words, "
                         "case-insensitive, even where the model misses them.")
    entities = fields.List(fields.String(validate=validate.Length(1, MAX_TYPE_CHARS)),
                           validate=validate.Length(1, MAX_TYPES), metadata={
        "description": "The entity types to report or redact, e.g. [\"PER\", \"LOC\"] (default: every type "
                       "the model finds; GET /model lists them). A type the model does not have is a 422."})
    offsets = _offsets()


class TagRequestSchema(InputSchema, OptionsSchema):
    """One input (`text` or `tokens`) or a batch (`inputs`), plus options."""

    ONE_OF = ("text", "tokens", "inputs")

    inputs = fields.List(fields.Nested(InputSchema), metadata={
        "description": "A batch: each item one input, answered in the same order."})


class RedactInputSchema(_NoTokensSchema):
    text = TextField(required=True, metadata={"description": "Raw text; every person name in it is replaced."})


class RedactRequestSchema(_NoTokensSchema, _ExactlyOneSchema, OptionsSchema):
    """One text or a batch (`inputs`), the operator and its options, and the controls of /tag."""

    ONE_OF = ("text", "inputs")

    text = TextField(metadata={"description": "Raw text; every person name in it is replaced."})
    inputs = fields.List(fields.Nested(RedactInputSchema), metadata={
        "description": "A batch: each item one text, answered in the same order; pseudonyms are "
                       "consistent across the whole request."})
    operator = fields.String(load_default="replace", validate=validate.OneOf(OPERATORS), metadata={
        "description": "replace: `replacement`; mask: every character but whitespace becomes `mask_char`; "
                       "pseudonym: <PERSON_1>, <PERSON_2>, ... (<LOC_1>, ... for other types, numbered per "
                       "type) consistent within the request; hash: the "
                       "first 16 hex digits of HMAC-SHA256 of the name (case-folded) under the "
                       "deployment's NAMETAG_REDACT_KEY (422 when none is configured)."})
    replacement = fields.String(load_default=None,
                                validate=validate.Length(max=MAX_REPLACEMENT_CHARS), metadata={
        "description": f"For operator replace (default: the entity's type, {DEFAULT_REPLACEMENT} for a "
                       f"person, [LOC], [ORG], ... for the other types); at most "
                       f"{MAX_REPLACEMENT_CHARS} characters."})
    mask_char = fields.String(load_default=DEFAULT_MASK_CHAR, validate=validate.Length(equal=1), metadata={
        "description": f"For operator mask (default {DEFAULT_MASK_CHAR}): exactly one character."})
    restorable = StrictBoolean(load_default=False, metadata={
        "description": "With operator pseudonym only: the answer also carries a `restore_token`, which "
                       "POST /restore takes with a text (an LLM's answer) to put the names back. The "
                       "service keeps nothing: the token holds the names, sealed (AES-GCM) under the "
                       "deployment's NAMETAG_RESTORE_KEY (422 when none is configured), and expires."})
    restore_token = fields.String(metadata={
        "description": "With restorable: the restore_token of an earlier answer. People already in it "
                       "keep their pseudonyms (later first-name or surname mentions too), new people get "
                       "the next numbers, and the answer's token holds them all. 422 when it does not open "
                       "(altered, truncated, sealed under another key, expired)."})


class TokenSchema(Schema):
    text = fields.String(required=True)
    start = fields.Integer(required=True, metadata={"description": "code-point offset"})
    end = fields.Integer(required=True, metadata={"description": "code-point offset, exclusive"})
    label = fields.Integer(required=True, metadata={
        "description": "1 inside a person's name, else 0 (for a model without PER: 1 inside any entity)"})
    score = fields.Float(required=True, metadata={
        "description": "P(token is part of a name), calibrated on dev when the model is"})


class EntitySchema(Schema):
    text = fields.String(required=True)
    start = fields.Integer(required=True)
    end = fields.Integer(required=True)
    token_start = fields.Integer(required=True)
    token_end = fields.Integer(required=True, metadata={"description": "exclusive"})
    label = fields.String(required=True, metadata={
        "description": "the entity type, one of the model's types (GET /model): PER for the default model"})
    score = fields.Float(required=True, metadata={
        "description": "P(this span is exactly a name), calibrated on dev when the model is (else the "
                       "mean score of its tokens); 1 for a deny-list match"})
    source = fields.String(required=True, metadata={"enum": list(SOURCES)})


class ModelRefSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True, metadata={"description": "first 12 hex digits of the weights' sha256"})


class TagResultSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema), required=True)
    labels = fields.List(fields.Integer(), required=True, metadata={
        "description": "each token's label: 1 inside a person's name (for a model without PER: inside any entity)"})
    entities = fields.List(fields.Nested(EntitySchema), required=True)
    model = fields.Nested(ModelRefSchema, required=True)


class TagBatchSchema(Schema):
    results = fields.List(fields.Nested(TagResultSchema), required=True)


class _ReplacedSchema(Schema):
    """Where a piece of the input was, and where what replaced it is in the output."""

    start = fields.Integer(required=True, metadata={"description": "where it was in the input"})
    end = fields.Integer(required=True, metadata={"description": "exclusive"})
    out_start = fields.Integer(required=True, metadata={"description": "where its replacement is in the output"})
    out_end = fields.Integer(required=True, metadata={"description": "exclusive"})


class RedactionSchema(_ReplacedSchema):
    text = fields.String(required=True, metadata={"description": "the name: input[start:end]"})
    replacement = fields.String(required=True, metadata={"description": "output[out_start:out_end]"})
    label = fields.String(required=True, metadata={"description": "the entity type, as on /tag"})
    score = fields.Float(required=True, metadata={"description": "as an entity's score on /tag"})
    source = fields.String(required=True, metadata={"enum": list(SOURCES)})


RESTORE_TOKEN_OUT = ("With restorable: the token to send to POST /restore (or back to POST /redact to go "
                     "on numbering): base64url, holding every pseudonym's name, sealed; one per request.")


class RedactResultSchema(Schema):
    text = fields.String(required=True, metadata={"description": "the input with every name replaced"})
    items = fields.List(fields.Nested(RedactionSchema), required=True, metadata={
        "description": "one per replaced name, in text order"})
    model = fields.Nested(ModelRefSchema, required=True)
    restore_token = fields.String(metadata={"description": RESTORE_TOKEN_OUT})


class RedactBatchSchema(Schema):
    results = fields.List(fields.Nested(RedactResultSchema), required=True)
    restore_token = fields.String(metadata={"description": RESTORE_TOKEN_OUT})


class RestoreInputSchema(Schema):
    text = TextField(required=True, metadata={"description": "A text holding pseudonyms, e.g. an LLM's answer."})


class RestoreRequestSchema(_ExactlyOneSchema):
    """One text or a batch (`inputs`), and the restore_token of the redaction it came from."""

    ONE_OF = ("text", "inputs")

    text = TextField(metadata={"description": "A text holding pseudonyms, e.g. an LLM's answer."})
    inputs = fields.List(fields.Nested(RestoreInputSchema), metadata={
        "description": "A batch: each item one text, answered in the same order, all with the one token."})
    restore_token = fields.String(required=True, metadata={
        "description": "The restore_token POST /redact answered (with restorable: true)."})
    offsets = _offsets()


class RestoredItemSchema(_ReplacedSchema):
    placeholder = fields.String(required=True, metadata={
        "description": "input[start:end], as found: <PERSON_1>, <person_1>, PERSON_1, ..."})
    pseudonym = fields.String(required=True, metadata={"description": "the pseudonym it stands for: <PERSON_1>"})
    text = fields.String(required=True, metadata={"description": "the name: output[out_start:out_end]"})


class PseudonymCountSchema(Schema):
    pseudonym = fields.String(required=True, metadata={"description": "<PERSON_n>"})
    count = fields.Integer(required=True, metadata={"description": "how many times it was found"})


class RestoreResultSchema(Schema):
    text = fields.String(required=True, metadata={"description": "the input with every known pseudonym replaced "
                                                                 "by its name"})
    items = fields.List(fields.Nested(RestoredItemSchema), required=True, metadata={
        "description": "one per placeholder replaced, in text order"})
    restored = fields.List(fields.Nested(PseudonymCountSchema), required=True, metadata={
        "description": "the pseudonyms restored, in number order"})
    unknown = fields.List(fields.Nested(PseudonymCountSchema), required=True, metadata={
        "description": "placeholders the token does not hold, left as they are"})


class RestoreBatchSchema(Schema):
    results = fields.List(fields.Nested(RestoreResultSchema), required=True)


class LimitsSchema(Schema):
    max_body_bytes = fields.Integer(required=True)
    max_chars = fields.Integer(required=True)
    max_tokens = fields.Integer(required=True)
    max_inputs = fields.Integer(required=True)
    max_total_tokens = fields.Integer(required=True)


class TypeScoresSchema(Schema):
    precision = fields.Float(required=True)
    recall = fields.Float(required=True)
    f1 = fields.Float(required=True)


class OperatingRowSchema(Schema):
    threshold = fields.Float(required=True, allow_none=True, metadata={
        "description": f"one of {list(THRESHOLDS)}, or null: the default decoding"})
    precision = fields.Float(required=True)
    recall = fields.Float(required=True)
    f1 = fields.Float(required=True)
    per_type = fields.Dict(keys=fields.String(), values=fields.Nested(TypeScoresSchema), metadata={
        "description": "a model of several types: each type's own scores beside the micro-average"})


class OperatingTableSchema(Schema):
    data = fields.String(required=True, metadata={"description": "the dev set (never a test set)"})
    sha256 = fields.String(required=True)
    rows = fields.List(fields.Nested(OperatingRowSchema), required=True, metadata={
        "description": "entity precision and recall (exact spans) per threshold, one sentence per input"})


class ModelInfoSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    head = fields.String(required=True, metadata={"enum": list(HEADS)})
    n_x = fields.Integer(required=True)
    n_a = fields.Integer(required=True)
    n_y = fields.Integer(required=True)
    bidirectional = fields.Boolean(required=True)
    networks = fields.Integer(required=True, metadata={
        "description": "networks that tag together, their outputs averaged: 1, or more for an ensemble"})
    types = fields.List(fields.String(), required=True, metadata={
        "description": "the entity types the model finds, e.g. [\"PER\"] or [\"PER\", \"LOC\", \"MISC\", \"ORG\"]"})
    labels = fields.List(fields.String(), required=True, metadata={"description": "the IOB2 tags over the types"})
    limits = fields.Nested(LimitsSchema, required=True)
    training = fields.Dict(required=True, metadata={"description": "flags and data checksums"})
    metrics = fields.Dict(required=True, metadata={"description": "as recorded at training time"})
    calibration = fields.Dict(required=True, allow_none=True, metadata={
        "description": "the dev sets the scores were calibrated on and the entity ECE before/after on "
                       "each; null: the scores are the network's own"})
    operating_table = fields.Nested(OperatingTableSchema, required=True, allow_none=True, metadata={
        "description": "null when the model was not calibrated"})


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
redact_request = RedactRequestSchema()
redact_result = RedactResultSchema()
redact_batch = RedactBatchSchema()
restore_request = RestoreRequestSchema()
restore_result = RestoreResultSchema()
restore_batch = RestoreBatchSchema()
model_info = ModelInfoSchema()
status = StatusSchema()
problem = ProblemSchema()
