"""What an answer must never show: a stack trace, a source file or a filesystem path."""
from __future__ import annotations

import re

from harness import ROOT

LEAKS = re.compile("|".join([
    r"Traceback \(most recent call last\)", r'File "[^"]+", line \d+', r"\.py\b", "site-packages",
    r"Werkzeug Debugger", r"__debugger__", re.escape(str(ROOT)),
    r"(?<![\w.])/(?:work|home|root|tmp|usr|opt|etc|proc|var)/",
]))


def assert_no_leak(body: bytes | str) -> None:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    m = LEAKS.search(text)
    assert m is None, f"leaks {m.group()!r}: {text[:300]}"
