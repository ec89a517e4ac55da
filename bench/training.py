"""Training cost: wall time per epoch and to the shipped model's dev F1, for
n_a = 64, 128, 256, each a real ``train.py`` run in its own process.

Times come from when each "epoch N: ..." line reaches us (an epoch includes its
dev evaluation, as in train.py's own log). BLAS runs on one thread, as in the
speed part and the service's workers: with OpenBLAS's default of one thread per
core, an n_a = 256 epoch took anywhere from 34 s to 184 s on this 2-core machine
while other jobs ran (its threads spin waiting for each other), which says more
about the neighbours than about n_a.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from model.split import recorded_names

from harness import DEFAULT_ARTIFACT, ROOT, locate

from .common import PYTHON, BenchError, median, pinned_env

EPOCH = re.compile(r"^epoch (\d+): .* F1 ([0-9.]+)")


def train_run(out: Path, train: list[Path], dev: list[Path], n_a: int, epochs: int, timeout: float,
              extra: tuple[str, ...] = ()) -> dict:
    """One train.py run; the arrival time of every epoch line and of the exit."""
    cmd = [PYTHON, str(ROOT / "train.py"), "--train", *map(str, train), "--dev", *map(str, dev),
           "--out", str(out), "--n-a", str(n_a), "--epochs", str(epochs), "--no-progress", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=pinned_env(1), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    killer = threading.Timer(timeout, proc.kill)  # bounded: a stuck run is killed, then reported
    killer.start()
    epochs_seen, start, lines = [], None, []
    try:
        for line in proc.stderr:
            now = time.perf_counter() - t0
            lines.append(line.rstrip())
            if line.startswith("train:"):
                start = now  # data read, tables built: the epochs start here
            m = EPOCH.match(line)
            if m:
                epochs_seen.append({"epoch": int(m.group(1)), "dev_f1": float(m.group(2)), "t": now})
        rc = proc.wait()
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    total = time.perf_counter() - t0
    timed_out = total >= timeout
    if not epochs_seen or (rc != 0 and not timed_out):
        raise BenchError(f"train.py --n-a {n_a} failed (exit {rc}, {total:.0f} s): " + " | ".join(lines[-3:]))
    ends = [start or 0.0] + [e["t"] for e in epochs_seen]
    per_epoch = [b - a for a, b in zip(ends, ends[1:])]
    return {"n_a": n_a, "epochs": epochs_seen, "setup_s": start, "per_epoch_s": median(per_epoch),
            "total_s": total, "timed_out": timed_out, "weights": out / "weights.npz"}


def _first_lines(src: Path, dst: Path, n_sentences: int) -> Path:
    """The first n sentences of a CoNLL file (for --quick)."""
    out, n = [], 0
    for line in src.read_text(encoding="utf-8").splitlines():
        out.append(line)
        if not line.strip() and out[-2:-1] and out[-2].strip():
            n += 1
            if n >= n_sentences:
                break
    dst.write_text("\n".join(out) + "\n", encoding="utf-8")
    return dst


def shipped_flags(meta: dict) -> tuple[str, ...]:
    """train.py options that reproduce the shipped model, except --n-a and --epochs."""
    training = meta["training"]
    args = []
    for k, v in training["flags"].items():
        if k in ("n_a", "epochs"):
            continue
        opt = "--" + k.replace("_", "-")
        args += [opt if v else "--no-" + opt[2:]] if isinstance(v, bool) else [opt, str(v)]
    if "ema" not in training["flags"]:
        args += ["--ema", "0"]  # the artifact predates weight averaging, which was off then
    args += ["--min-word", str(training["min_word"]), "--min-feature", str(training["min_feature"])]
    if not training.get("names_lists", True):
        args += ["--names-dir", "none"]
    if training.get("synth", {}).get("share"):  # recorded beside the flags, with what it drew
        args += ["--synth-share", str(training["synth"]["share"])]
    if meta.get("calibration", {}).get("every_case"):
        args += ["--calibrate-every-case"]
    return tuple(args)


def data_files(recorded: str) -> list[Path]:
    """The files meta.json names ("train.conll", or "conll2003/train.conll + wnut17/dev-a.conll")."""
    return [locate(n) for n in recorded_names(recorded)]


def run(quick: bool = False, log=print) -> dict:
    shipped = json.loads((DEFAULT_ARTIFACT / "meta.json").read_text())
    target = shipped["metrics"]["dev"]["f1"]
    flags = shipped["training"]["flags"]
    same = shipped_flags(shipped)
    train, dev = data_files(shipped["training"]["train_file"]), data_files(shipped["training"]["dev_file"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="nametag-bench-train-") as tmp:
        tmp = Path(tmp)
        if quick:  # smoke only: a few hundred sentences, no name lists, one epoch
            train, dev = [_first_lines(train[0], tmp / "train.conll", 300)], [_first_lines(dev[0], tmp / "dev.conll", 100)]
            plan = [(16, 1, 120.0, ("--names-dir", "none"))]
        else:  # the shipped flags; 64 and 128 up to the shipped best epoch, 256 for one epoch (slow)
            best = shipped["metrics"]["best_epoch"]
            plan = [(64, best, 150.0, same), (128, best, 240.0, same), (256, 1, 240.0, same)]
        deadline = time.perf_counter() + (90.0 if quick else 420.0)  # the whole part, whatever the load
        for n_a, epochs, timeout, extra in plan:
            log(f"  training n_a={n_a}, up to {epochs} epochs ...")
            timeout = max(30.0, min(timeout, deadline - time.perf_counter()))
            r = train_run(tmp / f"n_a{n_a}", train, dev, n_a, epochs, timeout, extra)
            log(f"    {r['per_epoch_s']:.1f} s per epoch, dev F1 " + ", ".join(f"{e['dev_f1']:.4f}" for e in r["epochs"])
                + (" (stopped at the time limit)" if r["timed_out"] else ""))
            reached = next((e for e in r["epochs"] if e["dev_f1"] >= round(target, 4)), None)  # as logged
            r["reached"] = reached
            weights = r.pop("weights")
            r["same_bytes_as_shipped"] = (not quick and not r["timed_out"] and n_a == shipped["config"]["n_a"]
                                          and weights.exists() and hashlib.sha256(weights.read_bytes()).hexdigest()
                                          == shipped["weights_sha256"])
            rows.append(r)
    from threadpoolctl import threadpool_info

    kernels = {"shipped": [b.get("architecture") for b in shipped["training"].get("blas", [])],
               "here": [b.get("architecture") for b in threadpool_info() if b.get("internal_api") == "openblas"]}
    return {"quick": quick, "target_dev_f1": target, "shipped_epochs": flags["epochs"], "kernels": kernels,
            "train_files": shipped["training"]["train_file"], "dev_files": shipped["training"]["dev_file"],
            "best_epoch": shipped["metrics"].get("best_epoch"), "rows": rows}
