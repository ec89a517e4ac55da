"""Redaction: take the person names out of a text. Pure functions, no Flask, no model.

The spans come from a tagger (``Span(start, end, score)``, code-point offsets
into the text) and from the caller's lists:

    later_mentions(text, spans, tokens)               -> + missed mentions of found names
    apply_lists(text, spans, allow_list, deny_list)   -> the spans to redact
    redact(text, spans, operator, pseudonyms)         -> Redacted(text, items)
    offsets(text, unit)                               -> code point -> unit offset

Operators (``Operator``):

    replace    every name becomes ``replacement`` ("[PERSON]")
    mask       every character of the name but whitespace becomes ``mask_char``
               ("*"): the length and the spaces between its words stay
    pseudonym  ``<PERSON_1>``, ``<PERSON_2>``, ... consistent across one
               ``Pseudonyms`` (pass the same one for every text of a request):
               the same name (case-insensitive) gets the same pseudonym, and a
               one-word mention that is the first or last word of an earlier
               full name gets that person's (the latest such person's)
    hash       the first 16 hex digits of HMAC-SHA256(key, name), the name
               case-folded with its whitespace collapsed; needs a key: there is
               no unkeyed fallback

Guarantee, for every item: ``text[start:end] == item.text`` and
``output[out_start:out_end] == item.replacement`` (code points).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Callable, NamedTuple

OPERATORS = ("replace", "mask", "pseudonym", "hash")
OFFSET_UNITS = ("codepoint", "utf16", "utf8")
DEFAULT_REPLACEMENT = "[PERSON]"
DEFAULT_MASK_CHAR = "*"
HASH_DIGITS = 16
MODEL, DENY_LIST = "model", "deny_list"  # where a span comes from
SOURCES = (MODEL, DENY_LIST)


class Span(NamedTuple):
    start: int  # code-point offsets into the text, end exclusive
    end: int
    score: float
    source: str = MODEL


class Item(NamedTuple):
    start: int  # the name in the input
    end: int
    out_start: int  # its replacement in the output
    out_end: int
    text: str
    replacement: str
    score: float
    source: str


class Redacted(NamedTuple):
    text: str
    items: list[Item]


class RedactError(ValueError):
    """An operator that cannot run as asked (e.g. hash without a key)."""


@dataclass(frozen=True)
class Operator:
    name: str = "replace"
    replacement: str = DEFAULT_REPLACEMENT
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

    def __call__(self, name: str) -> str:
        key = _normalise(name)
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
        return f"<PERSON_{n}>"


def _normalise(name: str) -> str:
    return " ".join(name.casefold().split())


def replacement(name: str, op: Operator, pseudonyms: Pseudonyms) -> str:
    if op.name == "replace":
        return op.replacement
    if op.name == "mask":
        return "".join(c if c.isspace() else op.mask_char for c in name)
    if op.name == "pseudonym":
        return pseudonyms(name)
    digest = hmac.new(op.key, _normalise(name).encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:HASH_DIGITS]


def deny_matches(text: str, deny_list: list[str], tokens=None) -> list[Span]:
    """Every whole-word, case-insensitive occurrence of a deny-list entry (score 1).
    Where entries overlap at one place, the longest wins. With the text's tokens
    (anything with .start and .end), a match must also begin and end on token
    boundaries ("Brien" is not a word of the token "O'Brien")."""
    entries = sorted({e for e in deny_list if e.strip()}, key=len, reverse=True)
    if not entries:
        return []
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, entries)) + r")(?!\w)", re.IGNORECASE)
    found = [Span(m.start(), m.end(), 1.0, DENY_LIST) for m in pattern.finditer(text)]
    if tokens is not None:
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        found = [s for s in found if s.start in starts and s.end in ends]
    return found


def later_mentions(text: str, spans: list[Span], tokens) -> list[Span]:
    """spans plus every other occurrence, as a whole token, of a name found in them or of
    the first or last word of a full name found ("Hermione Granger ... Hermione"), where
    the model missed it: a person identified once stays identified. Only capitalised
    words of two letters or more (not "J."), matched case-sensitively, so that finding
    "Will Smith" does not take out "will". Each added span is scored like the name it
    follows and comes from the model."""
    words: dict[str, float] = {}
    for s in spans:
        name = text[s.start:s.end].split()
        for w in {name[0], name[-1], " ".join(name)}:
            if len(w) >= 2 and w[:1].isupper() and w[-1] != ".":
                words[w] = max(words.get(w, 0.0), s.score)
    if not words:
        return spans
    found = sorted(spans)
    taken = [(s.start, s.end) for s in found]
    for t in tokens:
        w = text[t.start:t.end]
        if w in words and not any(a < t.end and t.start < b for a, b in taken):
            found.append(Span(t.start, t.end, words[w], MODEL))
    return sorted(found)


def apply_lists(text: str, spans: list[Span], allow_list=(), deny_list=(), tokens=None) -> list[Span]:
    """The spans to report or redact, sorted and disjoint: the model's spans plus
    the deny list's matches (a match overlapping model spans replaces them by
    their union, from the deny list), minus every span whose text is on the
    allow list (exact, case-insensitive; the allow list wins). tokens: see
    ``deny_matches``."""
    out = sorted(spans)
    for d in deny_matches(text, list(deny_list), tokens):
        hit = [s for s in out if s.start < d.end and d.start < s.end]
        if len(hit) == 1 and hit[0].start <= d.start and d.end <= hit[0].end:
            continue  # already inside a model span
        start, end = min([d.start] + [s.start for s in hit]), max([d.end] + [s.end for s in hit])
        out = sorted([s for s in out if s not in hit] + [Span(start, end, 1.0, DENY_LIST)])
    allowed = {_normalise(a) for a in allow_list}
    return [s for s in out if _normalise(text[s.start:s.end]) not in allowed]


def redact(text: str, spans: list[Span], op: Operator, pseudonyms: Pseudonyms | None = None) -> Redacted:
    """The text with every span replaced, and one Item per span.

    spans: sorted and disjoint (as ``apply_lists`` returns them)."""
    pseudonyms = Pseudonyms() if pseudonyms is None else pseudonyms
    parts, items, pos, out_pos = [], [], 0, 0
    for s in spans:
        name = text[s.start:s.end]
        rep = replacement(name, op, pseudonyms)
        parts += [text[pos:s.start], rep]
        out_pos += s.start - pos
        items.append(Item(s.start, s.end, out_pos, out_pos + len(rep), name, rep, s.score, s.source))
        out_pos += len(rep)
        pos = s.end
    parts.append(text[pos:])
    return Redacted("".join(parts), items)


def offsets(text: str, unit: str = "codepoint") -> Callable[[int], int]:
    """A function from a code-point offset into text to the same offset in ``unit``:
    "codepoint" (Python), "utf16" (JavaScript, Java, .NET: code units) or "utf8" (bytes)."""
    if unit == "codepoint":
        return int
    if unit not in OFFSET_UNITS:
        raise ValueError(f"unknown offset unit {unit!r} (known: {', '.join(OFFSET_UNITS)})")
    if text.isascii():  # every unit is one byte
        return int
    if unit == "utf16":
        widths = (2 if ord(c) > 0xFFFF else 1 for c in text)
    else:
        widths = (len(c.encode("utf-8", "surrogatepass")) for c in text)
    table = list(accumulate(widths, initial=0))
    return table.__getitem__
