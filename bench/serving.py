"""Service speed over HTTP, and what a worker costs.

Our service (``service:create_app()``, under ``service/gunicorn.conf.py``) and the
floor (``bench.floor_app``, a bare Flask echo, under our config, sync x 2 and
gthread 2 x 4: the best of them counts) run on loopback, all up at once. The
load generator is wrk (``bench.wrk``: C, one thread), whose CPU time we record:
on two cores the client competes with the servers. Every round measures every
cell on every server in a rotating order, and the in-process Tagger on the
batch; the bars are medians of the per-round ratios. Any non-200 answer or
connection error stops the benchmark. ``stage_profiles`` runs ``bench.stages``
(where one request's time goes) on this tree and on the service before #13.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from harness import ROOT, Gunicorn, cpu_seconds, memory, wait_workers

from . import wrk
from .common import PYTHON, BenchError, median
from .floor_app import SENTENCE

APPS = {"ours": ("service:create_app()", "/readyz"), "floor": ("bench.floor_app:create_app()", "/readyz")}
# Information, not a bar: ours with the Tagger's answers memoized (bench/memo_app.py), what
# the service layer and the stack allow with a model that costs nothing.
MEMO = "ours, model memoized"
MEMO_APP = ("bench.memo_app:create_app()", "/readyz")
# The floor is the best of these for the bare echo: our gunicorn.conf.py (gthread,
# one worker per core, 2 threads), sync workers, and gthread with 4 threads.
FLOOR_CONFIGS = {"our config": "", "sync x 2": "--worker-class sync --workers 2",
                 "gthread 2 x 4": "--workers 2 --threads 4"}
PAYLOADS = {
    "1 sentence": {"text": SENTENCE},
    "64 sentences": {"inputs": [{"text": SENTENCE}] * 64},
}
SENTENCE_TOKENS = 25
CELLS = (("1 sentence", 1), ("1 sentence", 16), ("64 sentences", 16))
BARS = {"rps_c16": 0.60, "p50_c1": 2.0, "batch_tokens": 0.75}
STAGES_BEFORE_COMMIT = "24a0c20"  # bench/stages.py on the service before issue #13's changes


def server_env(cmd_args: str = "") -> dict:
    """On top of what `make serve` sees (the harness drops PROMETHEUS_MULTIPROC_DIR; the
    bench's one-thread pins are what gunicorn.conf.py sets anyway): gunicorn overrides."""
    return {"GUNICORN_CMD_ARGS": cmd_args}


def measure(url: str, workers: list[int], body_file: Path, concurrency: int, seconds: float) -> dict:
    """One wrk run, plus each gunicorn worker's CPU use (cores) and CPU per request (µs)."""
    before, t0 = [cpu_seconds(w) for w in workers], time.perf_counter()
    res = wrk.run(url, body_file, concurrency, seconds)
    wall = time.perf_counter() - t0
    used = [cpu_seconds(w) - b for w, b in zip(workers, before)]
    res["worker_cores"] = sorted((round(u / wall, 2) for u in used), reverse=True)
    res["worker_cpu_us_per_request"] = round(1e6 * sum(used) / max(res["requests"], 1), 1)
    if res["errors"] or res["not_200"] or not res["requests"]:
        raise BenchError(f"{url} c={concurrency}: {res['errors']} connection errors, "
                         f"{res['not_200']} answers not 200")
    return res


def tagger_tokens_per_s(tagger, documents: list[list[str]], seconds: float) -> tuple[float, float]:
    """In-process Tagger.tag_documents on the batch, one thread, for about `seconds`:
    tokens per wall second, and per CPU second of this thread."""
    n_tokens = sum(len(d) for d in documents)
    tagger.tag_documents(documents)
    calls, t0, c0 = 0, time.perf_counter(), time.thread_time()
    while True:
        tagger.tag_documents(documents)
        calls += 1
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return calls * n_tokens / dt, calls * n_tokens / max(time.thread_time() - c0, 1e-9)


def run(quick: bool = False, log=print) -> dict:
    """Ours and the floor under each FLOOR_CONFIGS, all up at once (an idle gunicorn
    costs nothing). Every round measures each cell on every server, in an order that
    rotates from round to round, and the in-process Tagger on the batch, so a change
    in the machine's other load hits both sides of a ratio alike."""
    from model.tokenizer import tokenize
    from service.predictor import Predictor
    from model.artifact import DEFAULT_ARTIFACT

    rounds, seconds = (1, 1) if quick else (3, 3)
    servers_spec = {"ours": (APPS["ours"], ""), MEMO: (MEMO_APP, "")}
    servers_spec.update({f"floor, {name}": (APPS["floor"], args) for name, args in FLOOR_CONFIGS.items()})
    tagger = Predictor.load(DEFAULT_ARTIFACT).tagger
    batch_docs = [[t.text for t in tokenize(SENTENCE)]] * 64
    runs: dict = {}
    tagger_runs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="nametag-bench-http-") as tmp, contextlib.ExitStack() as stack:
        files = {}
        for name, payload in PAYLOADS.items():
            files[name] = Path(tmp) / f"{len(files)}.json"
            files[name].write_text(json.dumps(payload))
        servers = {name: stack.enter_context(Gunicorn(app, env=server_env(args)))
                   for name, ((app, ready), args) in servers_spec.items()}
        for name, ((app, ready), args) in servers_spec.items():
            servers[name].wait_ready(ready, timeout=60)
        urls = {name: f"{srv.url}/tag" for name, srv in servers.items()}
        for name in servers:  # warm every worker's caches
            for payload in PAYLOADS:
                wrk.run(urls[name], files[payload], 16, 1)
        # every worker forked (/readyz may answer before the last one is): "--workers 2", else one per core
        workers = {name: wait_workers(srv.pid, 2 if "--workers 2" in servers_spec[name][1]
                                      else len(os.sched_getaffinity(0)), timeout=30)
                   for name, srv in servers.items()}
        names = list(servers)
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for payload, c in CELLS:
                for name in order:
                    res = measure(urls[name], workers[name], files[payload], c, seconds)
                    runs.setdefault((name, payload, c), []).append(res)
                    log(f"  http round {r + 1}/{rounds} {name:20s} {payload:12s} c={c:2d}: "
                        f"{res['rps']:8.1f} rps  p50 {res['p50_ms']:7.2f} ms  p99 {res['p99_ms']:7.2f} ms  "
                        f"(wrk {res['client_cpu_share']:.2f} cores, workers {res['worker_cores']}, "
                        f"{res['worker_cpu_us_per_request']:.0f} µs CPU per request)")
            tagger_runs.append(tagger_tokens_per_s(tagger, batch_docs, 0.5 if quick else 2.0))
            log(f"  in-process Tagger, 64 sentences, 1 thread: {tagger_runs[-1][0]:,.0f} tokens/s "
                f"({tagger_runs[-1][1]:,.0f} per CPU second)")
        cost = worker_cost(servers["ours"].pid, workers["ours"])
    return {"seconds": seconds, "rounds": rounds, "client": "wrk, 1 thread",
            **summarise(runs, tagger_runs, len(workers["ours"])),
            "cost": cost, "sentence": SENTENCE, "stages": stage_profiles(quick)}


