"""A tiny synthetic corpus a model learns in seconds, and the real train.py run on it."""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from harness import ROOT

_FIRST = ["Anna", "Boris", "Carla", "David", "Elena", "Frank", "Greta", "Hugo"]
_LAST = ["Smith", "Novak", "Rossi", "Lopez", "Weber", "Kowalski", "Dubois", "Tanaka"]
_VERBS = ["met", "called", "thanked", "visited"]


def tiny_conll(path: Path, n: int = 60, seed: int = 0) -> Path:
    """A synthetic CoNLL file: "<First> <Last> <verb> <First> <Last> ." sentences (IOB1,
    with B-PER where two names touch), so that a small model can learn it exactly."""
    rng = random.Random(seed)
    lines = ["-DOCSTART- -X- O O", ""]
    for _ in range(n):
        a, b = (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}".split() for _ in range(2))
        lines += [f"{a[0]} NNP I-NP I-PER", f"{a[1]} NNP I-NP I-PER", f"{rng.choice(_VERBS)} VBD I-VP O",
                  "the DT I-NP O", "man NN I-NP O", f"{b[0]} NNP I-NP I-PER", f"{b[1]} NNP I-NP I-PER",
                  ". . O O", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_tiny(out: Path, corpus: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real train.py on a tiny corpus (no name lists, small model)."""
    cmd = [sys.executable, str(ROOT / "train.py"), "--train", str(corpus), "--dev", str(corpus),
           "--out", str(out), "--names-dir", "none", "--n-a", "8", "--epochs", "3",
           "--min-feature", "1", "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
