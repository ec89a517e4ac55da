"""HTTP load with wrk (Debian's ``wrk`` package; ``make bench`` installs it):
C, one thread, epoll, so the load generator takes a small share of the two
cores the servers need. ``bench/post.lua`` POSTs a JSON file and counts every
answer that is not 200.

    from bench.wrk import run
    res = run("http://127.0.0.1:8000/tag", Path("body.json"), concurrency=16, seconds=3)
    res["rps"], res["p50_ms"], res["p99_ms"], res["not_200"], res["errors"]
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from pathlib import Path

from .common import BenchError

SCRIPT = Path(__file__).with_name("post.lua")


def wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed: `apt-get install -y wrk` (make bench and make test do it)")
    return path


def run(url: str, body_file: Path, concurrency: int, seconds: int, authorization: str | None = None) -> dict:
    """One bounded wrk run (one thread, `concurrency` keep-alive connections, `seconds` long);
    its results, the client's CPU use in cores, and any failure counted, never raised.
    wrk takes whole seconds. authorization: the Authorization header's value, if any."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [wrk(), "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(SCRIPT), url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30,
                       env=dict(os.environ, WRK_BODY=str(body_file),
                                **({"WRK_AUTHORIZATION": authorization} if authorization else {})))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-300:]}")
    r = json.loads(lines[-1])
    wall = r["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"requests": r["requests"], "seconds": round(wall, 3), "rps": round(r["requests"] / wall, 2),
            "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "not_200": r["not_200"],
            "errors": r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"],
            "client_cpu_share": round(cpu / max(wall, 1e-9), 3)}
