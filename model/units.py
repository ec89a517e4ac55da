"""Where the units the network reads begin and end in a text as people send it.

The network was trained on sentences, so a text is cut into units; all the units
of one text still share its document features. A unit ends:

* after ".", "!" or "?" (``tagger.split_sentences``), in every rule;
* at a line break, as the rule says:

    punct   never: a line break is a space (how a token list without text is cut)
    blank   at a blank line (two line breaks with only spaces between them)
    line    at every line break
    short   at a blank line, and at the break after a short line (under SHORT_LINE
            characters from its first token to its last): the lines of a signature,
            an address block, a list or a ``Field: value`` form, but not a paragraph
            wrapped at 72 columns, whose break may fall inside a name

``short`` is the default (``RULE``): of the four it scored best on the hand-written
dev set (docs/text-shapes.md has the figures). Offsets are never touched: a unit
is a range of token indices.

    unit_bounds(text, tokens, rule)  -> (start, end) token ranges of the units
"""
from __future__ import annotations

import re

from .tagger import split_sentences
from .tokenizer import Token

RULES = ("punct", "blank", "line", "short")
RULE = "short"
SHORT_LINE = 50  # characters: dev scores the same from 40 to 60; a wrapped paragraph's lines are longer
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_PARAGRAPH = "\u2029"  # a paragraph separator counts as a blank line


def line_breaks(gap: str) -> int:
    """How many line breaks a run of whitespace holds ("\\r\\n" is one)."""
    return sum(2 if m.group() == _PARAGRAPH else 1 for m in _BREAK.finditer(gap))


def ends_unit(breaks: int, line_length: int, rule: str) -> bool:
    """Whether `breaks` line breaks after a line of `line_length` characters end a unit."""
    if rule == "punct" or not breaks:
        return False
    return breaks >= 2 or rule == "line" or (rule == "short" and line_length < SHORT_LINE)


def unit_bounds(text: str, tokens: list[Token], rule: str = RULE) -> list[tuple[int, int]]:
    """(start, end) token ranges of the units of text; tokens: its tokens, with offsets."""
    if rule not in RULES:
        raise ValueError(f"unknown unit rule {rule!r} (known: {', '.join(RULES)})")
    words = [t.text for t in tokens]
    if rule == "punct" or not _BREAK.search(text):
        return split_sentences(words)
    cuts, line_start = set(), tokens[0].start if tokens else 0
    for i in range(1, len(tokens)):
        end = tokens[i - 1].end
        n = line_breaks(text[end:tokens[i].start])
        if n:
            if ends_unit(n, end - line_start, rule):
                cuts.add(i)
            line_start = tokens[i].start
    out = []
    for s, e in split_sentences(words):
        for i in range(s + 1, e):
            if i in cuts:
                out.append((s, i))
                s = i
        out.append((s, e))
    return out
