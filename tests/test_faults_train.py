"""SIGKILL train.py at several moments: the output path always holds either the
previous artifact, byte for byte, or the complete new one; never a partial one.

The run writes its artifact once, at the end, through ``artifact.save``
(temp directory beside the output, fsync, atomic swap). Kill points: while it
reads the data, during an epoch, as soon as the temp directory appears (the
real, unslowed run), and on a slowed disk (``os.fsync`` and ``shutil.rmtree``
made to sleep before doing their real work) with the temp directory holding
only weights.npz, holding every file just before the swap, and right after the
swap while the previous artifact is being removed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.artifact import load
from harness import ROOT
from tiny_model import tiny_conll, train_tiny

pytestmark = pytest.mark.slow

FLAGS = ("--epochs", "2", "--name", "kill-test")  # the name defaults to the output directory's
SLOW_DISK = """
import os, runpy, shutil, sys, time
fsync, rmtree = os.fsync, shutil.rmtree
os.fsync = lambda fd: (time.sleep(0.5), fsync(fd))[1]
shutil.rmtree = lambda *a, **k: (time.sleep(0.5), rmtree(*a, **k))[1]
sys.argv = sys.argv[1:]
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


def start(out: Path, corpus: Path, slow_disk: bool = False) -> subprocess.Popen:
    """train.py with train_tiny's flags, as a process we can kill."""
    cmd = [str(ROOT / "train.py"), "--train", str(corpus), "--dev", str(corpus), "--out", str(out),
           "--names-dir", "none", "--n-a", "8", "--epochs", "3", "--min-feature", "1", "--no-progress",
           *FLAGS]
    prefix = [sys.executable, "-c", SLOW_DISK] if slow_disk else [sys.executable]
    return subprocess.Popen([*prefix, *cmd], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def temp_dirs(out: Path) -> list[Path]:
    prefix = f".{out.name}.tmp-"
    return [out.parent / n for n in os.listdir(out.parent) if n.startswith(prefix)]


def wait_for(proc: subprocess.Popen, condition, timeout: float = 60) -> bool:
    """Busy-poll condition() until it holds (True) or proc ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return True
    return False


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
    proc = start(out, runs.corpus)
    time.sleep(0.3)
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


def test_killed_as_the_artifact_is_being_written(quick_runs, out):
    """The real run: SIGKILL the moment the temp directory appears (a window of a few ms)."""
    runs = quick_runs
    for _ in range(8):  # the poll can miss the window on a busy machine; it must catch it once
        proc = start(out, runs.corpus)
        caught = wait_for(proc, lambda: temp_dirs(out))
        kill(proc)
        assert_previous_or_complete(out, runs)
        if caught:
            break
        shutil.rmtree(out)
        shutil.copytree(runs.previous, out)
    assert caught, "never caught train.py while it wrote the artifact"
    assert proc.returncode == -signal.SIGKILL
    assert assert_previous_or_complete(out, runs) == "previous"


def weights_only(out):
    return lambda: any((d / "weights.npz").exists() and not (d / "meta.json").exists() for d in temp_dirs(out))


def every_file(out):
    return lambda: any((d / "learning_curve.png").exists() for d in temp_dirs(out))


def swapped(out, runs):
    complete = snapshot(runs.complete)
    return lambda: temp_dirs(out) and snapshot(out) == complete


@pytest.mark.parametrize("moment, expected", [
    ("weights.npz written", "previous"),
    ("every file written, before the swap", "previous"),
    ("swapped, previous being removed", "complete"),
])
def test_killed_on_a_slow_disk(quick_runs, out, moment, expected):
    condition = {"weights.npz written": weights_only(out),
                 "every file written, before the swap": every_file(out),
                 "swapped, previous being removed": swapped(out, quick_runs)}[moment]
    proc = start(out, quick_runs.corpus, slow_disk=True)
    try:
        assert wait_for(proc, condition), f"train.py never reached: {moment}"
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
