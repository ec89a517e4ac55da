"""Offsets in the units callers count in: a code-point offset into a text (Python's)
becomes the same offset in UTF-16 code units (JavaScript, Java, .NET) or UTF-8 bytes.

    offsets(text, unit) -> code point -> unit offset
"""
from __future__ import annotations

from itertools import accumulate
from typing import Callable

OFFSET_UNITS = ("codepoint", "utf16", "utf8")


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
