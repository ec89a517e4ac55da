"""The answers built from a tagged text: the token dicts, labels and entities of
POST /tag (and the bulk command's JSONL), and the redacted text and its items of
POST /redact (and ``nametag tag --redact``).

Pure functions: no Flask, no model, no I/O, so the offset invariants
(``text[start:end] == token/entity text``) can be tested on their own.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Callable

from .names import Span, model_spans
from .offsets import offsets
from .redact import Item, Redacted
from .tagger import Tagged
from .tokenizer import Token

ENTITY_LABEL = "PER"  # the type the 0/1 labels follow, when the model has it
SCORE_DIGITS = 4  # float32 probabilities: more digits would only be noise


def result(text: str, tokens: list[Token], tagged: Tagged, spans: list[Span] | None = None,
           unit: str = "codepoint", model: dict | None = None) -> dict:
    """tokens, labels and entities of one input (and `model`, the model's reference, when given).

    spans: the entities to report (default: the model's), each labelled with its type;
    a token is labelled 1 when it lies in a person's name (a PER entity) or, for a model
    without PER, in any entity. Every offset is given in ``unit`` (``model.offsets``).
    """
    spans = model_spans(tokens, tagged) if spans is None else spans
    at = offsets(text, unit)
    starts, ends = [t.start for t in tokens], [t.end for t in tokens]
    labels, entities = [0] * len(tokens), []
    people = ENTITY_LABEL in tagged.types  # labels: inside a person's name, or inside any entity without PER
    for sp in spans:
        s, e = bisect_right(ends, sp.start), bisect_left(starts, sp.end)  # the tokens it covers
        if sp.label == ENTITY_LABEL or not people:
            labels[s:e] = [1] * (e - s)
        entities.append({"text": text[sp.start:sp.end], "start": at(sp.start), "end": at(sp.end),
                         "token_start": s, "token_end": e, "label": sp.label,
                         "score": round(float(sp.score), SCORE_DIGITS), "source": sp.source})
    out = {
        "tokens": [{"text": t.text, "start": at(t.start), "end": at(t.end), "label": y,
                    "score": round(p, SCORE_DIGITS)}
                   for t, y, p in zip(tokens, labels, tagged.scores)],
        "labels": labels,
        "entities": entities,
    }
    if model is not None:
        out["model"] = model
    return out


def redaction_item(item: Item, at_in: Callable[[int], int] = int, at_out: Callable[[int], int] = int) -> dict:
    """One replaced name: its offsets in the input (at_in) and of its replacement in
    the output (at_out), its text, replacement, entity type, score and source."""
    return {"start": at_in(item.start), "end": at_in(item.end), "out_start": at_out(item.out_start),
            "out_end": at_out(item.out_end), "text": item.text, "replacement": item.replacement,
            "label": item.label, "score": round(float(item.score), SCORE_DIGITS), "source": item.source}


def redaction(text: str, redacted: Redacted, unit: str = "codepoint", model: dict | None = None) -> dict:
    """The redacted text and one item per replaced name, offsets in ``unit`` (and `model`)."""
    at_in, at_out = offsets(text, unit), offsets(redacted.text, unit)
    out = {"text": redacted.text, "items": [redaction_item(i, at_in, at_out) for i in redacted.items]}
    if model is not None:
        out["model"] = model
    return out
