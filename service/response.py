"""Build the JSON answers of /tag and /redact from the tokens, the model's tags
and the spans chosen (``model.redact.apply_lists``).

Pure functions: no Flask, no model, no I/O, so the offset invariants
(``text[start:end] == token/entity text``) can be tested on their own.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

from model.redact import MODEL, Redacted, Span, apply_lists, later_mentions, offsets
from model.tagger import Tagged
from model.tokenizer import Token

ENTITY_LABEL = "PER"
SCORE_DIGITS = 4  # float32 probabilities: more digits would only be noise


def join_tokens(words: list[str]) -> tuple[str, list[Token]]:
    """The text of pre-tokenized input (words joined by single spaces) and each
    word's code-point offsets into it."""
    tokens, pos = [], 0
    for w in words:
        tokens.append(Token(w, pos, pos + len(w)))
        pos += len(w) + 1
    return " ".join(words), tokens


def model_spans(tokens: list[Token], tagged: Tagged) -> list[Span]:
    """The model's entities as character spans. An entity is a maximal name span
    of the IOB2 tags (B-PER starts a new one, so two adjacent names stay two);
    its score is the tagger's entity score, or the mean of its token scores."""
    out = []
    for i, (s, e) in enumerate(tagged.spans):
        score = tagged.entity_scores[i] if tagged.entity_scores else sum(tagged.scores[s:e]) / (e - s)
        out.append(Span(tokens[s].start, tokens[e - 1].end, score, MODEL))
    return out


def names(text: str, tokens: list[Token], tagged: Tagged, allow_list=(), deny_list=(),
          mentions: bool = False) -> list[Span]:
    """The names to report (or take out) in one input: the model's entities, plus, when
    redacting (`mentions`), the later mentions of the names found, after the allow and
    deny lists. One place for POST /tag, POST /redact and the bulk command."""
    spans = model_spans(tokens, tagged)
    if mentions:
        spans = later_mentions(text, spans, tokens)
    return apply_lists(text, spans, allow_list, deny_list, tokens)


def result(text: str, tokens: list[Token], tagged: Tagged, spans: list[Span] | None = None,
           unit: str = "codepoint", model: dict | None = None) -> dict:
    """tokens, labels and entities of one input (and `model`, the model's reference, when given).

    spans: the entities to report (default: the model's); a token is labelled 1
    when it lies in one. Every offset is given in ``unit`` (``model.redact.offsets``).
    """
    spans = model_spans(tokens, tagged) if spans is None else spans
    at = offsets(text, unit)
    starts, ends = [t.start for t in tokens], [t.end for t in tokens]
    labels, entities = [0] * len(tokens), []
    for sp in spans:
        s, e = bisect_right(ends, sp.start), bisect_left(starts, sp.end)  # the tokens it covers
        labels[s:e] = [1] * (e - s)
        entities.append({"text": text[sp.start:sp.end], "start": at(sp.start), "end": at(sp.end),
                         "token_start": s, "token_end": e, "label": ENTITY_LABEL,
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


def redaction(text: str, redacted: Redacted, unit: str = "codepoint", model: dict | None = None) -> dict:
    """The redacted text and one item per replaced name, offsets in ``unit`` (and `model`)."""
    at_in, at_out = offsets(text, unit), offsets(redacted.text, unit)
    out = {"text": redacted.text, "items": [
        {"start": at_in(i.start), "end": at_in(i.end), "out_start": at_out(i.out_start),
         "out_end": at_out(i.out_end), "text": i.text, "replacement": i.replacement,
         "score": round(float(i.score), SCORE_DIGITS), "source": i.source}
        for i in redacted.items]}
    if model is not None:
        out["model"] = model
    return out
