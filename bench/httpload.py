"""A small bounded HTTP load client: stdlib only, threads + keep-alive connections.

    from bench.httpload import run
    res = run("http://127.0.0.1:8000/tag", body=b'{"text": "..."}', concurrency=4,
              max_requests=2000, max_seconds=10)
    res.rps, res.p50_ms, res.p99_ms, res.statuses

Every run stops at ``max_requests`` or ``max_seconds``, whichever comes first.
Each thread keeps one HTTP/1.1 connection and reconnects when the server
closes it. ``python -m bench.httpload URL --json '{...}' -c 4 -n 2000 -t 10``
prints the result as JSON.
"""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from harness import percentile


@dataclass
class LoadResult:
    requests: int  # completed (any status)
    errors: int  # connection failures
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def run(url: str, body: bytes | None = None, *, method: str = "POST", concurrency: int = 1,
        max_requests: int = 1000, max_seconds: float = 10.0, warmup: int = 0,
        headers: dict[str, str] | None = None, timeout: float = 30.0) -> LoadResult:
    """Send up to max_requests requests within max_seconds from concurrency threads."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0

    def connect():
        return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)

    def one(conn) -> tuple[http.client.HTTPConnection, int | None]:
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            resp.read()
            if resp.will_close:
                conn.close()
                conn = connect()
            return conn, resp.status
        except (OSError, http.client.HTTPException):
            conn.close()
            return connect(), None

    conn = connect()
    for _ in range(warmup):
        conn, _status = one(conn)
    conn.close()

    deadline = time.monotonic() + max_seconds

    def worker():
        nonlocal issued, errors
        conn = connect()
        try:
            while True:
                with lock:
                    if issued >= max_requests or time.monotonic() >= deadline:
                        return
                    issued += 1
                t0 = time.perf_counter()
                conn, status = one(conn)
                dt = time.perf_counter() - t0
                with lock:
                    if status is None:
                        errors += 1
                    else:
                        latencies.append(dt)
                        statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + timeout + 5)
    elapsed = time.perf_counter() - t0
    done = len(latencies)
    return LoadResult(requests=done, errors=errors, seconds=round(elapsed, 3),
                      rps=round(done / elapsed, 2) if elapsed else 0.0,
                      p50_ms=round(percentile(latencies, 50) * 1000, 3),
                      p99_ms=round(percentile(latencies, 99) * 1000, 3),
                      statuses=dict(sorted(statuses.items())))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--json", help="request body (JSON text)")
    src.add_argument("--body-file", help="file holding the request body")
    ap.add_argument("--method", default=None, help="default POST with a body, else GET")
    ap.add_argument("-c", "--concurrency", type=int, default=1)
    ap.add_argument("-n", "--max-requests", type=int, default=1000)
    ap.add_argument("-t", "--max-seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args(argv)
    body = args.json.encode() if args.json else open(args.body_file, "rb").read() if args.body_file else None
    res = run(args.url, body, method=args.method or ("POST" if body is not None else "GET"),
              concurrency=args.concurrency, max_requests=args.max_requests,
              max_seconds=args.max_seconds, warmup=args.warmup)
    print(json.dumps(res.to_json()))


if __name__ == "__main__":
    main()
