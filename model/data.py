"""Corpus readers: CoNLL column files and JSONL, reduced to the entity types asked for.

Every reader returns a ``Corpus``: sentences of tokens, their tags (IOB2 ids
over the corpus's ``types``, ``model.tags``: 0 = O, 1 + 2k = B-type k,
2 + 2k = I-type k, whatever scheme the file used), and the document each
sentence belongs to. By default a reader keeps the person type only (K = 1:
0 O, 1 B-PER, 2 I-PER); ``types=None`` keeps every type the file has (PER first,
then the others in alphabetical order), and a tuple keeps those types, in that order.

Type names are upper-cased, then renamed by ``label_map`` (``{"PERSON": "PER"}``
always applies, so ``person`` in any case is PER).

CoNLL files as they come: the tag is the last column; columns split on any
whitespace; ``-DOCSTART-`` lines start a new document; whitespace-only lines end
a sentence; IOB1 (``I-`` may start a span), IOB2 and IO all read the same.
JSONL: see ``model.annotations`` (Prodigy, doccano and Label Studio spans), or one
``{"tokens": [...], "labels": [0, 1, ...]}`` per line, where a label is 1 inside
a person's name (adjacent names cannot be told apart in this form).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .tags import B, I, O, PER, begin, inside

PERSON_TYPES = {"per", "person"}
BUILTIN_LABEL_MAP = {"PERSON": PER}


class DataError(ValueError):
    """A corpus that cannot be used, with the file and line that show why."""


@dataclass
class Corpus:
    sentences: list[list[str]] = field(default_factory=list)
    tags: list[list[int]] = field(default_factory=list)
    docs: list[int] = field(default_factory=list)
    types: tuple[str, ...] = (PER,)  # tag 1 + 2k / 2 + 2k is B / I of types[k]

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


def type_name(typ: str, label_map: dict[str, str] | None = None) -> str:
    """A file's type name as the model knows it: upper-cased, then renamed."""
    t = typ.upper()
    t = BUILTIN_LABEL_MAP.get(t, t)
    return (label_map or {}).get(t, t)


def to_iob2(raw: list[str], where: str, index: dict[str, int], label_map: dict[str, str] | None = None) -> list[int]:
    """Tags of one sentence in IOB2 ids, read with conlleval's rules: a span starts at
    B-, or at I- whose previous tag is not of the same type. index: type name -> k;
    a type not in it is O."""
    out, prev_type = [], ""
    for tag in raw:
        prefix, typ = _split_tag(tag, where)
        typ = type_name(typ, label_map) if typ else ""
        k = index.get(typ)
        if k is None:
            out.append(O)
        elif prefix in ("B", "S") or prev_type != typ:
            out.append(begin(k))
        else:
            out.append(inside(k))
        prev_type = typ if prefix not in ("E", "S") else ""
    return out


def to_person_iob2(raw: list[str], where: str) -> list[int]:
    """Person tags of one sentence in IOB2 (0 O, 1 B-PER, 2 I-PER)."""
    return to_iob2(raw, where, {PER: 0})


def order_types(found) -> tuple[str, ...]:
    """Every type found, PER first (so a person model's tags keep their ids), then alphabetical."""
    found = set(found)
    return ((PER,) if PER in found else ()) + tuple(sorted(found - {PER}))


def open_file(path: Path, binary: bool = False):
    """The file, open for reading UTF-8 text (or bytes); DataError naming it when it cannot be."""
    try:
        return open(path, "rb") if binary else open(path, encoding="utf-8")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None


def read_conll(path: str | Path, types: tuple[str, ...] | None = (PER,),
               label_map: dict[str, str] | None = None) -> Corpus:
    """Read a CoNLL column file, keeping `types` (None: all); raises DataError naming the file and line."""
    path = Path(path)
    corpus, toks, raw, doc, start = Corpus(), [], [], 0, 0
    raws, wheres = [], []

    def flush():
        if toks:
            corpus.sentences.append(list(toks))
            raws.append(list(raw))
            wheres.append(f"{path}:{start}")
            corpus.docs.append(doc)
            toks.clear()
            raw.clear()

    with open_file(path) as fh:
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
    if types is None:
        types = order_types(type_name(t.partition("-")[2], label_map) for r in raws for t in r if t != "O")
    corpus.types = tuple(types)
    index = {t: k for k, t in enumerate(corpus.types)}
    corpus.tags = [to_iob2(r, w, index, label_map) for r, w in zip(raws, wheres)]
    return corpus


def tokens_and_labels(toks, labels) -> bool:
    """Whether a pre-tokenized record checks out: a list of non-blank strings and as many
    labels, each 0 or 1."""
    return (isinstance(toks, list) and isinstance(labels, list) and len(toks) == len(labels)
            and bool(toks) and all(isinstance(t, str) and t.strip() for t in toks)
            and all(lab in (0, 1) and not isinstance(lab, bool) for lab in labels))


def load_json(text: str, path: Path, first_line: int = 1):
    """The JSON value of text, read from path from its line first_line on; DataError
    naming the file and line when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{first_line + e.lineno - 1}: invalid JSON ({e.msg})") from None


def read_jsonl(path: str | Path) -> Corpus:
    """Read {"tokens": [...], "labels": [0/1, ...]} lines; each line is a document."""
    path = Path(path)
    corpus = Corpus()
    with open_file(path) as fh:
        try:
            lines = list(fh)
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            obj = load_json(line, path, first_line=lineno)
            toks, labels = (obj.get("tokens"), obj.get("labels")) if isinstance(obj, dict) else (None, None)
            if not tokens_and_labels(toks, labels):
                raise DataError(f"{where}: expected {{\"tokens\": [non-empty strings], "
                                f"\"labels\": [0 or 1, same length]}}")
            corpus.sentences.append(list(toks))
            corpus.tags.append([O if lab == 0 else I if k and labels[k - 1] else B
                                for k, lab in enumerate(labels)])
            corpus.docs.append(lineno)
    return corpus


def read_corpus(path: str | Path, require_person: bool = True, types: tuple[str, ...] | None = (PER,),
                label_map: dict[str, str] | None = None, skipped: list[str] | None = None) -> Corpus:
    """Read by extension (.jsonl -> JSONL, anything else -> CoNLL) and check it is usable:
    not empty, and (require_person) with at least one entity of the types kept.
    skipped: given, JSONL records that do not check out are left out and listed there
    (else the file is refused)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        from .annotations import read
        got = read(path, types, label_map, skip_bad=skipped is not None)
        corpus = got.corpus
        if skipped is not None:
            skipped += got.skipped
    else:
        corpus = read_conll(path, types, label_map)
    if not corpus.sentences:
        raise DataError(f"{path}: no sentences (empty corpus)")
    if require_person and not any(t for tags in corpus.tags for t in tags):
        if corpus.types == (PER,):
            raise DataError(f"{path}: no person labels (expected PER or person tags)")
        raise DataError(f"{path}: no entities of the types {', '.join(corpus.types) or '(none)'}")
    return corpus


def with_types(corpus: Corpus, types: tuple[str, ...]) -> Corpus:
    """The corpus's tags re-numbered over `types` (a type it lacks has no entities;
    one `types` lacks becomes O)."""
    if tuple(types) == corpus.types:
        return corpus
    where = {k: types.index(t) for k, t in enumerate(corpus.types) if t in types}
    def retag(t):
        if t == O or (t - 1) // 2 not in where:
            return O
        k = where[(t - 1) // 2]
        return begin(k) if t % 2 else inside(k)
    return Corpus(corpus.sentences, [[retag(t) for t in tags] for tags in corpus.tags], corpus.docs, tuple(types))
