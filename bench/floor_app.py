"""The floor: a bare Flask app whose one route echoes the JSON body, served by
the same gunicorn settings as the service, so the difference is our layer
(validation, tokenizer, model, response building, metrics, logging).

    gunicorn -c service/gunicorn.conf.py 'bench.floor_app:create_app()'

``python -m bench.floor_app`` starts the service and the floor side by side on
loopback and measures both with ``bench.httpload``: p50 latency of one
25-token sentence at concurrency 1, and requests/s of 64-sentence batches.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flask import Flask, request

from . import httpload

ROOT = Path(__file__).resolve().parent.parent
# 25 tokens with the service's tokenizer
SENTENCE = ("Prime Minister Boris Johnson told reporters in London on Tuesday that Angela "
            "Merkel and Emmanuel Macron would meet him in Brussels early next week .")


def create_app(test_config=None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(test_config or {})

    @app.post("/tag")
    def echo():
        return request.get_json()

    @app.get("/readyz")
    def readyz():
        return {"status": "ready"}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: str, workers: int, log) -> tuple[subprocess.Popen, str]:
    """gunicorn with service/gunicorn.conf.py on a free loopback port, waited for /readyz."""
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers),
           "NAMETAG_LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                             "service/gunicorn.conf.py", app], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{app} did not become ready")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(35)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def compare(seconds: float = 10.0, batch: int = 64, batch_concurrency: int = 4,
            workers: int | None = None) -> dict:
    """Both servers up at once; each measurement runs against one while the other idles."""
    workers = workers or len(os.sched_getaffinity(0))
    one = json.dumps({"text": SENTENCE}).encode()
    many = json.dumps({"inputs": [{"text": SENTENCE}] * batch}).encode()
    out = {"workers": workers, "sentence_tokens": 25, "batch": batch}
    procs, urls = [], {}
    try:
        for name, app in (("ours", "service:create_app()"), ("floor", "bench.floor_app:create_app()")):
            proc, urls[name] = start(app, workers, sys.stderr)
            procs.append(proc)
        for name, url in urls.items():
            single = httpload.run(url + "/tag", one, concurrency=1, max_requests=5000,
                                  max_seconds=seconds, warmup=20)
            batched = httpload.run(url + "/tag", many, concurrency=batch_concurrency, max_requests=5000,
                                   max_seconds=seconds, warmup=4)
            out[name] = {"single": single.to_json(), "batch": batched.to_json(),
                         "batch_tokens_per_s": round(batched.rps * batch * 25, 1)}
    finally:
        for proc in procs:
            stop(proc)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="the service vs a bare Flask echo, same gunicorn config")
    ap.add_argument("-t", "--seconds", type=float, default=10.0, help="per measurement")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("-c", "--batch-concurrency", type=int, default=4)
    args = ap.parse_args(argv)
    print(json.dumps(compare(args.seconds, args.batch, args.batch_concurrency), indent=1))


if __name__ == "__main__":
    main()
