"""Records in, records out: the file formats of ``nametag tag``, as pure functions.

Inputs (the format follows the extension, or ``--input-format``):

    .jsonl   one JSON object per line; the text is under the text key and every
             other key passes through unchanged; blank lines are ignored
    .txt     one document per line (a blank line is an empty document)
    .conll   tokens in the first column, blank lines between sentences,
             ``-DOCSTART-`` lines starting documents; the file's sentences are
             kept, and the sentences of a document share document features

Outputs: JSONL (each record plus ``entities`` as in ``POST /tag``; with
``tokens=True`` also ``tokens`` and ``labels``) or CoNLL (token, space, ``O`` /
``B-PER`` / ``I-PER``; every record a ``-DOCSTART-`` document). Every renderer
takes ``entities``, the types to report (None: all the model's), as ``POST /tag``
does: CoNLL output writes the tags of the other types as ``O``.

A parser reads the text of one block (whole lines, or whole documents for
CoNLL) and yields ``Doc`` for each record and ``Bad`` for each malformed line,
with its line number inside the block.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import NamedTuple

from model.answer import redaction_item, result
from model.names import names
from model.redact import Operator, Pseudonyms, redact
from model.restore import Sealer, extend
from model.tagger import Tagged
from model.tags import O, tags_of, type_index
from model.tokenizer import Token, join_tokens, tokenize
from model.units import unit_bounds

INPUT_FORMATS = {".jsonl": "jsonl", ".txt": "txt", ".conll": "conll"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".conll": "conll"}
DOCSTART = "-DOCSTART-"
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # undecodable bytes, as errors="surrogateescape" reads them


class Doc(NamedTuple):
    """One record to tag.

    record     what the output record starts from (the input object for JSONL)
    text       the text that token offsets refer to
    words      (T_x,) the tokens' texts
    sentences  (start, end) token ranges, one per unit (a sentence or a line, ``model.units``)
    tokens     (T_x,) tokens with their offsets into text; None for CoNLL input,
               whose text is the words joined by spaces (made only for JSONL output)
    header     True if the record is a document of its own in CoNLL output
    """
    record: dict
    text: str
    words: list[str]
    sentences: list[tuple[int, int]]
    tokens: list[Token] | None
    header: bool = True


class Bad(NamedTuple):
    line: int  # 1-based, inside the block
    reason: str


def format_of(path: str, given: str | None, table: dict[str, str], what: str) -> str:
    """The format named by --format, else by the file's extension; ValueError if neither."""
    if given:
        return given
    for ext, fmt in table.items():
        if path.endswith(ext):
            return fmt
    raise ValueError(f"{path}: unknown {what} format (extensions: {', '.join(table)}; "
                     f"or give --{'input-' if what == 'input' else ''}format)")


def text_doc(record: dict, text: str) -> Doc:
    """A record whose text is cut into units as POST /tag cuts it (``model.units``)."""
    tokens = tokenize(text)
    return Doc(record, text, [t.text for t in tokens], unit_bounds(text, tokens), tokens)


def _lines(block: str) -> list[str]:
    lines = block.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def parse_txt(block: str, text_key: str) -> Iterator[Doc | Bad]:
    check = _NOT_UTF8.search(block) is not None
    for n, line in enumerate(_lines(block), 1):
        line = line.removesuffix("\r")
        if check and _NOT_UTF8.search(line):
            yield Bad(n, "not UTF-8")
        else:
            yield text_doc({text_key: line}, line)


def json_object(line: str) -> dict | str:
    """The JSON object one line holds, or why it holds none (for a ``Bad``)."""
    try:
        record = json.loads(line)
    except ValueError as e:
        return f"not valid JSON ({e})"
    return record if isinstance(record, dict) else "not a JSON object"


def parse_jsonl(block: str, text_key: str) -> Iterator[Doc | Bad]:
    check = _NOT_UTF8.search(block) is not None
    for n, line in enumerate(_lines(block), 1):
        if not line.strip():
            continue
        record = "not UTF-8" if check and _NOT_UTF8.search(line) else json_object(line)
        if isinstance(record, str):
            yield Bad(n, record)
        elif text_key not in record:
            yield Bad(n, f"no {text_key!r} key")
        elif not isinstance(record[text_key], str):
            yield Bad(n, f"{text_key!r} is not a string")
        else:
            yield text_doc(record, record[text_key])


