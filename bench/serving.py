"""Service speed over HTTP, and what a worker costs.

Our service (``service:create_app()``) and the floor (``bench.floor_app``, a
bare Flask echo) run under the same ``service/gunicorn.conf.py`` on loopback,
one at a time. The load generator is ``bench.httpload`` in its own process
(``python -m bench.httpload``), whose CPU time we record: on two cores the
client competes with the server, and the floor is where that matters most.
Any non-200 answer or connection error stops the benchmark.
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from harness import ROOT, Gunicorn, cpu_seconds, memory

from .common import PYTHON, BenchError, median
from .floor_app import SENTENCE

APPS = {"ours": ("service:create_app()", "/readyz"), "floor": ("bench.floor_app:create_app()", "/readyz")}
PAYLOADS = {
    "1 sentence": {"text": SENTENCE},
    "64 sentences": {"inputs": [{"text": SENTENCE}] * 64},
}
CONCURRENCY = (1, 16)


def load(url: str, body_file: Path, concurrency: int, seconds: float, max_requests: int) -> dict:
    """One bounded httpload run in a separate process; its result plus its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [PYTHON, "-m", "bench.httpload", url, "--body-file", str(body_file), "-c", str(concurrency),
           "-n", str(max_requests), "-t", str(seconds), "--warmup", "20"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 90)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise BenchError(f"httpload failed ({p.returncode}): {p.stderr.strip()[-300:]}")
    res = json.loads(p.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res["client_cpu_share"] = cpu / max(res["seconds"], 1e-9)  # cores the client used
    bad = {s: n for s, n in res["statuses"].items() if str(s) != "200"}
    if res["errors"] or bad or not res["requests"]:
        raise BenchError(f"{url} c={concurrency}: {res['errors']} connection errors, non-200 answers {bad}")
    return res


def run(quick: bool = False, log=print) -> dict:
    """Both servers up at once (an idle gunicorn costs nothing); every cell measures
    ours and then the floor back to back, for a few rounds, so that a change in the
    machine's other load hits both sides of a ratio alike."""
    rounds, seconds = (1, 1.5) if quick else (3, 3.0)
    max_requests = 3000 if quick else 100_000
    runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="nametag-bench-http-") as tmp, contextlib.ExitStack() as stack:
        files = {}
        for name, payload in PAYLOADS.items():
            files[name] = Path(tmp) / f"{len(files)}.json"
            files[name].write_text(json.dumps(payload))
        servers = {name: stack.enter_context(Gunicorn(app)) for name, (app, ready) in APPS.items()}
        for name, (app, ready) in APPS.items():
            servers[name].wait_ready(ready, timeout=60)
        for r in range(rounds):
            for payload in PAYLOADS:
                for c in CONCURRENCY:
                    for app_name, srv in servers.items():
                        url = f"{srv.url}/tag"
                        pids = srv.workers()
                        before, t0 = [cpu_seconds(w) for w in pids], time.perf_counter()
                        res = load(url, files[payload], c, seconds, max_requests)
                        wall = time.perf_counter() - t0  # warm-up included, on both sides of the ratio
                        res["worker_cores"] = [round((cpu_seconds(w) - b) / wall, 2)
                                               for w, b in zip(pids, before)]  # each worker's CPU use
                        runs.setdefault((app_name, payload, c), []).append(res)
                        log(f"  http round {r + 1}/{rounds} {app_name:5s} {payload:12s} c={c:2d}: "
                            f"{res['rps']:8.1f} rps  p50 {res['p50_ms']:7.2f} ms  p99 {res['p99_ms']:7.2f} ms  "
                            f"(client {res['client_cpu_share']:.2f} cores, workers {res['worker_cores']})")
        pids = servers["ours"].workers()  # read after the load: all of them have forked by now
        cost = {"workers": len(pids), "master": memory(servers["ours"].pid),
                "per_worker": [memory(w) for w in pids]}
    cells: dict = {}
    for (app_name, payload, c), rs in runs.items():
        cells[(app_name, payload, c)] = {
            "rps": median([x["rps"] for x in rs]), "p50_ms": median([x["p50_ms"] for x in rs]),
            "p99_ms": median([x["p99_ms"] for x in rs]), "requests": sum(x["requests"] for x in rs),
            "statuses": {"200": sum(x["statuses"].get("200", 0) for x in rs)},
            "client_cpu_share": median([x["client_cpu_share"] for x in rs]),
            "worker_cores": [median(col) for col in zip(*[sorted(x["worker_cores"], reverse=True) for x in rs])],
            "runs": rs}
    for payload in PAYLOADS:
        for c in CONCURRENCY:
            pairs = zip(runs[("ours", payload, c)], runs[("floor", payload, c)])
            cells[("ratio", payload, c)] = median([o["rps"] / f["rps"] for o, f in pairs])
    return {"seconds": seconds, "rounds": rounds,
            "cells": {"|".join(map(str, k)): v for k, v in cells.items()},
            "cost": cost, "sentence": SENTENCE, "in_process": request_costs(quick)}


