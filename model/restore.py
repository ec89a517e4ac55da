"""The way back from pseudonyms: which name each ``<PERSON_n>`` stands for, sealed into
a token the caller keeps, and the text with the names put back. Pure functions and
one small sealing class; no Flask, no model, no state kept anywhere.

    extend(previous, pseudonyms, redactions) -> Book     what the token holds
    pseudonyms(book)                         -> Pseudonyms, pre-loaded (continuity)
    restore(text, book)                      -> Restored(text, items, counts, unknown)
    Sealer(key, previous_key, ttl).seal(book) / .open(token)

A ``Book`` holds, for every pseudonym, the name it was first given for (its first
full mention: "Angela Merkel", not a later "Merkel"), plus what a ``Pseudonyms`` needs
to go on numbering as if the earlier texts had come in the same request: the
one-word mentions already bound to a person and the first/last words that point
elsewhere than replaying the names would say. For a redacted text that restoring by
the names alone would not give back byte for byte (a later "Harry" for "Harry
Potter", "harry potter" in another case, a literal "PERSON_1" in the input), it also
keeps the exact mention at each replacement, found again by a digest of that text.

Placeholders recognised in any other text (an LLM's answer), chosen on the answers
in tests/data/llm_answers.jsonl: ``<PERSON_n>`` in any case, with or without its
angle brackets, as a whole word (``<PERSON_1>'s``, ``(<PERSON_1>)``, ``PERSON_1,``,
``<person_1>``). Nothing freer ("Person 1", "PERSON-1", "the first person") is
touched. A number the book does not hold is left as it is and counted as unknown.

The token: ``version (1) | key id (4) | expiry (4, Unix seconds) | nonce (12) |
AES-256-GCM(raw deflate(JSON))`` with the first 9 bytes as associated data,
base64url without padding. The AES key is derived from the configured key with
HKDF-SHA256; the key id is a digest of the derived key, so a token names the key
that sealed it without revealing anything about it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .names import normalise as _normalise
from .offsets import offsets
from .redact import Pseudonyms, Redacted, key_bytes

MIN_RESTORE_KEY_BYTES = 32
DEFAULT_TTL_S = 86_400
MAX_TTL_S = 10 * 365 * 86_400  # the expiry is 32-bit Unix seconds
VERSION = 1
_HEADER = struct.Struct(">B4sI")  # version, key id, expiry
NONCE_BYTES, TAG_BYTES = 12, 16
MAX_PLAINTEXT = 16 << 20  # bytes a token may inflate to
DIGEST_BYTES = 6

# whole-word PERSON_<digits>, any case, its angle brackets optional (each on its own)
PLACEHOLDER = re.compile(r"<?(?<!\w)PERSON_([0-9]+)(?!\w)>?", re.IGNORECASE)
_EXACT = re.compile(r"<PERSON_([0-9]+)>")  # what the pseudonym operator writes


REASONS = ("damaged", "foreign_key", "expired")


class TokenError(ValueError):
    """A restore token that cannot be used; the message says why, in words for the caller;
    ``reason`` in one word (REASONS): damaged (not a token, truncated, altered), sealed
    under a foreign_key, or expired."""

    def __init__(self, message: str, reason: str = "damaged"):
        super().__init__(message)
        self.reason = reason


def restore_key(value: str | None) -> bytes | None:
    """A restore key from its setting (NAMETAG_RESTORE_KEY, NAMETAG_RESTORE_KEY_PREVIOUS), or
    None when unset; ValueError when it is too short."""
    return key_bytes(value, MIN_RESTORE_KEY_BYTES)


def ttl_seconds(value) -> int:
    """A token's time to live from its setting (NAMETAG_RESTORE_TTL_S): whole seconds, 1 to MAX_TTL_S."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TTL_S:
        raise ValueError(f"expected whole seconds from 1 to {MAX_TTL_S}")
    return value


# ---- what a token holds

