"""SIGKILL train.py at several moments: the output path always holds either the
previous artifact, byte for byte, or the complete new one; never a partial one.

The run writes its artifact once, at the end, through ``artifact.save``
(temp directory beside the output, fsync, atomic swap). Each kill lands at an event
the trainer itself reports: it runs under a small wrapper (``FREEZE``) that watches
one call (opening the corpus, creating the temp directory, fsync of weights.npz,
chmod of the finished temp directory, removing the previous artifact), writes
``frozen: <moment>`` on stderr there and stops itself (SIGSTOP); the test reads
that line, sees the process stopped in /proc, and kills it. Nothing is slowed, and
no kill depends on how fast the machine is. The kill during an epoch waits for the
trainer's own "epoch 1:" line.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import until

from model.artifact import load
from harness import ROOT
from tiny_model import tiny_conll, train_tiny

pytestmark = pytest.mark.slow

FLAGS = ("--epochs", "2", "--name", "kill-test")  # the name defaults to the output directory's
FREEZE = """
import builtins, os, runpy, shutil, signal, sys, tempfile
moment, out = sys.argv[1], os.path.basename(sys.argv[sys.argv.index("--out") + 1])
sys.argv = sys.argv[2:]
mine = lambda path: os.path.basename(os.fspath(path)).startswith((f".{out}.tmp-", f".{out}.old-"))

def freeze():
    sys.stderr.write(f"frozen: {moment}\\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSTOP)  # until the test kills it

def at(owner, name, when, before=False):
    real = getattr(owner, name)
    def call(*a, **k):
        if before and when(*a, **k):
            freeze()
        out = real(*a, **k)
        if not before and when(*a, **k):
            freeze()
        return out
    setattr(owner, name, call)

if moment == "reading the data":
    at(builtins, "open", lambda f, *a, **k: str(f).endswith(".conll"))
elif moment == "temp directory created":
    at(tempfile, "mkdtemp", lambda *a, prefix="", **k: prefix.startswith(f".{out}.tmp-"))
elif moment == "weights.npz written":
    at(os, "fsync", lambda fd: os.readlink(f"/proc/self/fd/{fd}").endswith("/weights.npz"))
elif moment == "every file written, before the swap":
    at(os, "chmod", lambda path, *a, **k: mine(path))
elif moment == "swapped, previous being removed":
    at(shutil, "rmtree", lambda path, *a, **k: mine(path), before=True)
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def snapshot(d: Path) -> dict[str, str] | None:
    """sha256 of every file in d (None if d does not exist)."""
    if not d.exists():
        return None
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


@dataclass
class Runs:
    corpus: Path  # what the killed runs train on
    previous: Path  # the artifact at the output path before they start (trained on other data)
    complete: Path  # what an uninterrupted run writes (training is deterministic)


def reference_runs(base: Path, n: int) -> Runs:
    corpus = tiny_conll(base / f"c{n}.conll", n=n)
    complete = base / f"complete{n}"
    assert train_tiny(complete, corpus, *FLAGS).returncode == 0
    assert snapshot(complete) != snapshot(base / "previous")
    return Runs(corpus, base / "previous", complete)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    base = tmp_path_factory.mktemp("train")
    assert train_tiny(base / "previous", tiny_conll(base / "c60.conll", n=60), "--epochs", "1").returncode == 0
    return base


@pytest.fixture(scope="module")
def runs(base):
    """Epochs of about a second, for the kills during training."""
    return reference_runs(base, 3000)


@pytest.fixture(scope="module")
def quick_runs(base):
    """A short run, for the kills while the artifact is written."""
    return reference_runs(base, 300)


def start(out: Path, corpus: Path, freeze_at: str | None = None) -> subprocess.Popen:
    """train.py with train_tiny's flags, as a process we can kill; with freeze_at, it
    stops itself at that moment (see FREEZE)."""
    cmd = [str(ROOT / "train.py"), "--train", str(corpus), "--dev", str(corpus), "--out", str(out),
           "--names-dir", "none", "--n-a", "8", "--epochs", "3", "--min-feature", "1", "--no-progress",
           *FLAGS]
    prefix = [sys.executable, "-c", FREEZE, freeze_at] if freeze_at else [sys.executable]
    return subprocess.Popen([*prefix, *cmd], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def temp_dirs(out: Path) -> list[Path]:
    prefix = f".{out.name}.tmp-"
    return [out.parent / n for n in os.listdir(out.parent) if n.startswith(prefix)]


def stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def wait_frozen(proc: subprocess.Popen, moment: str) -> None:
    """Until train.py says it stopped at `moment` (its stderr) and /proc shows it stopped."""
    for line in proc.stderr:
        if line.strip() == f"frozen: {moment}":
            until(lambda: stopped(proc.pid), f"train.py stopped at {moment}")
            return
    pytest.fail(f"train.py ended (exit {proc.wait()}) without reaching: {moment}")


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def assert_previous_or_complete(out: Path, runs: Runs) -> str:
    snap = snapshot(out)
    assert snap in (snapshot(runs.previous), snapshot(runs.complete)), f"partial artifact at {out}: {snap}"
    load(out)  # and it loads
    return "previous" if snap == snapshot(runs.previous) else "complete"


@pytest.fixture
def out(base, tmp_path):
    """The output path, holding a copy of the previous artifact."""
    shutil.copytree(base / "previous", tmp_path / "model")
    return tmp_path / "model"


def test_killed_while_reading_data(runs, out):
    proc = start(out, runs.corpus, "reading the data")
    try:
        wait_frozen(proc, "reading the data")
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL
    assert assert_previous_or_complete(out, runs) == "previous"
    assert not temp_dirs(out)


def test_killed_during_an_epoch(runs, out):
    proc = start(out, runs.corpus)
    try:
        for line in proc.stderr:  # "epoch 1: ..." is printed when epoch 2 starts
            if line.startswith("epoch 1:"):
                break
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL, "train.py ended before epoch 2"
    assert assert_previous_or_complete(out, runs) == "previous"
    assert not temp_dirs(out)


@pytest.mark.parametrize("moment, expected", [
    ("temp directory created", "previous"),
    ("weights.npz written", "previous"),
    ("every file written, before the swap", "previous"),
    ("swapped, previous being removed", "complete"),
])
def test_killed_as_the_artifact_is_being_written(quick_runs, out, moment, expected):
    proc = start(out, quick_runs.corpus, moment)
    try:
        wait_frozen(proc, moment)
        if moment != "swapped, previous being removed":
            assert temp_dirs(out)  # the moment is inside the write: its temp directory is there
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL
    assert assert_previous_or_complete(out, quick_runs) == expected
    if expected == "previous":
        # a hidden temp directory is left beside the output; the next run is not disturbed by it
        assert temp_dirs(out)
        proc = start(out, quick_runs.corpus)
        proc.communicate(timeout=120)
        assert proc.returncode == 0
        assert assert_previous_or_complete(out, quick_runs) == "complete"
