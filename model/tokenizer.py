"""Split raw text into tokens the way the training data (CoNLL-2003) is split.

Punctuation stands apart, and so does a clitic ``'s`` / ``n't``; kept whole are
abbreviations with inner dots (``U.S.``), initials (``J.``), names with an
apostrophe or hyphen inside (``O'Brien``, ``Jean-Pierre``), numbers with
separators (``1,000.50``, ``1996-08-22``), e-mail addresses and URLs.

Each token carries its character offsets into the text: Python code-point
offsets, end exclusive, so ``text[start:end] == token.text``. Only whitespace
is ever dropped.
"""
from __future__ import annotations

import re
from typing import NamedTuple


class Token(NamedTuple):
    text: str
    start: int
    end: int


_MARK = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"  # combining marks
# Invisible format characters (soft hyphen, zero-width space/joiners, bidi controls, BOM):
# they stay inside the word they touch, as in WNUT-17 ("watched\u200bwas", "Dubbz\ufeff").
INVISIBLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_W = rf"(?:[^\W_]|[{_MARK}{INVISIBLE}])"  # a letter, digit, combining mark or invisible character
APOSTROPHES = "'’"
CLITIC_TAILS = ("s", "re", "ve", "ll", "d", "m")  # after an apostrophe: 's 're 've 'll 'd 'm
_NT = rf"(?i:n[{APOSTROPHES}]t)(?!{_W})"  # the clitic n't
_CLITIC = rf"[{APOSTROPHES}](?i:{'|'.join(CLITIC_TAILS)})(?!{_W})"  # 's 're 've 'll 'd 'm, not O'Sullivan
_CHAR = rf"(?:(?!{_NT}){_W})"  # a word character that does not start n't
_EXT = rf"[{_MARK}\ufe0e\ufe0f\u20e3\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]"  # modifiers
_LINKS = [
    r"(?:https?://|www\.)\S*[^\s.,;:!?)\]'\"]",  # URL; trailing punctuation stays apart
    r"(?=[\w.+-]{1,64}@)[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail (the bounded look-ahead keeps
    # this linear: without it every word of a long "ab.ab.ab..." run rescans the rest)
]
_REST = [
    r"(?:[^\W\d_]\.){2,}",  # U.S.  e.g.
    r"[^\W\d_]\.(?=\s|$)",  # an initial: J.
    r"\d+(?:[.,:/-]\d+)+",  # 1,000.50  1996-08-22  10:30
    _NT,
    _CLITIC,
    rf"{_CHAR}+(?:-{_CHAR}+|(?!{_CLITIC})['’]{_CHAR}+)*",  # words, O'Brien, Jean-Pierre
    rf"\S(?:{_EXT}|\u200d\S)*",  # anything else, one character with its modifiers (emoji)
]
_TOKEN = re.compile("|".join(_LINKS + _REST))
# The same without the link branches, which cannot match in a text with no "http",
# "www." or "@" (most texts): the first branch that matches is the same, 20% faster.
_TOKEN_NO_LINKS = re.compile("|".join(_REST))
_new = tuple.__new__  # Token(...) without NamedTuple's Python-level __new__


def tokenize(text: str) -> list[Token]:
    """Tokens of text with their (start, end) code-point offsets."""
    pattern = _TOKEN if "@" in text or "http" in text or "www." in text else _TOKEN_NO_LINKS
    return [_new(Token, (m.group(), m.start(), m.end())) for m in pattern.finditer(text)]


def join_tokens(words: list[str]) -> tuple[str, list[Token]]:
    """The text of pre-tokenized input (words joined by single spaces) and each
    word's code-point offsets into it."""
    tokens, pos = [], 0
    for w in words:
        tokens.append(Token(w, pos, pos + len(w)))
        pos += len(w) + 1
    return " ".join(words), tokens



_APOSTROPHE_WORDS = frozenset(APOSTROPHES)  # a word that is one apostrophe


def join_clitics(words: list[str]) -> tuple[list[str], list[int]] | None:
    """The words as the network reads them when a clitic was written apart: ``Trump ' s``
    and ``does n ' t``, as some tokenizers print text (WNUT-17's dev and test parts do),
    become ``Trump 's`` and ``does n't``, the way this tokenizer and CoNLL-2003 split them.
    Returns (forms, unit) with unit[k] the form word k is read in, or None when nothing is
    joined (most sentences). The words themselves, and their offsets, are left as they are."""
    if not any(w in _APOSTROPHE_WORDS for w in words):
        return None
    forms: list[str] = []
    unit: list[int] = []
    k = 0
    while k < len(words):
        if 0 < k < len(words) - 1 and words[k] in _APOSTROPHE_WORDS:
            tail = words[k + 1].lower()
            if tail == "t" and words[k - 1].lower() == "n":  # n ' t: n't, one form from three words
                forms[-1] = words[k - 1] + words[k] + words[k + 1]
                unit += [len(forms) - 1] * 2
                k += 2
                continue
            if tail in CLITIC_TAILS:  # ' s: 's
                forms.append(words[k] + words[k + 1])
                unit += [len(forms) - 1] * 2
                k += 2
                continue
        forms.append(words[k])
        unit.append(len(forms) - 1)
        k += 1
    return (forms, unit) if len(forms) < len(words) else None
