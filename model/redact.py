"""Redaction: take the person names out of a text. Pure functions, no Flask, no model.

The spans to take out come from ``model.names`` (``Span(start, end, score)``,
code-point offsets into the text, sorted and disjoint):

    redact(text, spans, operator, pseudonyms)         -> Redacted(text, items)

Operators (``Operator``):

    replace    every name becomes ``replacement``; by default its type: "[PERSON]"
               for a person, "[LOC]", "[ORG]", ... for the other types
    mask       every character of the name but whitespace becomes ``mask_char``
               ("*"): the length and the spaces between its words stay
    pseudonym  ``<PERSON_1>``, ``<PERSON_2>``, ... (``<LOC_1>``, ... for other
               types, numbered per type) consistent across one
               ``Pseudonyms`` (pass the same one for every text of a request):
               the same name (case-insensitive) gets the same pseudonym, and a
               one-word mention that is the first or last word of an earlier
               full name gets that person's (the latest such person's)
    hash       the first 16 hex digits of HMAC-SHA256(key, name), the name
               case-folded with its whitespace collapsed; needs a key
               (``hash_key``): there is no unkeyed fallback

Guarantee, for every item: ``text[start:end] == item.text`` and
``output[out_start:out_end] == item.replacement`` (code points).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import NamedTuple

from .names import Span, normalise
from .tags import PER

OPERATORS = ("replace", "mask", "pseudonym", "hash")
DEFAULT_REPLACEMENT = "[PERSON]"
DEFAULT_MASK_CHAR = "*"
HASH_DIGITS = 16
MIN_KEY_BYTES = 16  # a shorter HMAC key could be guessed by trying names against known hashes


class Item(NamedTuple):
    start: int  # the name in the input
    end: int
    out_start: int  # its replacement in the output
    out_end: int
    text: str
    replacement: str
    score: float
    source: str
    label: str = PER  # the entity type


class Redacted(NamedTuple):
    text: str
    items: list[Item]


class RedactError(ValueError):
    """An operator that cannot run as asked (e.g. hash without a key)."""


def key_bytes(value: str | None, min_bytes: int, error: type[ValueError] = ValueError) -> bytes | None:
    """A secret key's UTF-8 bytes from its setting, or None when unset; `error` when it is
    shorter than min_bytes, too short to be safe. The message never shows the key."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value.encode("utf-8")) < min_bytes:
        raise error(f"expected at least {min_bytes} bytes (a random string; it is never shown)")
    return value.encode("utf-8")


def hash_key(value: str | None) -> bytes | None:
    """The hash operator's key from its setting (NAMETAG_REDACT_KEY); RedactError when too short."""
    return key_bytes(value, MIN_KEY_BYTES, RedactError)


def type_replacement(label: str) -> str:
    """The replace operator's default for an entity type: [PERSON] for PER, else [TYPE]."""
    return DEFAULT_REPLACEMENT if label == PER else f"[{label}]"


@dataclass(frozen=True)
class Operator:
    name: str = "replace"
    replacement: str | None = None  # None: the entity's type (``type_replacement``)
    mask_char: str = DEFAULT_MASK_CHAR
    key: bytes | None = field(default=None, repr=False)  # for hash

    def __post_init__(self):
        if self.name not in OPERATORS:
            raise RedactError(f"unknown operator {self.name!r} (known: {', '.join(OPERATORS)})")
        if len(self.mask_char) != 1:
            raise RedactError("mask_char must be exactly one character")
        if self.name == "hash" and not self.key:
            raise RedactError("the hash operator needs a key (NAMETAG_REDACT_KEY); none is configured")


@dataclass
class Pseudonyms:
    """The pseudonyms handed out so far: one per distinct name, numbered from 1."""

    by_name: dict[str, int] = field(default_factory=dict)  # normalised full name -> number
    by_word: dict[str, int] = field(default_factory=dict)  # first/last word of a full name -> number
    count: int = 0
    prefix: str = "PERSON"
    by_type: dict[str, Pseudonyms] = field(default_factory=dict)  # another type -> its own numbering

    def __call__(self, name: str, label: str = PER) -> str:
        if label != PER:  # each other type numbered on its own: <LOC_1>, <ORG_1>, ...
            return self.by_type.setdefault(label, Pseudonyms(prefix=label))(name)
        key = normalise(name)
        words = key.split(" ")
        n = self.by_name.get(key)
        if n is None and len(words) == 1:
            n = self.by_word.get(key)
        if n is None:
            self.count += 1
            n = self.count
        self.by_name.setdefault(key, n)
        if len(words) > 1:
            self.by_word[words[0]] = self.by_word[words[-1]] = n
        return f"<{self.prefix}_{n}>"


def replacement(name: str, op: Operator, pseudonyms: Pseudonyms, label: str = PER) -> str:
    if op.name == "replace":
        return type_replacement(label) if op.replacement is None else op.replacement
    if op.name == "mask":
        return "".join(c if c.isspace() else op.mask_char for c in name)
    if op.name == "pseudonym":
        return pseudonyms(name, label)
    digest = hmac.new(op.key, normalise(name).encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:HASH_DIGITS]


def redact(text: str, spans: list[Span], op: Operator, pseudonyms: Pseudonyms | None = None) -> Redacted:
    """The text with every span replaced, and one Item per span.

    spans: sorted and disjoint (as ``apply_lists`` returns them)."""
    pseudonyms = Pseudonyms() if pseudonyms is None else pseudonyms
    parts, items, pos, out_pos = [], [], 0, 0
    for s in spans:
        name = text[s.start:s.end]
        rep = replacement(name, op, pseudonyms, s.label)
        parts += [text[pos:s.start], rep]
        out_pos += s.start - pos
        items.append(Item(s.start, s.end, out_pos, out_pos + len(rep), name, rep, s.score, s.source, s.label))
        out_pos += len(rep)
        pos = s.end
    parts.append(text[pos:])
    return Redacted("".join(parts), items)
