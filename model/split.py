"""Split a CoNLL file in two, whole documents each side, seeded:
``python -m model.split FILE --out DIR [--share 0.5] [--seed 0]``.

Writes DIR/<stem>-a<suffix> (the seeded share of the documents, for training) and
DIR/<stem>-b<suffix> (the rest: to choose the epoch and fit the calibration on),
each atomically. A document is what a ``-DOCSTART-`` line opens; a file without
them (WNUT-17) has one document per sentence. The documents keep their order and
their bytes (sentences are written back as read, a blank line after each), so the
same file, share and seed give the same two files on any machine.

``artifacts/conll4`` trains on CoNLL-2003 train plus half A of its dev file and
stops and calibrates on half B (``make train-conll4``). ``locate`` finds a data file a model
records by name ("wnut17/dev-a.conll"): in the shared data folder, or, for a half,
under ``build/``, making it there first when it is not there yet.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from .artifact import write_atomic

DOCSTART = "-DOCSTART-"
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"  # the shared corpora and name lists
BUILD = Path(__file__).resolve().parent.parent / "build"  # where make writes the halves
SHARE, SEED = 0.5, 0  # the halves every recipe trains on


def documents(text: str) -> list[list[str]]:
    """The file's documents, each a list of its blocks (sentences, and the -DOCSTART-
    line that opens it): blocks are what blank lines separate."""
    blocks = [b.strip("\n") for b in text.replace("\r\n", "\n").split("\n\n")]
    blocks = [b for b in blocks if b.strip()]
    opens = [b.split(maxsplit=1)[0] == DOCSTART for b in blocks]
    if not any(opens):
        return [[b] for b in blocks]
    docs: list[list[str]] = []
    for b, o in zip(blocks, opens):
        if o or not docs:
            docs.append([])
        docs[-1].append(b)
    return docs


def halves(text: str, share: float = 0.5, seed: int = 0) -> tuple[str, str]:
    """(a, b): the text of a seeded `share` of the documents, and of the others, in
    the file's order. ValueError when a side would be empty."""
    docs = documents(text)
    n_a = int(len(docs) * share)
    if not 0 < n_a < len(docs):
        raise ValueError(f"{len(docs)} document(s): too few to split at share {share:g}")
    chosen = set(np.random.default_rng(seed).permutation(len(docs))[:n_a].tolist())
    parts = ([d for i, d in enumerate(docs) if i in chosen], [d for i, d in enumerate(docs) if i not in chosen])
    return tuple("".join(block + "\n\n" for d in part for block in d) for part in parts)


def write_halves(path: Path, out: Path, share: float = SHARE, seed: int = SEED) -> tuple[Path, Path]:
    """Write out/<stem>-a<suffix> and out/<stem>-b<suffix>, each atomically."""
    a, b = halves(path.read_text(encoding="utf-8"), share, seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = tuple(out / f"{path.stem}-{n}{path.suffix}" for n in "ab")
    for dst, part in zip(paths, (a, b)):
        write_atomic(dst, part.encode("utf-8"))
    return paths


def recorded_names(recorded: str) -> list[str]:
    """The data files a model's meta.json names in ``training.train_file`` or ``dev_file``
    ("dev-b.conll", or "conll2003/train.conll + wnut17/train.conll"), each as
    "corpus/file": train.py records a single file by its name alone, a CoNLL-2003 file in
    every shipped recipe."""
    return [n if "/" in n else f"conll2003/{n}" for n in recorded.split(" + ") if n]


def locate(name: str) -> Path:
    """The file a model records as ``name`` ("conll2003/train.conll", "wnut17/dev-b.conll"):
    the shared data folder's, or a half of one of its files (share 0.5, seed 0, as ``make``
    writes them) under build/, written there first if missing. A name that is neither
    comes back as the shared folder's path, for the caller to report missing."""
    shared = DATA / name
    half = re.fullmatch(r"(.+)-[ab](\.[^./]+)", name)
    if shared.is_file() or not half or not (DATA / (half[1] + half[2])).is_file():
        return shared
    built = BUILD / name
    if not built.is_file():
        write_halves(DATA / (half[1] + half[2]), built.parent)
    return built


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.split", description=__doc__.split("\n\n")[0])
    p.add_argument("file", type=Path, help="a CoNLL file")
    p.add_argument("--out", type=Path, required=True, help="the folder to write the two halves to")
    p.add_argument("--share", type=float, default=SHARE, help=f"the share of documents in half a (default {SHARE:g})")
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args(argv)
    if not 0 < args.share < 1:
        p.error("--share must be in (0, 1)")
    try:
        paths = write_halves(args.file, args.out, args.share, args.seed)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        print(f"python -m model.split: {args.file}: {e}", file=sys.stderr)
        return 2
    for dst in paths:
        print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
