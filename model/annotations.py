"""Annotations as the usual tools export them: JSONL with character spans, read into a ``Corpus``.

Each line is one record (a document), its shape detected on its own:

    Prodigy       {"text": ..., "spans": [{"start": 0, "end": 12, "label": "PERSON"}, ...]}
    doccano       {"text": ..., "label": [[0, 12, "PER"], ...]}     ("labels" is read too)
    Label Studio  {"data": {"text": ...}, "annotations": [{"result": [
                      {"value": {"start": 0, "end": 12, "labels": ["PER"]}}, ...]}]}
                  (the first annotation that was not cancelled; a file holding one JSON
                  array of such tasks, as Label Studio's JSON export does, is read too)
    tokens        {"tokens": [...], "labels": [0, 1, ...]}           (1 inside a person's name)

The text is split by the service's tokenizer (``model.tokenizer``), and every span
is checked against it: its offsets must be integers with 0 <= start < end <=
len(text), it must start and end on token boundaries, and it must not overlap
another span. A record that fails is reported as ``file:line: reason``; by
default the whole file is refused (``DataError`` listing the reasons), with
``skip_bad`` the record is left out and counted. A record longer than the
service's limits (characters or tokens per input) is refused the same way.
A record's tokens are cut into sentences as the service cuts a text
(``tagger.split_sentences``), never inside an entity.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .data import Corpus, DataError, load_json, open_file, order_types, tokens_and_labels, type_name
from .tags import O, begin, inside
from .tokenizer import Token, join_tokens, tokenize

MAX_CHARS, MAX_TOKENS = 100_000, 10_000  # the service's default per-input limits (service/config.py)
MAX_SHOWN = 20  # reasons listed in a refusal


@dataclass
class Record:
    """One annotated text: its tokens and its entities as (first token, end token, type name)."""
    tokens: list[Token]
    entities: list[tuple[int, int, str]]
    line: int


@dataclass
class Read:
    corpus: Corpus
    skipped: list[str] = field(default_factory=list)  # "file:line: reason" of each record left out


class BadRecord(ValueError):
    """One record that cannot be used; the message says why."""


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def raw_spans(obj) -> tuple[str, list[tuple[object, object, object]]] | None:
    """(text, [(start, end, label), ...]) of a span record in any of the three shapes, or None
    when obj is not one (e.g. a tokens record)."""
    if not isinstance(obj, dict):
        raise BadRecord("expected a JSON object")
    if "data" in obj and isinstance(obj.get("data"), dict):  # Label Studio
        text = obj["data"].get("text")
        done = [a for a in obj.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        results = done[0].get("result") or [] if done else []
        if not isinstance(results, list):
            raise BadRecord("Label Studio 'result' must be a list")
        spans = []
        for r in results:
            v = r.get("value") if isinstance(r, dict) else None
            if not isinstance(v, dict) or "start" not in v:
                continue  # relations, choices and other result kinds carry no span
            labels = v.get("labels") or []
            if not isinstance(labels, list) or len(labels) != 1:
                raise BadRecord(f"a span needs exactly one label, got {labels!r}")
            spans.append((v.get("start"), v.get("end"), labels[0]))
    elif "text" in obj:
        text = obj["text"]
        if "spans" in obj:  # Prodigy
            if not isinstance(obj["spans"], list):
                raise BadRecord("'spans' must be a list")
            spans = [(s.get("start"), s.get("end"), s.get("label")) if isinstance(s, dict) else (None, None, None)
                     for s in obj["spans"]]
        else:  # doccano
            raw = obj.get("label", obj.get("labels", []))
            if not isinstance(raw, list) or not all(isinstance(s, list) and len(s) == 3 for s in raw):
                raise BadRecord("doccano 'label' must be a list of [start, end, label]")
            spans = [tuple(s) for s in raw]
    else:
        return None
    if not isinstance(text, str):
        raise BadRecord("'text' must be a string")
    return text, spans


def check(text: str, spans, max_chars: int = MAX_CHARS, max_tokens: int = MAX_TOKENS) -> Record:
    """The record's tokens and entities; BadRecord for the first span that does not check out."""
    if len(text) > max_chars:
        raise BadRecord(f"text of {len(text)} characters, over the service's limit of {max_chars} per input")
    tokens = tokenize(text)
    if not tokens:
        raise BadRecord("empty text")
    if len(tokens) > max_tokens:
        raise BadRecord(f"{len(tokens)} tokens, over the service's limit of {max_tokens} per input")
    first = {t.start: i for i, t in enumerate(tokens)}
    last = {t.end: i for i, t in enumerate(tokens)}
    entities, taken = [], []
    for start, end, label in sorted(spans, key=lambda s: (s[0] if _int(s[0]) else -1, s[1] if _int(s[1]) else -1)):
        if not (_int(start) and _int(end)) or not 0 <= start < end <= len(text):
            raise BadRecord(f"bad offsets [{start!r}, {end!r}] (text has {len(text)} characters)")
        if not isinstance(label, str) or not label.strip():
            raise BadRecord(f"bad label {label!r} at [{start}, {end}]")
        what = f"span [{start}, {end}] {text[start:end]!r}"
        if start not in first or end not in last:
            near = [t.text for t in tokens if t.start < end and start < t.end]
            raise BadRecord(f"{what} does not start and end on token boundaries (tokens: {near})")
        for s, e in taken:
            if start < e and s < end:
                raise BadRecord(f"{what} overlaps span [{s}, {e}] {text[s:e]!r}")
        taken.append((start, end))
        entities.append((first[start], last[end] + 1, label.strip()))
    return Record(tokens, entities, 0)