@dataclass(frozen=True)
class Book:
    """people[n - 1]: the first full mention of <PERSON_n>.
    aliases: normalised one-word mentions bound to a person other than by their own name.
    words: first/last words (normalised) whose person differs from replaying ``people``.
    exact: digest of a redacted text -> (offset delta, mention or 0 for people[n - 1]) per
    replacement, flat, for the texts that the names alone would not give back exactly."""

    people: tuple[str, ...] = ()
    aliases: dict[str, int] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)
    exact: dict[str, tuple] = field(default_factory=dict)


def _replayed_words(people) -> dict[str, int]:
    words = {}
    for n, name in enumerate(people, 1):
        w = _normalise(name).split(" ")
        if len(w) > 1:
            words[w[0]] = words[w[-1]] = n
    return words


def pseudonyms(book: Book | None) -> Pseudonyms:
    """A Pseudonyms that goes on as the one that made the book would: known people keep
    their numbers (and their first- or last-name mentions too), new ones get the next."""
    if book is None:
        return Pseudonyms()
    by_name = {_normalise(p): n for n, p in enumerate(book.people, 1)}
    by_name.update(book.aliases)
    return Pseudonyms(by_name, {**_replayed_words(book.people), **book.words}, len(book.people))


def _number(replacement: str) -> int:
    return int(replacement[len("<PERSON_"):-1])


def extend(previous: Book | None, ps: Pseudonyms, redactions: Iterable[tuple[str, Redacted]]) -> Book:
    """The book after redacting with the pseudonym operator: `previous` (or None) plus the
    people first met in redactions ((original text, Redacted) pairs, in the order they
    were redacted with `ps`, itself ``pseudonyms(previous)``). Exact records are kept for
    these texts only."""
    people = list(previous.people) if previous else []
    pairs = list(redactions)
    for _, red in pairs:
        for item in red.items:
            if item.label != "PER":  # the book holds people only: other types' pseudonyms are not restored
                continue
            n = _number(item.replacement)
            if n == len(people) + 1:
                people.append(" ".join(item.text.split()))  # an answer gets it on one line
            elif n > len(people):
                raise ValueError(f"pseudonym {item.replacement} before <PERSON_{len(people) + 1}>")
    if ps.count != len(people):
        raise ValueError(f"the pseudonyms handed out {ps.count} numbers, the texts show {len(people)}")
    own = {_normalise(p) for p in people}
    replayed = _replayed_words(people)
    book = Book(tuple(people), {k: n for k, n in ps.by_name.items() if k not in own},
                {k: n for k, n in ps.by_word.items() if replayed.get(k) != n})
    exact = {}
    for original, red in pairs:
        if not _restores_by_names(red, book.people):
            exact[digest(red.text)] = _record(red, book.people)
    return Book(book.people, book.aliases, book.words, exact) if exact else book


def _restores_by_names(red: Redacted, people) -> bool:
    """Whether restoring red.text by the names alone gives the original back: every
    replacement is its person's first mention as written, and nothing else in the text
    reads as a placeholder."""
    return all(i.text == people[_number(i.replacement) - 1] for i in red.items) and \
        len(PLACEHOLDER.findall(red.text)) == len(red.items)


def digest(text: str) -> str:
    raw = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:DIGEST_BYTES]
    return base64.urlsafe_b64encode(raw).decode()


def _record(red: Redacted, people) -> tuple:
    flat, pos = [], 0
    for item in red.items:
        flat += [item.out_start - pos, 0 if item.text == people[_number(item.replacement) - 1] else item.text]
        pos = item.out_start
    return tuple(flat)


# ---- restoring

class Item(NamedTuple):
    start: int  # the placeholder in the input (code points)
    end: int
    out_start: int  # the name in the output
    out_end: int
    placeholder: str  # as found: input[start:end]
    pseudonym: str  # canonical: <PERSON_n>
    text: str  # the name: output[out_start:out_end]


class Restored(NamedTuple):
    text: str
    items: list[Item]
    counts: dict[str, int]  # pseudonym -> replacements, in number order
    unknown: dict[str, int]  # <PERSON_n> the book does not hold -> occurrences, left as they are


