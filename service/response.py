"""Build the JSON answer for one input from its tokens and the model's tags.

Pure functions of (text, tokens, Tagged): no Flask, no model, no I/O, so the
offset invariants (``text[start:end] == token/entity text``) can be tested
on their own.
"""
from __future__ import annotations

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


def result(text: str, tokens: list[Token], tagged: Tagged, model: dict | None = None) -> dict:
    """tokens, labels and entities of one input (and `model`, the model's reference, when given).

    An entity is a maximal name span of the IOB2 tags (B-PER starts a new one,
    so two adjacent names stay two); its score is the mean of its token scores.
    """
    labels, scores = tagged.labels, tagged.scores
    entities = []
    for s, e in tagged.spans:
        start, end = tokens[s].start, tokens[e - 1].end
        entities.append({"text": text[start:end], "start": start, "end": end,
                         "token_start": s, "token_end": e, "label": ENTITY_LABEL,
                         "score": round(sum(scores[s:e]) / (e - s), SCORE_DIGITS)})
    out = {
        "tokens": [{"text": t.text, "start": t.start, "end": t.end, "label": y, "score": round(p, SCORE_DIGITS)}
                   for t, y, p in zip(tokens, labels, scores)],
        "labels": labels,
        "entities": entities,
    }
    if model is not None:
        out["model"] = model
    return out
