"""A gunicorn on loopback for the length of a ``with`` block, with the project's
``service/gunicorn.conf.py``; always stopped on the way out."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .common import PYTHON, ROOT, BenchError

GUNICORN = Path(PYTHON).with_name("gunicorn")
CONF = ROOT / "service" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float = 2.0) -> int:
    """Status of GET path, or 0 when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict:
    """Peak RSS (VmHWM), RSS and PSS (shared pages split between sharers) in MiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def _tail(log, n: int = 5) -> str:
    log.flush()
    log.seek(0)
    return " | ".join(log.read().splitlines()[-n:])


@contextmanager
def gunicorn(app: str, ready_path: str, env: dict | None = None, timeout: float = 60.0):
    """Start ``gunicorn -c service/gunicorn.conf.py APP`` on a free loopback port.

    Yields a dict: port, pid, cold_start_s (process start to the first 200 on
    ready_path), log (the file gunicorn writes to). Fails loudly if it does not
    become ready within timeout seconds.
    """
    port = free_port()
    env = dict(env or os.environ, HOST="127.0.0.1", PORT=str(port))
    log = tempfile.TemporaryFile("w+")  # gunicorn's own log; its tail goes into any failure message
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(GUNICORN), "-c", str(CONF), app], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = t0 + timeout
        while True:
            if proc.poll() is not None:
                raise BenchError(f"gunicorn {app} exited with {proc.returncode} before it was ready: {_tail(log)}")
            if get(port, ready_path, timeout=1.0) == 200:
                break
            if time.perf_counter() > deadline:
                raise BenchError(f"gunicorn {app} not ready on {ready_path} after {timeout:.0f}s: {_tail(log)}")
            time.sleep(0.02)
        yield {"port": port, "pid": proc.pid, "cold_start_s": time.perf_counter() - t0}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
            try:
                proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # our own session: only this gunicorn
                proc.wait(timeout=10)
        log.close()