def request_costs(quick: bool = False) -> dict:
    """Where a one-sentence request's time goes, in process: the Flask test
    client (no HTTP, no gunicorn) for ours and the floor, and the model's steps
    on the same 25 tokens. Microseconds per request, median of 5 runs."""
    import numpy as np

    from model import inference
    from model.features import featurize, pad
    from model.tokenizer import tokenize
    from service import create_app

    from .floor_app import create_app as floor_app

    n = 100 if quick else 500
    body = json.dumps({"text": SENTENCE})

    def per_call(fn) -> float:
        fn()
        return 1e6 * median([_timed(lambda: [fn() for _ in range(n)]) for _ in range(5)]) / n

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the request log
        clients = {"ours": create_app().test_client(), "floor": floor_app().test_client()}

        def post(client):
            r = client.post("/tag", data=body, content_type="application/json")
            if r.status_code != 200:
                raise BenchError(f"in-process POST /tag answered {r.status_code}")
        out = {name: per_call(lambda c=c: post(c)) for name, c in clients.items()}
    tagger = clients["ours"].application.extensions["nametag"].tagger
    toks = [t.text for t in tokenize(SENTENCE)]
    ids, lengths, _, _ = pad(featurize(tagger.tables, [toks]))
    probs = inference.probabilities(tagger.weights, ids, lengths)[:, 0]
    out.update({
        "tag_documents": per_call(lambda: tagger.tag_documents([toks])),
        "tokenize": per_call(lambda: tokenize(SENTENCE)),
        "featurize": per_call(lambda: featurize(tagger.tables, [toks])),
        "network": per_call(lambda: inference.probabilities(tagger.weights, ids, lengths)),
        "viterbi": per_call(lambda: tagger.decode(np.asarray(probs))),
    })
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cold_starts(n: int) -> dict:
    """Process start to the first 200 on /readyz, n times for each app (median)."""
    out = {}
    for app_name, (app, ready) in APPS.items():
        times = []
        for _ in range(n):
            with Gunicorn(app) as srv:
                times.append(srv.wait_ready(ready, timeout=60))
            time.sleep(0.2)
        out[app_name] = {"median_s": median(times), "runs": times}
    return out


def image_size(quick: bool) -> dict:
    """Size of the Docker image built from the repository's Dockerfile, when an engine answers."""
    try:
        v = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"size": None, "reason": f"no Docker engine reachable ({type(e).__name__})"}
    if v.returncode != 0:
        return {"size": None, "reason": "no Docker engine reachable: " + (v.stderr.strip().splitlines() or ["?"])[-1]}
    if not (ROOT / "Dockerfile").exists():
        return {"size": None, "reason": "no Dockerfile in the repository"}
    if quick:
        return {"size": None, "reason": "--quick does not build the image"}
    tag = f"nametag-bench:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        b = subprocess.run(["docker", "build", "--network", "host", "-q", "-t", tag, str(ROOT)],
                           capture_output=True, text=True, timeout=180)
        if b.returncode != 0:
            return {"size": None, "reason": "docker build failed: " + (b.stderr.strip().splitlines() or ["?"])[-1]}
        size = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", tag],
                              capture_output=True, text=True, timeout=30).stdout.strip()
        return {"size": int(size), "build_s": time.perf_counter() - t0, "engine": v.stdout.strip()}
    except subprocess.TimeoutExpired:
        return {"size": None, "reason": "docker build took longer than 180 s (an uncached build; make bench keeps to 10 minutes)"}
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60)
