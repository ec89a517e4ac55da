"""API keys: the accepted keys' file, matching a presented key, and making a new key.

The file (``NAMETAG_API_KEYS_FILE``) holds one key per line as the sha256 hex digest of
the key, optionally followed by a space (or tab) and the key's name; blank lines and lines
starting with ``#`` are ignored::

    # name: who the key was given to (shown in metrics, logs and rate-limit counts)
    4f1c...e9 billing-batch
    a07d...3b

A key without a name is known by ``sha256:`` and the first 8 digits of its digest.
Keys sharing a name (an old and a new key while a client rotates) are counted as one.
Nothing here holds a key in the clear: a presented key is hashed at once, and the
digest is compared with every accepted digest in constant time. No Flask here.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32  # a new key: 256 random bits, URL-safe base64 (43 characters)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # safe as a metric label and a log field
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class KeyFileError(ValueError):
    """A keys file that cannot be read or has a bad line; the message says which line."""


def digest(key: str) -> bytes:
    """sha256 of the key's UTF-8 bytes: what the file stores (as hex)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def file_line(key: str, name: str) -> str:
    """The keys-file line that accepts `key` under `name`."""
    if not NAME.fullmatch(name):
        raise ValueError(f"a key name is 1-64 letters, digits, '.', '_' or '-', starting with a "
                         f"letter or digit; got {name!r}")
    return f"{digest(key).hex()} {name}"


@dataclass(frozen=True)
class KeyRing:
    """The accepted keys: (digest, name) pairs, in file order."""
    entries: tuple[tuple[bytes, str], ...]

    def match(self, key: str) -> str | None:
        """The name of `key`, or None when it is not accepted. Every entry is compared
        (hmac.compare_digest), so the time taken does not depend on which one matches."""
        d = digest(key)
        found = None
        for accepted, name in self.entries:
            if hmac.compare_digest(d, accepted):
                found = name
        return found

    @property
    def names(self) -> list[str]:
        return sorted({name for _, name in self.entries})

    def __len__(self) -> int:
        return len(self.entries)


def parse(text: str, where: str = "keys file") -> KeyRing:
    """The KeyRing of a keys file's text; KeyFileError naming the first bad line."""
    entries: list[tuple[bytes, str]] = []
    seen: dict[bytes, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        hexdigest, *rest = line.split(None, 1)
        name = rest[0].strip() if rest else ""
        if not _DIGEST.fullmatch(hexdigest):
            # never echo the line: it may be a key pasted in the clear
            raise KeyFileError(f"{where} line {n}: expected a sha256 digest (64 hex digits), "
                               f"optionally followed by a space and a name")
        if name and not NAME.fullmatch(name):
            raise KeyFileError(f"{where} line {n}: a key name is 1-64 letters, digits, '.', '_' "
                               f"or '-', starting with a letter or digit")
        d = bytes.fromhex(hexdigest)
        if d in seen:
            raise KeyFileError(f"{where} line {n}: the same key as line {seen[d]}")
        seen[d] = n
        entries.append((d, name or f"sha256:{hexdigest[:8].lower()}"))
    if not entries:
        raise KeyFileError(f"{where}: no key in it (unset NAMETAG_API_KEYS_FILE to turn keys off)")
    return KeyRing(tuple(entries))


def load(path: str | Path) -> KeyRing:
    """The KeyRing of the file at path; KeyFileError when it cannot be read or has a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not UTF-8 text"
        raise KeyFileError(f"cannot read {path}: {reason}") from None
    return parse(text, str(path))