def _records(path: Path):
    """(line number, parsed object or the BadRecord) of each non-blank line (or array item)."""
    with open_file(path, binary=True) as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 ({e.reason} at byte {e.start}); save it as UTF-8") from None
    if text.lstrip().startswith("["):  # one JSON array (Label Studio's JSON export)
        items = load_json(text, path)
        yield from ((n, item) for n, item in enumerate(items, 1))
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            yield lineno, BadRecord(f"invalid JSON ({e.msg} at column {e.colno})")


def _tokens_record(obj) -> Record:
    toks, labels = obj.get("tokens"), obj.get("labels")
    if not tokens_and_labels(toks, labels):
        raise BadRecord('expected {"text": ..., spans} or {"tokens": [non-empty strings], '
                        '"labels": [0 or 1, same length]}')
    _, tokens = join_tokens(toks)
    entities, start = [], None
    for k, lab in enumerate(labels + [0]):
        if start is not None and not lab:
            entities.append((start, k, "PER"))
            start = None
        if lab and start is None:
            start = k
    return Record(tokens, entities, 0)


def read_annotations(path: str | Path, types: tuple[str, ...] | None = ("PER",),
                     label_map: dict[str, str] | None = None, skip_bad: bool = False,
                     max_chars: int = MAX_CHARS, max_tokens: int = MAX_TOKENS) -> Corpus:
    """Read a JSONL file of annotations over `types` (None: every type found); see the module."""
    return read(path, types, label_map, skip_bad, max_chars, max_tokens).corpus


def read(path: str | Path, types: tuple[str, ...] | None = ("PER",), label_map: dict[str, str] | None = None,
         skip_bad: bool = False, max_chars: int = MAX_CHARS, max_tokens: int = MAX_TOKENS) -> Read:
    """``read_annotations``, with the records skipped (skip_bad) given back."""
    from .tagger import split_sentences

    path = Path(path)
    records, bad = [], []
    for lineno, obj in _records(path):
        try:
            if isinstance(obj, BadRecord):
                raise obj
            found = raw_spans(obj)
            rec = _tokens_record(obj) if found is None else check(*found, max_chars, max_tokens)
        except BadRecord as e:
            bad.append(f"{path}:{lineno}: {e}")
            continue
        rec.line = lineno
        records.append(rec)
    if bad and not skip_bad:
        more = f"\n... and {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else ""
        raise DataError(f"{len(bad)} bad record(s) (give --skip-bad to leave them out):\n"
                        + "\n".join(bad[:MAX_SHOWN]) + more)
    names = [[type_name(t, label_map) for _, _, t in r.entities] for r in records]
    if types is None:
        types = order_types(t for ns in names for t in ns)
    index = {t: k for k, t in enumerate(types)}
    corpus = Corpus(types=tuple(types))
    for rec, ns in zip(records, names):
        tags = [O] * len(rec.tokens)
        for (s, e, _), name in zip(rec.entities, ns):
            if name in index:
                k = index[name]
                tags[s:e] = [begin(k)] + [inside(k)] * (e - s - 1)
        words = [t.text for t in rec.tokens]
        for s, e in _sentences(split_sentences(words), tags):
            corpus.sentences.append(words[s:e])
            corpus.tags.append(tags[s:e])
            corpus.docs.append(rec.line)
    return Read(corpus, bad)


def _sentences(bounds: list[tuple[int, int]], tags: list[int]) -> list[tuple[int, int]]:
    """The sentence ranges, joined where a cut would fall inside an entity."""
    out = []
    for s, e in bounds:
        if out and s < len(tags) and tags[s] != O and tags[s] % 2 == 0:  # an I- tag: the entity goes on
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out

