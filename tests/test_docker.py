"""The Docker image, built and run for real.

Needs a Docker engine (``../shared/tools/docker-env.sh`` installs and starts one);
when none answers the module is skipped, with the reason, and fails in CI
(``conftest.need``). A build or run failure is a test failure. Containers use the host network (these machines have no
bridge), bind 127.0.0.1 on a free port, and are removed however the test ends.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import need, tool

from harness import ROOT, SEED_LABELS, SEED_TEXT, free_port
from service.config import LIMIT_KEYS, Limits

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BUILD_TIMEOUT = 900  # s; the first build downloads numpy and friends
HEALTHY_TIMEOUT = 60  # s; the image probes /readyz every 5 s
EXIT_HANG = 60  # s; a hang time-out only: past gunicorn's 30 s graceful_timeout, a container that has not exited is stuck
ADDED_MB_MAX = 120  # what the image may add over its base
TINY_NAME = "tiny-docker-test"


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def state(name: str) -> dict:
    return json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)


def logs(name: str) -> str:
    r = docker("logs", name, check=False)
    return r.stdout + r.stderr


def wait_healthy(name: str) -> float:
    """Seconds until docker reports the container healthy; fails early if it exits or turns unhealthy."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < HEALTHY_TIMEOUT:
        st = state(name)
        health = st.get("Health", {}).get("Status")
        if health == "healthy":
            return time.monotonic() - t0
        assert st["Status"] == "running" and health != "unhealthy", \
            f"{name}: {st['Status']}/{health}, exit code {st['ExitCode']}\n{logs(name)}"
        time.sleep(0.25)
    pytest.fail(f"{name}: not healthy after {HEALTHY_TIMEOUT} s\n{logs(name)}")


def wait_exited(name: str, timeout: float) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st = state(name)
        if st["Status"] == "exited":
            return st
        time.sleep(0.1)
    pytest.fail(f"{name}: still {st['Status']} after {timeout} s\n{logs(name)}")


def post_json(port: int, path: str, body: dict) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def image():
    """Build the image once under a unique tag; removed at the end with its build stage.

    The build stage is built first under a tag of its own, so the final build reuses it
    instead of leaving it behind as a dangling <none> image; both tags are removed after."""
    tool("docker", "run ../shared/tools/docker-env.sh to install and start an engine")
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False)
    except subprocess.TimeoutExpired:
        need("a Docker engine", "it did not answer `docker info` within 20 s")
    if info.returncode != 0 or not info.stdout.strip():
        reason = (info.stderr.strip().splitlines() or ["no server version"])[-1]
        need("a Docker engine", f"none reachable ({reason}); run ../shared/tools/docker-env.sh")
    tag = f"nametag-test:{uuid.uuid4().hex[:12]}"
    stage = f"{tag}-build"
    dangling = set(docker("images", "-q", "-f", "dangling=true").stdout.split())
    t0 = time.monotonic()
    try:
        for args in (("--target", "build", "-t", stage), ("-t", tag)):
            r = docker("build", "--network", "host", *args, str(ROOT), timeout=BUILD_TIMEOUT, check=False)
            assert r.returncode == 0, f"docker build failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        print(f"\ndocker build: {time.monotonic() - t0:.1f} s")
        yield tag
    finally:
        docker("rmi", "-f", tag, stage, check=False)
    left = set(docker("images", "-q", "-f", "dangling=true").stdout.split()) - dangling
    assert not left, f"the build left dangling images behind: {sorted(left)}"


@pytest.fixture
def run(image):
    """run(*docker_run_options) starts a detached container of the image on a free
    loopback port and returns (name, port); every container is removed afterwards."""
    names = []

    def start(*options: str) -> tuple[str, int]:
        name, port = f"nametag-test-{uuid.uuid4().hex[:12]}", free_port()
        names.append(name)
        docker("run", "-d", "--name", name, "--network", "host",
               "-e", "HOST=127.0.0.1", "-e", f"PORT={port}", *options, image)
        return name, port

    yield start
    for name in names:
        docker("rm", "-f", name, check=False)


