"""Which names to report or take out of one input: the tagger's entities as character
spans, the later mentions of the names found, and the caller's allow and deny lists.
Pure functions, no Flask, no model; one place for POST /tag, POST /redact and the bulk
command.

    check_entities(entities, types)                   -> ValueError naming the model's types
    model_spans(tokens, tagged, entities)             -> the tagger's entities (of those types) as Spans
    later_mentions(text, spans, tokens)               -> + missed mentions of found names
    apply_lists(text, spans, allow_list, deny_list)   -> the spans to report or redact
    names(text, tokens, tagged, ...)                  -> all of the above, in that order
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .tagger import Tagged
from .tags import PER
from .titles import name_start
from .tokenizer import Token

MODEL, DENY_LIST = "model", "deny_list"  # where a span comes from
SOURCES = (MODEL, DENY_LIST)


class Span(NamedTuple):
    start: int  # code-point offsets into the text, end exclusive
    end: int
    score: float
    source: str = MODEL
    label: str = PER  # the entity type


def deny_label(types: tuple[str, ...]) -> str:
    """The type of a deny-list match: PER when the model finds people, else its first type."""
    return PER if PER in types else types[0]


def normalise(name: str) -> str:
    """A name case-folded, its whitespace collapsed: how two mentions are compared."""
    return " ".join(name.casefold().split())


def check_entities(entities, types: tuple[str, ...]) -> None:
    """A ValueError naming the model's types when a type asked for (entities; None: all)
    is not among them: one message for POST /tag, POST /redact and the bulk command."""
    unknown = [t for t in entities or () if t not in types]
    if unknown:
        raise ValueError(f"Unknown entity type(s) {', '.join(unknown)}: this model finds {', '.join(types)}.")


def model_spans(tokens: list[Token], tagged: Tagged, entities=None) -> list[Span]:
    """The model's entities as character spans, labelled with their types. An entity
    is a maximal span of the IOB2 tags (B- starts a new one, so two adjacent names
    stay two); its score is the tagger's entity score, or the mean of its token scores.
    A person's span leaves out the titles before the name (``titles.name_start``:
    "Mr. David Okafor" names "David Okafor", "Mr" alone nobody).
    entities: the types to keep (None: all)."""
    found = tagged.typed_spans
    out, words = [], [t.text for t in tokens] if found else []
    for i, (s, e, k) in enumerate(found):
        label = tagged.types[k]
        if entities is not None and label not in entities:
            continue
        score = tagged.entity_scores[i] if tagged.entity_scores else sum(tagged.scores[s:e]) / (e - s)
        start = name_start(words, s, e) if label == PER else s
        if start is not None:
            out.append(Span(tokens[start].start, tokens[e - 1].end, score, MODEL, label))
    return out


def names(text: str, tokens: list[Token], tagged: Tagged, allow_list=(), deny_list=(),
          mentions: bool = False, entities=None) -> list[Span]:
    """The names to report (or take out) in one input: the model's entities (of the types
    in `entities`, default all), plus, when redacting (`mentions`), the later mentions of
    the names found, after the allow and deny lists. One place for POST /tag, POST /redact
    and the bulk command."""
    spans = model_spans(tokens, tagged, entities)
    if mentions:
        spans = later_mentions(text, spans, tokens)
    return apply_lists(text, spans, allow_list, deny_list, tokens, deny_label(tagged.types))


def deny_matches(text: str, deny_list: list[str], tokens=None, label: str = PER) -> list[Span]:
    """Every whole-word, case-insensitive occurrence of a deny-list entry (score 1).
    Where entries overlap at one place, the longest wins. With the text's tokens
    (anything with .start and .end), a match must also begin and end on token
    boundaries ("Brien" is not a word of the token "O'Brien")."""
    entries = sorted({e for e in deny_list if e.strip()}, key=len, reverse=True)
    if not entries:
        return []
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, entries)) + r")(?!\w)", re.IGNORECASE)
    found = [Span(m.start(), m.end(), 1.0, DENY_LIST, label) for m in pattern.finditer(text)]
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
    words: dict[str, tuple[float, str]] = {}  # word -> (score, type) of the best entity it is part of
    for s in spans:
        name = text[s.start:s.end].split()
        for w in {name[0], name[-1], " ".join(name)}:
            if len(w) >= 2 and w[:1].isupper() and w[-1] != ".":
                words[w] = max(words.get(w, (0.0, s.label)), (s.score, s.label))
    if not words:
        return spans
    found = sorted(spans)
    taken = [(s.start, s.end) for s in found]
    for t in tokens:
        w = text[t.start:t.end]
        if w in words and not any(a < t.end and t.start < b for a, b in taken):
            found.append(Span(t.start, t.end, words[w][0], MODEL, words[w][1]))
    return sorted(found)


def apply_lists(text: str, spans: list[Span], allow_list=(), deny_list=(), tokens=None,
                label: str = PER) -> list[Span]:
    """The spans to report or redact, sorted and disjoint: the model's spans plus
    the deny list's matches (a match overlapping model spans replaces them by
    their union, from the deny list), minus every span whose text is on the
    allow list (exact, case-insensitive; the allow list wins). tokens: see
    ``deny_matches``."""
    out = sorted(spans)
    for d in deny_matches(text, list(deny_list), tokens, label):
        hit = [s for s in out if s.start < d.end and d.start < s.end]
        if len(hit) == 1 and hit[0].start <= d.start and d.end <= hit[0].end:
            continue  # already inside a model span
        start, end = min([d.start] + [s.start for s in hit]), max([d.end] + [s.end for s in hit])
        out = sorted([s for s in out if s not in hit] + [Span(start, end, 1.0, DENY_LIST, label)])
    allowed = {normalise(a) for a in allow_list}
    return [s for s in out if normalise(text[s.start:s.end]) not in allowed]
