"""A broken artifact is refused at start-up: one line on stderr naming it and
why, a non-zero exit, and /readyz never answers 200 on the way.

(The loader's own refusals are in test_artifact.py; here it is the service
under gunicorn, and in-process through create_app.)
"""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from model import network
from model.artifact import save
from model.features import FeatureTables
from service import create_app
from http_load import request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def good_artifact(tmp_path_factory) -> Path:
    """A small valid artifact (random weights): starts in well under a second."""
    tables = FeatureTables({"word=<unk>": 1, "shape=Xx": 2, "doc=no": 3}, {"ANNA": 4}, {"SMITH": 1})
    cfg = network.Config(n_x=tables.n_x, n_a=6, head="softmax", bidirectional=True)
    params = network.init_params(cfg, np.random.default_rng(0))
    return save(tmp_path_factory.mktemp("good") / "art", params, cfg, tables, {"name": "good"})


class Pwned:
    """Unpickling this would create the marker file: proof a loader ran pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def write_weights(d: Path, arrays: dict, allow_pickle: bool = False) -> None:
    """Replace weights.npz and update its checksum, so that the later checks are reached."""
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=allow_pickle, **arrays)
    data = buf.getvalue()
    (d / "weights.npz").write_bytes(data)
    edit_meta(d, weights_sha256=hashlib.sha256(data).hexdigest())


def edit_meta(d: Path, **changes) -> None:
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps({**meta, **changes}))


def params(d: Path) -> dict:
    with np.load(d / "weights.npz") as z:
        return {k: z[k] for k in z.files}


def flip_byte(d: Path) -> None:
    data = bytearray((d / "weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (d / "weights.npz").write_bytes(bytes(data))


BREAKAGES = {
    # name: (how to break a copy of a good artifact, what the one-line reason says)
    "missing directory": (lambda d, m: shutil.rmtree(d), "no such artifact directory"),
    "missing weights": (lambda d, m: (d / "weights.npz").unlink(), "missing weights.npz"),
    "missing meta": (lambda d, m: (d / "meta.json").unlink(), "missing meta.json"),
    "truncated weights": (lambda d, m: (d / "weights.npz").write_bytes((d / "weights.npz").read_bytes()[:500]),
                          "checksum mismatch"),
    "truncated meta": (lambda d, m: (d / "meta.json").write_bytes((d / "meta.json").read_bytes()[:200]),
                       "not valid JSON"),
    "checksum mismatch": (lambda d, m: flip_byte(d), "checksum mismatch"),
    "wrong version": (lambda d, m: edit_meta(d, format_version=2), "format version 2"),
    "wrong shape": (lambda d, m: write_weights(d, dict(params(d), W_aa=np.zeros((6, 7), np.float32))),
                    "W_aa has shape (6, 7)"),
    "pickle-bearing": (lambda d, m: write_weights(d, dict(params(d), W_aa=np.array([Pwned(m)], dtype=object)),
                                                  allow_pickle=True), "pickled (object) data"),
}


@pytest.fixture(params=list(BREAKAGES))
def broken(request, good_artifact, tmp_path):
    """(a broken copy of the good artifact, its expected reason, a marker file pickle would create)."""
    d, marker = tmp_path / "broken", tmp_path / "pwned"
    shutil.copytree(good_artifact, d)
    breakage, reason = BREAKAGES[request.param]
    breakage(d, marker)
    return d, reason, marker


def one_line_reason(stderr: str, art: Path, reason: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("nametag: cannot load artifact"), lines[0]
    assert str(art) in lines[0] and reason in lines[0], lines[0]
    assert "Traceback" not in stderr


def test_refused_by_create_app(broken, capsys):
    art, reason, marker = broken
    with pytest.raises(SystemExit) as exc:
        create_app({"TESTING": True, "ARTIFACT": str(art)})
    assert exc.value.code not in (0, None)
    one_line_reason(capsys.readouterr().err, art, reason)
    assert not marker.exists()


def watch_readyz(server, timeout: float = 30) -> list[int]:
    """Poll /readyz until the server process exits; every status seen."""
    seen, deadline = [], time.monotonic() + timeout
    while server.proc.poll() is None and time.monotonic() < deadline:
        try:
            seen.append(request(server.port, "GET", "/readyz", timeout=0.5)[0])
        except (OSError, http.client.HTTPException):
            time.sleep(0.02)  # nothing listening (the model is loaded before the socket is bound)
    return seen


def test_refused_by_gunicorn(broken, start_gunicorn):
    art, reason, marker = broken
    server = start_gunicorn({"NAMETAG_ARTIFACT": str(art)})
    seen = watch_readyz(server)
    assert server.proc.wait(5) not in (0, None)
    assert 200 not in seen, seen
    one_line_reason(server.stderr(), art, reason)
    assert not marker.exists()


@pytest.mark.parametrize("broken", ["missing directory", "checksum mismatch", "pickle-bearing"], indirect=True)
def test_refused_without_preload(broken, start_gunicorn, tmp_path):
    """With preload_app off the workers load the model: the first one to fail stops gunicorn."""
    art, reason, marker = broken
    conf = tmp_path / "no_preload.conf.py"
    conf.write_text(f"exec(open({str(Path('service/gunicorn.conf.py').resolve())!r}).read())\n"
                    "preload_app = False\n")
    server = start_gunicorn({"NAMETAG_ARTIFACT": str(art), "GUNICORN_CMD_ARGS": f"-c {conf}"})
    seen = watch_readyz(server)
    assert server.proc.wait(5) not in (0, None)
    assert 200 not in seen, seen
    line = next(x for x in server.stderr().splitlines() if x.startswith("nametag: cannot load artifact"))
    assert str(art) in line and reason in line, line
    assert not marker.exists()


def test_the_good_artifact_does_get_ready(good_artifact, start_gunicorn):
    """The control: the same harness does see a ready server, so the tests above can fail."""
    server = start_gunicorn({"NAMETAG_ARTIFACT": str(good_artifact)})
    server.wait_ready()
    assert server.stop() == 0