def summarise(runs: dict, tagger_runs: list[float], n_workers: int) -> dict:
    """Medians per cell; per round the floor is its best config; the bars' ratios are
    medians of the per-round ratios."""
    floor_names = [n for n in {k[0] for k in runs} if n.startswith("floor")]
    cells = {}
    for (name, payload, c), rs in runs.items():
        cells["|".join((name, payload, str(c)))] = {
            k: median([x[k] for x in rs]) for k in ("rps", "p50_ms", "p99_ms", "client_cpu_share",
                                                       "worker_cpu_us_per_request")} | {
            "requests": sum(x["requests"] for x in rs), "not_200": sum(x["not_200"] for x in rs),
            "errors": sum(x["errors"] for x in rs),
            "worker_cores": [median(col) for col in zip(*[x["worker_cores"] for x in rs])], "runs": rs}
    n_rounds = len(tagger_runs)
    wall, cpu = [t[0] for t in tagger_runs], [t[1] for t in tagger_runs]

    def best_floor(payload, c, r, key, better):
        return better(runs[(n, payload, c)][r][key] for n in floor_names)

    def ours(payload, c, r, key):
        return runs[("ours", payload, c)][r][key]

    batch_tokens = 64 * SENTENCE_TOKENS

    def bar_rounds(name: str) -> dict:
        """The three bars' per-round ratios for one server."""
        def cell(payload, c, r, key):
            return runs[(name, payload, c)][r][key]
        return {"rps_c16": [cell("1 sentence", 16, r, "rps") / best_floor("1 sentence", 16, r, "rps", max)
                            for r in range(n_rounds)],
                "p50_c1": [cell("1 sentence", 1, r, "p50_ms") / best_floor("1 sentence", 1, r, "p50_ms", min)
                           for r in range(n_rounds)],
                "batch_tokens": [cell("64 sentences", 16, r, "rps") * batch_tokens / (n_workers * wall[r])
                                 for r in range(n_rounds)]}

    rounds = bar_rounds("ours")
    bars = {k: median(v) for k, v in rounds.items()}
    # the same three ratios without the model's cost
    memo = {k: median(v) for k, v in bar_rounds(MEMO).items()} if any(k[0] == MEMO for k in runs) else {}
    # The same two throughput ratios from CPU time instead of wall time: what they would be
    # if the workers had their cores to themselves (on a shared machine they do not).
    cpu_ratios = {
        "rps_c16": median([best_floor("1 sentence", 16, r, "worker_cpu_us_per_request", min)
                           / ours("1 sentence", 16, r, "worker_cpu_us_per_request") for r in range(n_rounds)]),
        "batch_tokens": median([batch_tokens / (ours("64 sentences", 16, r, "worker_cpu_us_per_request") / 1e6)
                                / cpu[r] for r in range(n_rounds)])}
    return {"cells": cells, "bars": bars, "memo_ratios": memo, "bar_rounds": rounds,
            "cpu_ratios": cpu_ratios, "tagger_tokens_per_s": median(wall), "tagger_tokens_per_cpu_s": median(cpu),
            "tagger_runs": tagger_runs, "n_workers": n_workers,
            "batch_http_tokens_per_s": cells["ours|64 sentences|16"]["rps"] * batch_tokens,
            "passed": {"rps_c16": bars["rps_c16"] >= BARS["rps_c16"], "p50_c1": bars["p50_c1"] <= BARS["p50_c1"],
                       "batch_tokens": bars["batch_tokens"] >= BARS["batch_tokens"],
                       "all_200": all(c["not_200"] == 0 and c["errors"] == 0 for c in cells.values())}}


