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
import contextlib
import json
import os

from flask import Flask, request

from harness import Gunicorn

from . import httpload

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


def compare(seconds: float = 10.0, batch: int = 64, batch_concurrency: int = 4,
            workers: int | None = None) -> dict:
    """Both servers up at once; each measurement runs against one while the other idles."""
    workers = workers or len(os.sched_getaffinity(0))
    one = json.dumps({"text": SENTENCE}).encode()
    many = json.dumps({"inputs": [{"text": SENTENCE}] * batch}).encode()
    out = {"workers": workers, "sentence_tokens": 25, "batch": batch}
    with contextlib.ExitStack() as stack:
        urls = {}
        for name, app in (("ours", "service:create_app()"), ("floor", "bench.floor_app:create_app()")):
            server = stack.enter_context(Gunicorn(app, {"NAMETAG_LOG_LEVEL": "warning"}, workers))
            server.wait_ready(timeout=30)
            urls[name] = server.url
        for name, url in urls.items():
            single = httpload.run(url + "/tag", one, concurrency=1, max_requests=5000,
                                  max_seconds=seconds, warmup=20)
            batched = httpload.run(url + "/tag", many, concurrency=batch_concurrency, max_requests=5000,
                                   max_seconds=seconds, warmup=4)
            out[name] = {"single": single.to_json(), "batch": batched.to_json(),
                         "batch_tokens_per_s": round(batched.rps * batch * 25, 1)}
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
