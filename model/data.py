"""Corpus readers: CoNLL column files and JSONL, reduced to the person-name task.

Every reader returns a ``Corpus``: sentences of tokens, their tags
(0 = O, 1 = B-PER, 2 = I-PER, i.e. IOB2 whatever the file used), and the
document each sentence belongs to.

CoNLL files as they come: the tag is the last column; columns split on any
whitespace; ``-DOCSTART-`` lines start a new document; whitespace-only lines end
a sentence; IOB1 (``I-`` may start a span), IOB2 and IO all read the same;
``PER`` or ``person`` (any case) is the person type.
JSONL: one ``{"tokens": [...], "labels": [0, 1, ...]}`` per line, where a label
is 1 inside a name (adjacent names cannot be told apart in this form).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .tags import B, I, O

PERSON_TYPES = {"per", "person"}


class DataError(ValueError):
    """A corpus that cannot be used, with the file and line that show why."""


@dataclass
class Corpus:
    sentences: list[list[str]] = field(default_factory=list)
    tags: list[list[int]] = field(default_factory=list)
    docs: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def n_tokens(self) -> int:
        return sum(map(len, self.sentences))


def _split_tag(tag: str, where: str) -> tuple[str, str]:
    """'I-PER' -> ('I', 'per'); 'O' -> ('O', '')."""
    if tag == "O":
        return "O", ""
    prefix, sep, typ = tag.partition("-")
    if not sep or prefix not in ("B", "I", "E", "S") or not typ:
        raise DataError(f"{where}: malformed tag {tag!r} (expected O, B-TYPE or I-TYPE)")
    return prefix, typ.lower()


def to_person_iob2(raw: list[str], where: str) -> list[int]:
    """Person tags of one sentence in IOB2, read with conlleval's rules:
    a span starts at B-, or at I- whose previous tag is not of the same type."""
    out, prev_type = [], ""
    for tag in raw:
        prefix, typ = _split_tag(tag, where)
        is_per = typ in PERSON_TYPES
        if not is_per:
            out.append(O)
        elif prefix in ("B", "S") or prev_type not in PERSON_TYPES:
            out.append(B)
        else:
            out.append(I)
        prev_type = typ if prefix not in ("E", "S") else ""
    return out


def _open(path: Path):
    """The file, open for reading UTF-8 text; DataError naming it when it cannot be."""
    try:
        return open(path, encoding="utf-8")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None


def read_conll(path: str | Path) -> Corpus:
    """Read a CoNLL column file; raises DataError naming the file and line."""
    path = Path(path)
    corpus, toks, raw, doc, start = Corpus(), [], [], 0, 0

    def flush():
        if toks:
            corpus.sentences.append(list(toks))
            corpus.tags.append(to_person_iob2(raw, f"{path}:{start}"))
            corpus.docs.append(doc)
            toks.clear()
            raw.clear()

    with _open(path) as fh:
        try:
            for lineno, line in enumerate(fh, 1):
                cols = line.split()
                if not cols:
                    flush()
                elif cols[0] == "-DOCSTART-":
                    flush()
                    doc += 1
                elif len(cols) < 2:
                    raise DataError(f"{path}:{lineno}: expected 'token ... tag', got {line.strip()!r}")
                else:
                    if not toks:
                        start = lineno
                    _split_tag(cols[-1], f"{path}:{lineno}")
                    toks.append(cols[0])
                    raw.append(cols[-1])
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    flush()
    return corpus


def read_jsonl(path: str | Path) -> Corpus:
    """Read {"tokens": [...], "labels": [0/1, ...]} lines; each line is a document."""
    path = Path(path)
    corpus = Corpus()
    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: invalid JSON ({e.msg})") from None
            toks, labels = (obj.get("tokens"), obj.get("labels")) if isinstance(obj, dict) else (None, None)
            if (not isinstance(toks, list) or not isinstance(labels, list) or len(toks) != len(labels)
                    or not toks or not all(isinstance(t, str) and t.strip() for t in toks)
                    or not all(lab in (0, 1) and not isinstance(lab, bool) for lab in labels)):
                raise DataError(f"{where}: expected {{\"tokens\": [non-empty strings], "
                                f"\"labels\": [0 or 1, same length]}}")
            corpus.sentences.append(list(toks))
            corpus.tags.append([O if lab == 0 else I if k and labels[k - 1] else B
                                for k, lab in enumerate(labels)])
            corpus.docs.append(lineno)
    return corpus


def read_corpus(path: str | Path, require_person: bool = True) -> Corpus:
    """Read by extension (.jsonl -> JSONL, anything else -> CoNLL) and check it is usable."""
    path = Path(path)
    corpus = read_jsonl(path) if path.suffix == ".jsonl" else read_conll(path)
    if not corpus.sentences:
        raise DataError(f"{path}: no sentences (empty corpus)")
    if require_person and not any(t for tags in corpus.tags for t in tags):
        raise DataError(f"{path}: no person labels (expected PER or person tags)")
    return corpus
