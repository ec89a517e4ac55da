"""Tag one block of input text: the unit of work of every mode (one process,
a LocalCluster, a remote Dask cluster).

A block is what ``dask.bag.read_text(..., blocksize=...)`` makes of a byte range
of a file: whole lines (JSONL, text), or whole documents for CoNLL, cut after a
``-DOCSTART-`` marker. Inside a block, records are tagged in chunks of about
CHUNK_TOKENS tokens, so the network sees large batches while memory stays
bounded. The chunks depend only on the block's text, which is what makes the
output of every mode byte-identical: the same blocks, the same batches.

The model is loaded once per process (``tagger``), by its path: a task carries
the path, never the weights.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import NamedTuple

from model.artifact import DEFAULT_ARTIFACT, load
from model.tagger import Tagged, Tagger
from model.redact import Operator
from model.restore import Sealer

from .formats import DOCSTART, PARSERS, RENDERERS, Bad, Doc, Lists, dumps, redacted_record
CHUNK_TOKENS = 16384  # tokens per Tagger call: big batches, bounded memory

_taggers: dict[str, Tagger] = {}
_lock = threading.Lock()


def tagger(artifact: str) -> Tagger:
    """This process's Tagger for an artifact path, loaded on first use."""
    with _lock:
        if artifact not in _taggers:
            _taggers[artifact] = Tagger(load(artifact))
        return _taggers[artifact]


def warm(artifact: str) -> None:
    """Load the model now (Client.run on every worker at start-up)."""
    tagger(artifact)


class Options(NamedTuple):
    """What to do with every block; small and picklable (it travels with each task)."""
    in_format: str
    out_format: str
    artifact: str = str(DEFAULT_ARTIFACT)
    text_key: str = "text"
    tokens: bool = False
    redact: Operator | None = None  # JSONL out, the text redacted instead of entities added
    lists: Lists = Lists()  # --allow and --deny, for entities and redaction alike
    sealer: Sealer | None = None  # --restorable: each redacted record gets its restore token
    entities: tuple[str, ...] | None = None  # --entities: the types to report or redact; None: all


class Part(NamedTuple):
    """The result of one block: its output bytes and its counts."""
    data: bytes
    n_lines: int  # input lines in the block, to number the lines of the next
    n_bytes: int  # input bytes in the block
    records: int
    tokens: int
    names: int
    bad: list[Bad]


def block_text(text: str, in_format: str, first: bool) -> str:
    """The text to parse from a block's text. A CoNLL block (cut after each
    -DOCSTART-) starts just after a marker unless it is the file's first, and
    ends with the next document's marker: move the marker back where it belongs."""
    if in_format != "conll":
        return text
    if not first:
        text = DOCSTART + text
    return text.removesuffix(DOCSTART)


def tag_docs(tag: Tagger, docs: list[Doc]) -> list[Tagged]:
    """Tag records, each with its own sentences, as the service tags a batch."""
    return tag.tag_documents([d.words for d in docs], bounds=[d.sentences for d in docs])


def chunks(items: Iterable[Doc | Bad], size: int = CHUNK_TOKENS) -> Iterable[list[Doc | Bad]]:
    """Consecutive runs of items holding at least `size` tokens (the last: what is left)."""
    chunk, n = [], 0
    for item in items:
        chunk.append(item)
        n += len(item.words) if isinstance(item, Doc) else 0
        if n >= size:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


def tag_block(pieces: Iterable[str], opts: Options, first: bool = True,
              progress: Callable[[int, int], None] | None = None) -> Part:
    """Parse, tag and render one block; progress(records, tokens) after each chunk."""
    raw = "".join(pieces)
    text = block_text(raw, opts.in_format, first)
    tag, render = tagger(opts.artifact), RENDERERS[opts.out_format]
    out, bad, records, tokens, names = [], [], 0, 0, 0
    for chunk in chunks(PARSERS[opts.in_format](text, opts.text_key)):
        docs = [d for d in chunk if isinstance(d, Doc)]
        bad.extend(b for b in chunk if isinstance(b, Bad))
        n_tok = sum(len(d.words) for d in docs)
        for doc, tagged in zip(docs, tag_docs(tag, docs)):
            if opts.redact is None:
                text, n = render(doc, tagged, opts.tokens, opts.lists, opts.entities)
                out.append(text)
                names += n
            else:
                record, n = redacted_record(doc, tagged, opts.redact, opts.lists, opts.text_key, opts.sealer,
                                            opts.entities)
                out.append(dumps(record) + "\n")
                names += n
        records, tokens = records + len(docs), tokens + n_tok
        if progress:
            progress(len(docs), n_tok)
    n_bytes = len(raw.encode("utf-8", "surrogateescape"))
    return Part("".join(out).encode("utf-8"), raw.count("\n"), n_bytes, records, tokens, names, bad)