def stage_profiles(quick: bool) -> dict:
    """bench.stages on this tree ("after") and on the service before issue #13 ("before",
    the tree of STAGES_BEFORE_COMMIT with its own artifact), each in its own process,
    alternating for 3 rounds; per stage the median of the rounds."""
    n, rounds = (300, 1) if quick else (2000, 3)
    out = {"before_commit": STAGES_BEFORE_COMMIT, "rounds": rounds}
    if quick:
        out["after"] = _stages(ROOT, n)
        out["before"], out["before_reason"] = None, "--quick does not profile the service before"
        return out
    with tempfile.TemporaryDirectory(prefix="nametag-bench-before-") as tmp:
        try:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", STAGES_BEFORE_COMMIT],
                                     capture_output=True, timeout=120, check=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, capture_output=True, timeout=120, check=True)
            trees = {"before": Path(tmp), "after": ROOT}
        except (OSError, subprocess.SubprocessError) as e:
            out["before_reason"] = f"git archive {STAGES_BEFORE_COMMIT} failed ({type(e).__name__})"
            trees = {"after": ROOT}
        runs: dict = {name: [] for name in trees}
        for _ in range(rounds):
            for name, tree in trees.items():
                runs[name].append(_stages(tree, n))
    for name, rs in runs.items():
        out[name] = {k: median([r[k] for r in rs]) for k in rs[0]}
    out.setdefault("before", None)
    return out


def _stages(tree: Path, n: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "PYTHONPATH")}
    p = subprocess.run([PYTHON, "-m", "bench.stages", "--n", str(n)], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"bench.stages in {tree} failed: {p.stderr.strip()[-500:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def worker_cost(master: int, workers: list[int]) -> dict:
    """What a gunicorn costs in memory (``harness.memory``, MiB): its master's and each
    worker's, read now (after a load run, when the workers have touched what they use)."""
    return {"workers": len(workers), "master": memory(master), "per_worker": [memory(w) for w in workers]}


def cold_starts(n: int, artifact: Path | None = None, apps=tuple(APPS)) -> dict:
    """Process start to the first 200 on /readyz, n times for each of apps (median);
    artifact: the model ours loads (NAMETAG_ARTIFACT; default: the service's default)."""
    env = {"NAMETAG_ARTIFACT": str(artifact)} if artifact else None
    out = {}
    for app_name in apps:
        app, ready = APPS[app_name]
        times = []
        for _ in range(n):
            with Gunicorn(app, env=env) as srv:
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