@pytest.fixture(scope="module")
def tiny_artifact(tmp_path_factory) -> Path:
    """A tiny model trained in a second, named TINY_NAME, readable by the image's user."""
    tmp = tmp_path_factory.mktemp("tiny")
    pairs = [("Peter", "Smith"), ("Mary", "Jones"), ("John", "Brown"), ("Anna", "Miller")]
    sentences = [[(first, "I-PER"), (last, "I-PER"), ("visited", "O"), ("the", "O"), (place, "O"), (".", "O")]
                 for first, last in pairs for place in ("museum", "park", "office", "station", "lake")]
    corpus = tmp / "tiny.conll"
    corpus.write_text("\n\n".join("\n".join(f"{w} NNP I-NP {t}" for w, t in s) for s in sentences) + "\n")
    out = tmp / "artifact"
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--train", str(corpus),
                    "--dev", str(corpus), "--out", str(out), "--name", TINY_NAME, "--names-dir", "none",
                    "--n-a", "8", "--epochs", "2", "--no-progress"],
                   check=True, capture_output=True, timeout=120)
    for f in out.iterdir():
        f.chmod(0o644)
    out.chmod(0o755)
    return out


def test_image_is_lean(image):
    """Only the virtualenv, model/, service/ and the default artifact over the base: no
    compilers, tests, .git or training data, no pip in the virtualenv; under ADDED_MB_MAX MB added."""
    facts = docker("run", "--rm", "--network", "none", image, "python", "-c",
                   "import json, os, shutil; print(json.dumps({'app': sorted(os.listdir('/app')),"
                   " 'artifacts': sorted(os.listdir('/app/artifacts')),"
                   " 'tools': [t for t in ('gcc', 'cc', 'make', 'git') if shutil.which(t)],"
                   " 'venv_pip': os.path.exists('/opt/venv/bin/pip')}))").stdout
    assert json.loads(facts) == {"app": ["artifacts", "model", "service"], "artifacts": ["default"],
                                 "tools": [], "venv_pip": False}
    base = docker("image", "inspect", "--format", "{{.Size}}", "python:3.11-slim-bookworm").stdout
    size = docker("image", "inspect", "--format", "{{.Size}}", image).stdout
    added_mb = (int(size) - int(base)) / 1e6
    print(f"\nimage {int(size) / 1e6:.1f} MB, base {int(base) / 1e6:.1f} MB, added {added_mb:.1f} MB")
    assert added_mb < ADDED_MB_MAX


def test_image_env_matches_service_defaults(image):
    """Every limit the service reads from the environment is spelled out in the image,
    with the service's own default."""
    env = dict(e.split("=", 1) for e in json.loads(
        docker("image", "inspect", "--format", "{{json .Config.Env}}", image).stdout))
    defaults = Limits()
    assert {key: int(env.get(f"NAMETAG_{key}", -1)) for key in LIMIT_KEYS} == \
        {key: getattr(defaults, attr) for key, attr in LIMIT_KEYS.items()}
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == env["PYTHONUNBUFFERED"] == "1"