def parse_conll(block: str, text_key: str) -> Iterator[Doc | Bad]:
    """Documents of a CoNLL block; sentences before the first -DOCSTART- form a
    document without a header line, as model.data.read_conll counts them."""
    sentences: list[list[str]] = []
    sentence: list[str] = []
    header = False
    check = _NOT_UTF8.search(block) is not None

    def doc() -> Doc:
        words = [w for s in sentences for w in s]
        bounds, start = [], 0
        for s in sentences:
            bounds.append((start, start + len(s)))
            start += len(s)
        text = " ".join(words)
        return Doc({text_key: text}, text, words, bounds, None, header)

    for n, line in enumerate(_lines(block), 1):
        cols = line.split()
        if check and _NOT_UTF8.search(line):
            yield Bad(n, "not UTF-8")
        elif not cols or cols[0] == DOCSTART:
            if sentence:
                sentences.append(sentence)
                sentence = []
            if cols:
                if sentences or header:
                    yield doc()
                sentences, header = [], True
        else:
            sentence.append(cols[0])
    if sentence:
        sentences.append(sentence)
    if sentences or header:
        yield doc()


PARSERS = {"jsonl": parse_jsonl, "txt": parse_txt, "conll": parse_conll}


def dumps(record: dict) -> str:
    """One JSON line; a text holding lone surrogates (from \\ud800-style escapes in the
    input) keeps them as escapes, since they cannot be written as UTF-8."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line


class Lists(NamedTuple):
    """--allow and --deny: names never reported and names always reported (as whole
    words), as the allow_list and deny_list of POST /tag and POST /redact."""
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


def tagged_record(doc: Doc, tagged: Tagged, tokens: bool, lists: Lists = Lists(), entities=None) -> dict:
    """The record plus ``entities`` (and ``tokens``, ``labels``), as POST /tag answers;
    entities: the types to report (None: all)."""
    offsets = doc.tokens if doc.tokens is not None else join_tokens(doc.words)[1]
    found = names(doc.text, offsets, tagged, lists.allow, lists.deny, entities=entities)
    res = result(doc.text, offsets, tagged, found)
    out = dict(doc.record, entities=res["entities"])
    if tokens:
        out.update(tokens=res["tokens"], labels=res["labels"])
    return out


def render_jsonl(doc: Doc, tagged: Tagged, tokens: bool, lists: Lists = Lists(),
                 entities=None) -> tuple[str, int]:
    """The record's line and the number of names it reports."""
    record = tagged_record(doc, tagged, tokens, lists, entities)
    return dumps(record) + "\n", len(record["entities"])


def redacted_record(doc: Doc, tagged: Tagged, operator: Operator, lists: Lists, text_key: str,
                    sealer: Sealer | None = None, entities=None) -> tuple[dict, int]:
    """The record with its text redacted as POST /redact does it (``redactions``: one item
    per name replaced, code-point offsets into the input and the output text); pseudonyms
    are numbered per record. With a sealer (pseudonym operator), also the record's
    ``restore_token``, as POST /redact with restorable. Also the number of names replaced.
    entities: the types to take out (None: all)."""
    offsets = doc.tokens if doc.tokens is not None else join_tokens(doc.words)[1]
    spans = names(doc.text, offsets, tagged, lists.allow, lists.deny, mentions=True, entities=entities)
    ps = Pseudonyms()
    red = redact(doc.text, spans, operator, ps)
    items = [redaction_item(i) for i in red.items]
    record = dict(doc.record, **{text_key: red.text}, redactions=items)
    if sealer is not None:
        record["restore_token"] = sealer.seal(extend(None, ps, [(doc.text, red)]))
    return record, len(items)


def conll_tags(tagged: Tagged, entities=None) -> tuple[list[str], int]:
    """The tag of each token, a type not in entities (None: all) written O, and the number
    of entities left. Writing a type's tags O leaves every other entity as it was (an
    entity starts at its B-, or at an I- that does not continue one of its type)."""
    by_id = tags_of(tagged.types)
    keep = [entities is None or t in entities for t in tagged.types]
    tags = [by_id[t] if t == O or keep[type_index(t)] else by_id[O] for t in tagged.tags]
    return tags, sum(keep[k] for _, _, k in tagged.typed_spans)


def render_conll(doc: Doc, tagged: Tagged, tokens: bool, lists: Lists = Lists(),
                 entities=None) -> tuple[str, int]:
    """The model's tags (of the types in entities; the others O), one token a line, and the
    number of names they hold (the CLI refuses --allow/--deny for CoNLL output). These are
    the network's tags, as ``python -m model.evaluate`` scores them: a title the network
    tagged stays tagged."""
    parts = [f"{DOCSTART} O\n\n"] if doc.header else []
    tags, n = conll_tags(tagged, entities)
    for s, e in doc.sentences:
        parts.extend(f"{doc.words[i]} {tags[i]}\n" for i in range(s, e))
        parts.append("\n")
    return "".join(parts), n


RENDERERS = {"jsonl": render_jsonl, "conll": render_conll}
