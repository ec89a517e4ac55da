"""Shared fixtures: the Flask app and client (Flask tutorial style), an app
factory for other configurations, and a real gunicorn on a loopback port."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service import create_app
from support import DEFAULT_ARTIFACT, ROOT


@pytest.fixture(scope="session")
def app():
    """The service on the shipped artifact, default limits (loaded once per session)."""
    return create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_app():
    """create_app with overrides on top of the test defaults."""
    def make(**config):
        return create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT), **config})
    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn subprocess serving ``app`` on 127.0.0.1 with gunicorn.conf.py."""

    def __init__(self, app: str = "service:create_app()", env: dict | None = None,
                 log_dir: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = (log_dir or Path("/tmp")) / f"gunicorn-{self.port}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port),
                    "WEB_CONCURRENCY": "2", **(env or {})}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-c", "service/gunicorn.conf.py", app],
                cwd=ROOT, env=full_env, stdout=out, stderr=err)

    def wait_ready(self, path: str = "/readyz", timeout: float = 20.0) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.proc.returncode}: {self.stderr()}")
            try:
                if requests.get(self.url + path, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn not ready after {timeout} s: {self.stderr()}")

    def stop(self, timeout: float = 35.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """The service under a real gunicorn (2 workers) on a free loopback port."""
    server = Server(log_dir=tmp_path_factory.mktemp("gunicorn"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_gunicorn(tmp_path):
    """Start gunicorn servers (not waited for); every one is stopped at teardown."""
    servers = []

    def start(env: dict | None = None, app: str = "service:create_app()") -> Server:
        servers.append(Server(app, env, tmp_path))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
