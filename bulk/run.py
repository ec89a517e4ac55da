"""Where blocks come from and where they are tagged: in this process, or on a
Dask cluster with the results taken back in input order.

Files (local paths or fsspec URLs) are cut into byte-range blocks by
``dask.bag.read_text(..., blocksize=...)`` in every mode, so every mode tags the
same blocks. Standard input, which has no size to cut, is read in blocks of
about the same size, in this process only.
"""
from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import NamedTuple

import dask
import dask.bag
import fsspec

from .formats import DOCSTART, INPUT_FORMATS, format_of
from .tagging import Options, Part, tag_block

DEFAULT_BLOCKSIZE = 1 << 20  # 1 MiB: enough blocks to keep every worker busy on a few MB


class InputError(ValueError):
    """An input that cannot be read; the message names it."""


class Source(NamedTuple):
    path: str  # as given, or a file found in a given directory; "-" is standard input
    in_format: str
    size: int | None  # bytes; None for standard input


def sources(inputs: list[str], input_format: str | None) -> list[Source]:
    """The files to read, in order: a directory stands for its files with a known
    extension (sorted, recursively)."""
    out = []
    for path in inputs:
        if path == "-":
            out.append(Source("-", input_format or "txt", None))
            continue
        fs, p = fsspec.core.url_to_fs(path)
        if fs.isdir(p):
            found = [f for f in sorted(fs.find(p)) if f.endswith(tuple(INPUT_FORMATS))]
            if not found:
                raise InputError(f"{path}: no .jsonl, .txt or .conll files in this directory")
            out.extend(Source(fs.unstrip_protocol(f) if "://" in path else f,
                              format_of(f, input_format, INPUT_FORMATS, "input"), fs.size(f)) for f in found)
        elif fs.exists(p):
            out.append(Source(path, format_of(path, input_format, INPUT_FORMATS, "input"), fs.size(p)))
        else:
            raise InputError(f"{path}: no such file or directory")
    return out


def blocks(src: Source, blocksize: int) -> list:
    """The file's blocks as Dask delayed values, each a list of text pieces."""
    if not src.size:
        return []
    return dask.bag.read_text(src.path, blocksize=blocksize, encoding="utf-8", errors="surrogateescape",
                              linedelimiter=DOCSTART if src.in_format == "conll" else "\n",
                              collection=False)


def stdin_blocks(blocksize: int, conll: bool) -> Iterator[str]:
    """Blocks of standard input of about blocksize bytes, cut between lines (CoNLL:
    before a -DOCSTART- line, so a document stays in one block)."""
    buf, n = [], 0
    for line in sys.stdin.buffer:
        if n >= blocksize and (not conll or line.startswith(DOCSTART.encode())):
            yield b"".join(buf).decode("utf-8", "surrogateescape")
            buf, n = [], 0
        buf.append(line)
        n += len(line)
    if buf:
        yield b"".join(buf).decode("utf-8", "surrogateescape")


def run_local(srcs: list[Source], opts: Options, blocksize: int,
              progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[Source, Part]]:
    """Tag every block in this process, in order."""
    for src in srcs:
        o = opts._replace(in_format=src.in_format)
        if src.path == "-":
            for text in stdin_blocks(blocksize, src.in_format == "conll"):
                yield src, tag_block([text], o, True, progress)
            continue
        for i, block in enumerate(blocks(src, blocksize)):
            yield src, tag_block(block.compute(scheduler="sync"), o, i == 0, progress)


def run_cluster(client, srcs: list[Source], opts: Options, blocksize: int,
                window: int) -> Iterator[tuple[Source, Part]]:
    """Tag every block on the cluster, at most `window` blocks in flight, and
    yield the results in input order. A lost worker's blocks are re-run by Dask."""
    if any(s.path == "-" for s in srcs):
        raise InputError("-: standard input is read in one process only (drop --workers/--scheduler)")
    tasks = ((src, dask.delayed(tag_block, pure=True)(block, opts._replace(in_format=src.in_format), i == 0))
             for src in srcs for i, block in enumerate(blocks(src, blocksize)))
    pending: deque = deque()
    for src, task in tasks:
        pending.append((src, client.compute(task)))
        if len(pending) >= window:
            yield _take(pending)
    while pending:
        yield _take(pending)


def _take(pending: deque) -> tuple[Source, Part]:
    src, future = pending.popleft()
    part = future.result()
    future.release()
    return src, part
