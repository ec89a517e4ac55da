"""Load and process helpers for the reliability tests, on top of conftest's
gunicorn ``Server`` (started with the ``start_gunicorn`` fixture).

``Load`` sends requests from a few threads until a request count or a deadline
is reached, whichever comes first, and keeps one ``Result`` per request;
``children``, ``wait_workers`` and ``rss_kib`` read gunicorn's worker processes
from /proc.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def request(port: int, method: str, path: str, body: bytes | dict | None = None,
            headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, bytes]:
    """One request on a fresh connection: (status, headers, body)."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    """Direct children of pid, from /proc (gunicorn's workers, for the master)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(p) for p in task.read_text().split()]
    return sorted(out)


def rss_kib(pid: int) -> int:
    """Resident set size of pid in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")


@dataclass
class Result:
    kind: str  # which request of the mix
    status: int | None  # None: no HTTP answer (connection refused or reset)
    t0: float  # time.monotonic() when the request started
    t1: float  # ... and when it ended
    error: str = ""
    body: bytes = b""

    @property
    def latency(self) -> float:
        return self.t1 - self.t0


@dataclass
class Load:
    """Requests of mix, round-robin, from `concurrency` threads, each on a fresh
    connection, until max_requests are sent or `duration` seconds have passed."""

    port: int
    mix: list[tuple[str, str, str, bytes | None]]  # (kind, method, path, body)
    concurrency: int = 8
    duration: float = 10.0
    max_requests: int = 100_000
    timeout: float = 30.0
    keep_bodies: bool = False
    results: list[Result] = field(default_factory=list)

    def run(self) -> list[Result]:
        self.start()
        return self.join()

    def start(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._deadline = time.monotonic() + self.duration
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.concurrency)]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> list[Result]:
        for t in self._threads:
            t.join(self.duration + self.timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"
        return self.results

    def _take(self) -> int | None:
        with self._lock:
            if self._stop.is_set() or self._next >= self.max_requests or time.monotonic() >= self._deadline:
                return None
            self._next += 1
            return self._next - 1

    def _worker(self) -> None:
        while (i := self._take()) is not None:
            kind, method, path, body = self.mix[i % len(self.mix)]
            t0 = time.monotonic()
            try:
                status, _, data = request(self.port, method, path, body, timeout=self.timeout)
                res = Result(kind, status, t0, time.monotonic(), body=data if self.keep_bodies else b"")
            except (OSError, http.client.HTTPException) as e:
                res = Result(kind, None, t0, time.monotonic(), error=f"{type(e).__name__}: {e}")
            with self._lock:
                self.results.append(res)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def wait_workers(master: int, n: int, timeout: float = 10, exclude=()) -> list[int]:
    """Wait until master has n worker processes, none of them in exclude."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = children(master)
        if len(pids) == n and not set(pids) & set(exclude):
            return pids
        time.sleep(0.01)
    raise TimeoutError(f"{master} did not reach {n} workers in {timeout}s: {children(master)}")
