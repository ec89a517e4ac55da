"""Inputs for the bulk tests, made from the shared corpora, and a way to run the command."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from model.data import read_conll
from harness import DATA, ROOT

NAMETAG = str(Path(sys.executable).parent / "nametag")
CONLL_TEST = DATA / "conll2003" / "test.conll"
WNUT_TEST = DATA / "wnut17" / "test.conll"


def texts(n: int | None = None) -> list[str]:
    """Real texts: CoNLL-2003 test sentences, then WNUT-17 test posts, tokens joined by spaces."""
    out = [" ".join(s) for f in (CONLL_TEST, WNUT_TEST) for s in read_conll(f).sentences]
    return out if n is None else (out * (n // len(out) + 1))[:n]


def write_jsonl(path: Path, items: list[str], extra: list[str] = ()) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in enumerate(items):
            fh.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
        fh.writelines(line + "\n" for line in extra)
    return path


def nametag(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run the installed command; it must end within timeout seconds."""
    return subprocess.run([NAMETAG, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def wait_writing(proc: subprocess.Popen, folder: Path, timeout: float) -> None:
    """Wait until the run writes into its hidden temporary output file in folder (the
    run must not exit before)."""
    deadline = time.monotonic() + timeout
    while not any(p.stat().st_size for p in folder.glob(".out.jsonl.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline, "never started writing"
        time.sleep(0.05)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
