"""HTTP requests and a bounded request mix for the reliability tests, against
conftest's gunicorn (``harness.Gunicorn``, started with the ``start_gunicorn`` fixture).

``Load`` sends a mix of requests from a few threads, each request on a fresh
connection, until a request count or a deadline is reached, whichever comes
first, and keeps one ``Result`` per request (with its start and end times and
its client port). What the server's processes do (workers, memory, connections)
is read with ``harness``.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
from dataclasses import dataclass, field

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True, eq=False)  # hashed by identity: a key for its reference answer
class Req:
    kind: str  # a name for this request of the mix
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    expect: int = 200  # the status it must get

    @classmethod
    def post(cls, kind: str, body, expect: int = 200, headers=None) -> Req:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return cls(kind, "POST", "/tag", data, headers or JSON, expect)


@dataclass
class Result:
    req: Req
    status: int | None  # None: no HTTP answer (connection refused, reset, timed out)
    t0: float  # time.monotonic() when the request started
    t1: float  # ... and when it ended
    port: int | None = None  # the client's local port, once connected
    digest: str = ""  # sha256 of the response body
    error: str = ""

    @property
    def latency(self) -> float:
        return self.t1 - self.t0


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30, on_connect=None) -> tuple[int, dict, bytes]:
    """One request on a fresh connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.connect()
        if on_connect:
            on_connect(conn.sock.getsockname()[1])
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def send(port: int, req: Req, timeout: float = 30) -> Result:
    ports = []
    t0 = time.monotonic()
    try:
        status, _, data = request(port, req.method, req.path, req.body, req.headers, timeout, ports.append)
        return Result(req, status, t0, time.monotonic(), ports[0], hashlib.sha256(data).hexdigest())
    except (OSError, http.client.HTTPException) as e:
        return Result(req, None, t0, time.monotonic(), ports[0] if ports else None, error=f"{type(e).__name__}: {e}")


@dataclass
class Load:
    """The requests of mix, round-robin, from `concurrency` threads until
    max_requests are sent or `duration` seconds have passed."""

    port: int
    mix: list[Req]
    concurrency: int = 8
    duration: float = 10.0
    max_requests: int = 1_000_000
    timeout: float = 30.0
    results: list[Result] = field(default_factory=list)

    def run(self) -> list[Result]:
        self.start()
        return self.join()

    def start(self) -> Load:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = 0
        self._deadline = time.monotonic() + self.duration
        self._threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.concurrency)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Send no more requests (those under way finish)."""
        self._stop.set()

    def join(self) -> list[Result]:
        for t in self._threads:
            t.join(self.duration + self.timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"
        return self.results

    def _take(self) -> Req | None:
        with self._lock:
            if self._stop.is_set() or self._next >= self.max_requests or time.monotonic() >= self._deadline:
                return None
            self._next += 1
            return self.mix[(self._next - 1) % len(self.mix)]

    def _worker(self) -> None:
        while (req := self._take()) is not None:
            res = send(self.port, req, self.timeout)
            with self._lock:
                self.results.append(res)


def figures(test: str, **values) -> None:
    """Print a test's measurements as one line: ``FIGURES {"test": ..., ...}`` (seen with -s)."""
    print(f"FIGURES {json.dumps({'test': test, **values})}", flush=True)
