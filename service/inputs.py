"""From a schema-valid request body to the inputs the model tags: each text is
tokenized, each token list gets its offsets, and the configured limits are
applied, every failure a ``ValidationError`` naming its field. Pure: no Flask,
the limits are an argument."""
from __future__ import annotations

from typing import NamedTuple

from marshmallow import ValidationError

from model import names
from model.redact import DEFAULT_MASK_CHAR, Operator, RedactError
from model.restore import Book, Sealer, TokenError
from model.tokenizer import Token, join_tokens, tokenize

from .config import Limits


class Input(NamedTuple):
    text: str
    tokens: list[Token]


class TagRequest(NamedTuple):
    inputs: list[Input]
    batch: bool  # answer {"results": [...]} rather than one result
    threshold: float | None = None  # None: the head's default decoding
    allow_list: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    offsets: str = "codepoint"  # the unit of every offset in the answer
    entities: tuple[str, ...] | None = None  # the entity types to report; None: all the model's

    @property
    def n_tokens(self) -> int:
        return sum(len(i.tokens) for i in self.inputs)


class RedactRequest(NamedTuple):
    tag: TagRequest  # what to find
    operator: Operator  # what to put in its place
    restorable: bool = False  # answer a restore token too (operator pseudonym)
    book: Book | None = None  # the opened restore_token of an earlier answer: numbering goes on from it

    @property
    def inputs(self) -> list[Input]:
        return self.tag.inputs

    @property
    def n_tokens(self) -> int:
        return self.tag.n_tokens


class RestoreRequest(NamedTuple):
    texts: list[str]
    batch: bool
    book: Book
    offsets: str = "codepoint"


NO_RESTORE_KEY = "This deployment has no NAMETAG_RESTORE_KEY configured, so it makes and opens no restore tokens."


class TokenRefused(ValidationError):
    """A restore_token that cannot be opened (or no key to open it): 422 whose detail is the
    reason. ``outcome``: a TokenError's reason, or "no_key"."""

    def __init__(self, message: str, outcome: str):
        super().__init__(message, "restore_token")
        self.outcome = outcome


def open_token(token: str, sealer: Sealer | None) -> Book:
    if sealer is None:
        raise TokenRefused(NO_RESTORE_KEY, "no_key")
    try:
        return sealer.open(token)
    except TokenError as e:
        raise TokenRefused(str(e), e.reason) from None


def one_input(data: dict, limits: Limits) -> Input:
    """A text (tokenized here) or a token list (joined by spaces), within the per-input limits;
    the ValidationError names the field, "text" or "tokens"."""
    if "text" in data:
        field, text = "text", data["text"]
        if len(text) > limits.max_chars:  # before tokenizing: the check must cost less than the work
            raise ValidationError(f"Longer than {limits.max_chars} characters.", field)
        tokens = tokenize(text)
    else:
        field, (text, tokens) = "tokens", join_tokens(data["tokens"])
        if len(text) > limits.max_chars:
            raise ValidationError(f"Longer than {limits.max_chars} characters when joined.", field)
    if len(tokens) > limits.max_tokens:
        raise ValidationError(f"{len(tokens)} tokens, more than the limit of {limits.max_tokens}.", field)
    return Input(text, tokens)


def all_inputs(data: dict, limits: Limits) -> tuple[list[Input], bool]:
    """The inputs of a body holding one input or a batch (``inputs``), and whether it is a batch."""
    if "inputs" not in data:
        try:
            return [one_input(data, limits)], False
        except ValidationError as e:
            raise ValidationError({e.field_name: e.messages}) from None
    if len(data["inputs"]) > limits.max_inputs:
        raise ValidationError(f"{len(data['inputs'])} inputs, more than the limit of "
                              f"{limits.max_inputs}.", "inputs")
    inputs, errors = [], {}
    for i, item in enumerate(data["inputs"]):
        try:
            inputs.append(one_input(item, limits))
        except ValidationError as e:
            errors[i] = {e.field_name: e.messages}
    if errors:
        raise ValidationError({"inputs": errors})
    total = sum(len(i.tokens) for i in inputs)
    if total > limits.max_total_tokens:
        raise ValidationError(f"{total} tokens in all, more than the limit of "
                              f"{limits.max_total_tokens} per request.", "inputs")
    return inputs, True


def tag_request(data: dict, limits: Limits) -> TagRequest:
    inputs, batch = all_inputs(data, limits)
    entities = data.get("entities")
    return TagRequest(inputs, batch, data.get("threshold"), tuple(data.get("allow_list", ())),
                      tuple(data.get("deny_list", ())), data.get("offsets", "codepoint"),
                      None if entities is None else tuple(dict.fromkeys(entities)))


def check_entities(entities: tuple[str, ...] | None, types: tuple[str, ...]) -> None:
    """A ValidationError on "entities" naming the model's types when one asked for is not among them."""
    try:
        names.check_entities(entities, types)
    except ValueError as e:
        raise ValidationError(str(e), "entities") from None


def redact_request(data: dict, limits: Limits, key: bytes | None, sealer: Sealer | None = None) -> RedactRequest:
    """key: the deployment's NAMETAG_REDACT_KEY, which the hash operator needs (422 without);
    sealer: its restore tokens (None without NAMETAG_RESTORE_KEY: restorable answers 422)."""
    try:
        op = Operator(data.get("operator", "replace"), data.get("replacement"),
                      data.get("mask_char", DEFAULT_MASK_CHAR), key)
    except RedactError as e:
        raise ValidationError(f"{str(e)[0].upper()}{str(e)[1:]}.", "operator") from None
    restorable = data.get("restorable", False)
    if restorable and op.name != "pseudonym":
        raise ValidationError("Only the pseudonym operator can be restored: send \"operator\": \"pseudonym\".",
                              "restorable")
    if restorable and sealer is None:
        raise ValidationError("Restorable redaction needs NAMETAG_RESTORE_KEY, and this deployment has none "
                              "configured.", "restorable")
    if "restore_token" in data and not restorable:
        raise ValidationError("A restore_token continues a restorable redaction: send \"restorable\": true too.",
                              "restore_token")
    book = open_token(data["restore_token"], sealer) if "restore_token" in data else None
    return RedactRequest(tag_request(data, limits), op, restorable, book)


def restore_request(data: dict, limits: Limits, sealer: Sealer | None) -> RestoreRequest:
    """The texts to restore (within the per-text and per-batch limits) and the opened token."""
    batch = "inputs" in data
    texts = [i["text"] for i in data["inputs"]] if batch else [data["text"]]
    if batch and len(texts) > limits.max_inputs:
        raise ValidationError(f"{len(texts)} inputs, more than the limit of {limits.max_inputs}.", "inputs")
    errors = {i: {"text": [f"Longer than {limits.max_chars} characters."]}
              for i, t in enumerate(texts) if len(t) > limits.max_chars}
    if errors:
        raise ValidationError({"inputs": errors} if batch else errors[0])
    return RestoreRequest(texts, batch, open_token(data["restore_token"], sealer), data.get("offsets", "codepoint"))
