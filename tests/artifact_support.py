"""Damaging an artifact on purpose: new weights.npz content with a checksum that
still matches, so a test reaches the loader's later checks."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np


def write_weights(d: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write weights.npz with these arrays and set meta.json's checksum to match."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (d / "weights.npz").write_bytes(buf.getvalue())
    meta = json.loads((d / "meta.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (d / "meta.json").write_text(json.dumps(meta))


def rewrite_weights(d: Path, mutate) -> None:
    """Change the arrays of weights.npz in place (mutate(arrays)) and fix the checksum."""
    with np.load(d / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    mutate(arrays)
    write_weights(d, arrays)