def _found(text: str, book: Book) -> list[tuple[int, int, int, str]]:
    """(start, end, n or 0, name) of every placeholder: from the exact record of this
    text when the book has one, else by PLACEHOLDER."""
    record = book.exact.get(digest(text)) if book.exact else None
    if record is not None:
        out, pos = [], 0
        for delta, mention in zip(record[::2], record[1::2]):
            pos += delta
            m = _EXACT.match(text, pos)
            n = int(m[1]) if m is not None and len(m[1]) <= 9 else 0
            if not 0 < n <= len(book.people):
                break  # not the text recorded after all: read it as any other
            out.append((m.start(), m.end(), n, mention or book.people[n - 1]))
        else:
            return out
    known = len(book.people)
    out = []
    for m in PLACEHOLDER.finditer(text):
        digits = m[1]
        n = int(digits) if len(digits) <= 9 and digits[0] != "0" else 0  # no PERSON_01, no 5000 digits
        out.append((m.start(), m.end(), n if n <= known else 0, book.people[n - 1] if 0 < n <= known else digits))
    return out


def restore(text: str, book: Book) -> Restored:
    """The text with every placeholder of a known pseudonym replaced by its name.

    Guarantee, for every item: ``text[start:end] == placeholder`` and
    ``output[out_start:out_end] == item.text`` (code points)."""
    parts, items, counts, unknown = [], [], {}, {}
    pos = out_pos = 0
    for start, end, n, name in _found(text, book):
        if n == 0:
            key = f"<PERSON_{name}>"
            unknown[key] = unknown.get(key, 0) + 1
            continue
        parts += [text[pos:start], name]
        out_pos += start - pos
        pseudonym = f"<PERSON_{n}>"
        items.append(Item(start, end, out_pos, out_pos + len(name), text[start:end], pseudonym, name))
        counts[pseudonym] = counts.get(pseudonym, 0) + 1
        out_pos += len(name)
        pos = end
    parts.append(text[pos:])
    counts = dict(sorted(counts.items(), key=lambda kv: _number(kv[0])))
    return Restored("".join(parts), items, counts, unknown)


def answer(text: str, restored: Restored, unit: str = "codepoint") -> dict:
    """The JSON answer of one restored text, every offset in ``unit`` (``model.redact.offsets``)."""
    at_in, at_out = offsets(text, unit), offsets(restored.text, unit)
    return {
        "text": restored.text,
        "items": [{"start": at_in(i.start), "end": at_in(i.end), "out_start": at_out(i.out_start),
                   "out_end": at_out(i.out_end), "placeholder": i.placeholder, "pseudonym": i.pseudonym,
                   "text": i.text} for i in restored.items],
        "restored": [{"pseudonym": p, "count": c} for p, c in restored.counts.items()],
        "unknown": [{"pseudonym": p, "count": c} for p, c in restored.unknown.items()],
    }


# ---- the token

def encode(book: Book) -> bytes:
    """The book as minimal JSON, raw-deflated: [people, aliases, words, exact], trailing
    empty parts dropped."""
    parts = [list(book.people), book.aliases, book.words, {k: list(v) for k, v in book.exact.items()}]
    while parts and not parts[-1]:
        parts.pop()
    return zlib.compress(orjson.dumps(parts), 9, wbits=-15)


def decode(data: bytes) -> Book:
    """The inverse of ``encode``; TokenError on anything that is not a book."""
    try:
        d = zlib.decompressobj(-15)
        raw = d.decompress(data, MAX_PLAINTEXT)
        if d.unconsumed_tail or not d.eof:
            raise ValueError("not a whole deflate stream")
        parts = orjson.loads(raw)
        people, aliases, words, exact = (parts + [[], {}, {}, {}][len(parts):])[:4]
        n = len(people)
        ok = (isinstance(parts, list) and len(parts) <= 4 and isinstance(people, list)
              and all(isinstance(p, str) and p for p in people)
              and all(isinstance(d, dict) and all(isinstance(v, int) and 0 < v <= n for v in d.values())
                      for d in (aliases, words))
              and isinstance(exact, dict) and all(_is_record(v) for v in exact.values()))
        if not ok:
            raise ValueError("not a book")
    except (ValueError, TypeError, zlib.error):
        raise TokenError("The restore token's contents are damaged.") from None
    return Book(tuple(people), aliases, words, {k: tuple(v) for k, v in exact.items()})


