"""What the tests and the bench share about the processes they run and the figures
they take, defined once: where the repository, its data and its default artifact
are; the seed sentence; a free loopback port; a real gunicorn with
``service/gunicorn.conf.py`` (start, wait until ready, stop); gunicorn's workers,
their memory, CPU time and open connections, read from /proc; and one percentile.

    from harness import SEED_TEXT, Gunicorn
    with Gunicorn(workers=2) as server:
        server.wait_ready()
        ...  # server.url, server.port, server.proc, server.workers()

Standard library only; not part of the service (the Docker image leaves it out).
"""
from __future__ import annotations

import contextlib
import http.client
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEFAULT_ARTIFACT = ROOT / "artifacts" / "default"
GUNICORN_CONF = ROOT / "service" / "gunicorn.conf.py"

# The seed's example: its text, the tokenizer's tokens, the seed's y and the two names.
SEED_TEXT = "Harry Potter and Hermione Granger invented a new spell."
SEED_TOKENS = ["Harry", "Potter", "and", "Hermione", "Granger", "invented", "a", "new", "spell", "."]
SEED_LABELS = [1, 1, 0, 1, 1, 0, 0, 0, 0, 0]
SEED_NAMES = ["Harry Potter", "Hermione Granger"]


def percentile(values, q: float) -> float:
    """The q-th percentile of values, q in percent (0-100, as numpy.percentile), by
    nearest rank: the smallest value that at least q % of the values do not exceed.
    NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile: q is in percent, 0-100; got {q}")
    s = sorted(values)
    if not s:
        return float("nan")
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


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


# ---- processes, from /proc

def workers(pid: int) -> list[int]:
    """Direct children of pid, sorted (gunicorn's workers, for the master); [] once it is gone."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(p) for p in task.read_text().split()]
    return sorted(out)


def wait_workers(master: int, n: int, timeout: float = 10, exclude=()) -> list[int]:
    """Wait until master has n worker processes, none of them in exclude."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers(master)
        if len(pids) == n and not set(pids) & set(exclude):
            return pids
        time.sleep(0.005)
    raise TimeoutError(f"{master} did not reach {n} workers in {timeout}s: {workers(master)}")


def status_kib(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status (VmRSS, VmHWM, ...), in KiB; {} once it is gone."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if value.endswith(" kB"):
                out[key] = int(value.split()[0])
    return out


def rss_kib(pid: int) -> int:
    """Resident set size of pid in KiB (VmRSS)."""
    rss = status_kib(pid).get("VmRSS")
    if rss is None:
        raise ValueError(f"no VmRSS for {pid}")
    return rss


def memory(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM), RSS (VmRSS) and PSS (shared pages split between sharers), in MiB;
    the keys that could not be read are missing."""
    status = status_kib(pid)
    out = {k: status[k] / 1024 for k in ("VmHWM", "VmRSS") if k in status}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1]) / 1024
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connections(pid: int, port: int) -> set[int]:
    """Client ports of the TCP connections to `port` that process pid holds open
    (accepted, not yet closed): its socket fds matched against /proc/net/tcp."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    out = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local, remote, state, inode = f[1], f[2], f[3], f[9]
        if int(local.split(":")[1], 16) == port and state != "0A" and inode in inodes:  # 0A: LISTEN
            out.add(int(remote.split(":")[1], 16))
    return out


# ---- gunicorn

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