def test_serves_default_model_as_non_root_and_stops_on_sigterm(run):
    t0 = time.monotonic()
    name, port = run()
    wait_healthy(name)
    print(f"\ndocker run -> healthy: {time.monotonic() - t0:.1f} s")

    out = post_json(port, "/tag", {"text": SEED_TEXT})
    assert out["labels"] == SEED_LABELS
    assert [e["text"] for e in out["entities"]] == ["Harry Potter", "Hermione Granger"]
    assert out["model"]["name"] == "nametag-conll03-wnut17-glove"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:  # the web page, package files
        assert "static/page.js" in resp.read().decode() and resp.headers["X-Content-Type-Options"] == "nosniff"
    for asset in ("page.js", "page.css"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{asset}", timeout=10) as resp:
            assert resp.status == 200 and resp.read()

    proc1 = docker("exec", name, "cat", "/proc/1/status", "/proc/1/cmdline").stdout
    uids = next(line.split()[1:] for line in proc1.splitlines() if line.startswith("Uid:"))
    assert "0" not in uids, f"PID 1 runs as uid {uids}"
    assert "gunicorn" in proc1, "gunicorn is not PID 1"

    docker("kill", "--signal", "TERM", name)  # SIGTERM alone: nothing follows with a SIGKILL
    st = wait_exited(name, EXIT_HANG)
    assert st["ExitCode"] == 0 and not st["OOMKilled"], logs(name)  # it stopped itself, cleanly
    assert "Shutting down: Master" in logs(name)


def test_serves_a_mounted_artifact(run, tiny_artifact):
    name, port = run("-v", f"{tiny_artifact}:/models/tiny:ro", "-e", "NAMETAG_ARTIFACT=/models/tiny")
    wait_healthy(name)
    out = post_json(port, "/tag", {"text": SEED_TEXT})
    assert out["model"]["name"] == TINY_NAME
    assert len(out["labels"]) == len(SEED_LABELS)


def test_refuses_a_broken_artifact(run, tiny_artifact, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_artifact, broken)
    with open(broken / "weights.npz", "ab") as fh:
        fh.write(b"tampered")
    broken.chmod(0o755)
    name, _ = run("-v", f"{broken}:/models/broken:ro", "-e", "NAMETAG_ARTIFACT=/models/broken")
    st = wait_exited(name, HEALTHY_TIMEOUT)
    out = logs(name)
    assert st["ExitCode"] != 0, out
    assert "/models/broken/weights.npz: checksum mismatch" in out, out
    assert "Traceback" not in out, out
    assert st.get("Health", {}).get("Status") != "healthy"


def request(port: int, path: str, body: dict | None = None, key: str | None = None):
    """(status, headers, body bytes) of a GET, or a POST of JSON; errors answer too."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def secret_file(tmp_path: Path, text: str) -> Path:
    """A file the image's user can read, as a mounted secret is."""
    where = tmp_path / "secrets"
    where.mkdir()
    where.chmod(0o755)
    (where / "keys").write_text(text)
    (where / "keys").chmod(0o644)
    return where / "keys"


def test_api_keys_from_a_mounted_file(run, tmp_path):
    from model import apikeys

    key = apikeys.new_key()
    keys = secret_file(tmp_path, f"# the test's key\n{apikeys.file_line(key, 'docker-test')}\n")
    metrics_port = free_port()
    name, port = run("-v", f"{keys}:/run/secrets/keys:ro", "-e", "NAMETAG_API_KEYS_FILE=/run/secrets/keys",
                     "-e", "NAMETAG_RATE_LIMIT=600/minute", "-e", f"NAMETAG_METRICS_PORT={metrics_port}")
    wait_healthy(name)  # the image's health check asks /readyz, which needs no key
    status, headers, body = request(port, "/tag", {"text": SEED_TEXT})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert headers["Content-Type"] == "application/problem+json"
    assert request(port, "/tag", {"text": SEED_TEXT}, key=key + "x")[0] == 401
    status, headers, body = request(port, "/tag", {"text": SEED_TEXT}, key=key)
    assert status == 200 and json.loads(body)["labels"] == SEED_LABELS
    assert headers["X-RateLimit-Limit"] == "600"  # flask-limiter and its dependencies are in the image
    assert request(port, "/healthz")[0] == 200
    assert request(port, "/metrics")[0] == 401
    status, _, metrics = request(metrics_port, "/metrics")  # the metrics port needs no key
    assert status == 200 and b'nametag_auth_requests_total{key="docker-test",result="accepted"} 1.0' in metrics
    out = logs(name)
    assert key not in out and SEED_TEXT not in out and '"key":"docker-test"' in out


def test_refuses_a_bad_keys_file(run, tmp_path):
    keys = secret_file(tmp_path, "this-is-a-key-pasted-in-the-clear\n")
    name, _ = run("-v", f"{keys}:/run/secrets/keys:ro", "-e", "NAMETAG_API_KEYS_FILE=/run/secrets/keys")
    st = wait_exited(name, HEALTHY_TIMEOUT)
    out = logs(name)
    assert st["ExitCode"] == 3, out
    assert "nametag: bad configuration NAMETAG_API_KEYS_FILE='/run/secrets/keys': /run/secrets/keys line 1: " \
           "expected a sha256 digest" in out, out
    assert "Traceback" not in out and "pasted-in-the-clear" not in out, out