def _is_record(v) -> bool:
    return isinstance(v, list) and len(v) % 2 == 0 and \
        all(isinstance(d, int) and d >= 0 for d in v[::2]) and all(m == 0 or isinstance(m, str) for m in v[1::2])


_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_DAMAGED = "The restore token has been altered, truncated or damaged: it does not open."


def _b64decode(token: str) -> bytes:
    """base64url without padding, canonical only: a changed final character that base64
    would ignore (its unused bits) still makes a different token, refused here."""
    if not isinstance(token, str) or not token or not _B64URL.fullmatch(token):
        raise TokenError("The restore token is not a token (expected base64url text without padding).")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(_DAMAGED) from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise TokenError(_DAMAGED)
    return raw


class _Key(NamedTuple):
    id: bytes
    aead: AESGCM


def derive(key: bytes) -> _Key:
    """The AES-256 key and its id from a configured key (at least MIN_RESTORE_KEY_BYTES)."""
    if len(key) < MIN_RESTORE_KEY_BYTES:
        raise ValueError(f"a restore key needs at least {MIN_RESTORE_KEY_BYTES} bytes")
    aes = HKDF(hashes.SHA256(), 32, salt=None, info=b"nametag restore token v1").derive(key)
    return _Key(hashlib.sha256(b"nametag restore key id\0" + aes).digest()[:4], AESGCM(aes))


class Sealer:
    """Seals books under the current key; opens tokens sealed under it or, during a
    rotation, under the previous one. Tokens expire ``ttl`` seconds after sealing."""

    def __init__(self, key: bytes, previous: bytes | None = None, ttl: int = DEFAULT_TTL_S):
        if not 0 < ttl <= MAX_TTL_S:
            raise ValueError(f"ttl: 1 to {MAX_TTL_S} seconds")
        if previous == key:
            previous = None
        self._keys = [derive(key)] + ([derive(previous)] if previous else [])
        self.ttl = ttl
        self._args = (key, previous, ttl)

    def __repr__(self) -> str:
        return f"Sealer(<{len(self._keys)} keys hidden>, ttl={self.ttl})"

    def __reduce__(self):  # to a Dask worker with the bulk command's tasks: rebuilt there
        return Sealer, self._args

    def seal(self, book: Book, now: float | None = None) -> str:
        key = self._keys[0]
        expires = int(time.time() if now is None else now) + self.ttl
        header = _HEADER.pack(VERSION, key.id, expires)
        nonce = os.urandom(NONCE_BYTES)
        raw = header + nonce + key.aead.encrypt(nonce, encode(book), header)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def open(self, token: str, now: float | None = None) -> Book:
        """The book in token; TokenError (saying why) when it is not a token, is damaged
        or altered, was sealed under another key, or has expired."""
        raw = _b64decode(token)
        if len(raw) < _HEADER.size + NONCE_BYTES + TAG_BYTES:
            raise TokenError("The restore token is truncated (too short to be one).")
        version, key_id, expires = _HEADER.unpack_from(raw)
        if version != VERSION:
            raise TokenError("The restore token is not one this service makes (unknown version); "
                             "it may have been altered.")
        header, nonce, sealed = raw[:_HEADER.size], raw[_HEADER.size:_HEADER.size + NONCE_BYTES], \
            raw[_HEADER.size + NONCE_BYTES:]
        keys = [k for k in self._keys if k.id == key_id]
        if not keys:
            raise TokenError("The restore token was sealed under another key than this service's "
                             "(NAMETAG_RESTORE_KEY, or NAMETAG_RESTORE_KEY_PREVIOUS during a rotation).",
                             "foreign_key")
        for k in keys:
            try:
                data = k.aead.decrypt(nonce, sealed, header)
                break
            except InvalidTag:
                continue
        else:
            raise TokenError(_DAMAGED)
        if (time.time() if now is None else now) >= expires:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
            raise TokenError(f"The restore token expired at {when}; redact the text again for a new one.",
                             "expired")
        return decode(data)
