"""Processes the tests and the bench start: a real gunicorn with
``service/gunicorn.conf.py`` on a free loopback port (start, wait until ready, stop),
and the loopback helpers they need."""
from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .paths import GUNICORN_CONF, ROOT
from .procfs import workers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port: int, path: str, timeout: float = 2.0) -> int:
    """Status of GET path on 127.0.0.1:port, or 0 when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


class ServerError(RuntimeError):
    """A gunicorn that exited or did not become ready."""


class Gunicorn:
    """``gunicorn -c service/gunicorn.conf.py APP`` on a free port of 127.0.0.1, started
    at construction in its own session, with stdout and stderr in files.

    env: variables on top of os.environ (PROMETHEUS_MULTIPROC_DIR is always dropped:
    gunicorn.conf.py makes its own); workers: WEB_CONCURRENCY, when given; log_dir:
    where the two log files go (default: a temporary directory removed by close()).
    As a context manager it stops the server and removes its temporary logs on exit.
    """

    def __init__(self, app: str = "service:create_app()", env: dict | None = None,
                 workers: int | None = None, log_dir: Path | None = None):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = None if log_dir else tempfile.TemporaryDirectory(prefix="nametag-gunicorn-")
        self.stdout_path = Path(log_dir or self._tmp.name) / f"gunicorn-{self.port}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port),
                    **({"WEB_CONCURRENCY": str(workers)} if workers else {}), **(env or {})}
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.started = time.perf_counter()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "-c", str(GUNICORN_CONF), app],
                cwd=ROOT, env=full_env, stdout=out, stderr=err, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, path: str = "/readyz", timeout: float = 20.0) -> float:
        """Wait for a 200 on GET path; the seconds from the start to it (the cold start).
        Stops the server and raises ServerError when it exits or is not ready in time."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"gunicorn {self.app} exited {self.proc.returncode} "
                                  f"before it was ready: {self.log_tail()}")
            if http_status(self.port, path, timeout=1.0) == 200:
                return time.perf_counter() - self.started
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"gunicorn {self.app} not ready on {path} after {timeout:.0f} s: "
                                  f"{self.log_tail()}")
            time.sleep(0.02)

    def workers(self) -> list[int]:
        return workers(self.proc.pid)

    def stop(self, timeout: float = 35.0) -> int:
        """SIGTERM (graceful: the arbiter stops its workers), then SIGKILL to the whole
        session after timeout seconds; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only this gunicorn
                self.proc.wait(10)
        return self.proc.returncode

    def serving(self):
        """Wait until ready, yield the server, then close it: a pytest fixture's body
        (``yield from Gunicorn(...).serving()``)."""
        with self:
            self.wait_ready()
            yield self

    def close(self) -> None:
        self.stop()
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_tail(self, n: int = 5) -> str:
        return " | ".join((self.stdout() + self.stderr()).splitlines()[-n:])
