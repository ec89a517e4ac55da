"""Reliability timings: how long the service takes to do what the reliability tests
check it does. The tests wait for each event (with only a time-out that stops a hung
test); the bound on its time lives here, as a ratio against a reference measured on
the same server in the same run, so a loaded machine slows both sides alike.

* Busy workers: 16 kept-alive clients keep every thread of both workers busy with
  64-sentence batches; a new client asks for /healthz on a fresh connection. Its wait
  over the median time of the load's own batch requests in the same window. Bar: at
  most 2. A new client queues behind the requests its worker has already taken, as a
  batch of the load does (ratio about 1); when a busy worker stopped accepting until its
  queue drained, it waited 25 to 35 times a batch (measured here with that worker).
* Worker death: one worker, SIGKILLed; the time from the kill to the next 200 on
  /healthz over the same server's cold start (process start to ready). Bar: at most
  0.5 (the replacement is forked from the master, which holds the model: no reload).
* Slow clients: one worker whose two threads take bodies trickled a byte at a time;
  the time until each is cut off with a 408, over NAMETAG_BODY_TIMEOUT. Bar: at most 1.5.
* Pathological text: the tokenizer on each input of ``pathological`` (100,000
  characters, the service's limit), the slowest over ordinary text of the same length
  (best of 3 each). Bar: at most 25: some make six times as many tokens as ordinary
  text; a backtracking pattern once took 31 s on the first of them, a thousand times.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time

from harness import SEED_TEXT, Gunicorn, Load, http_status, trickle_all, wait_workers

from .common import BenchError, median, timed

BARS = {"busy_health": 2.0, "worker_death": 0.5, "slow_client": 1.5, "tokenizer": 25.0}
BATCH = json.dumps({"inputs": [{"text": SEED_TEXT}] * 64})


def _request(port: int, method: str, path: str, body: str | None = None) -> tuple[int, float]:
    """One request on a fresh connection: (status, seconds)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - t0
    finally:
        conn.close()


def _until(condition, what: str, hang: float = 60) -> None:
    give_up = time.monotonic() + hang
    while not condition():
        if time.monotonic() > give_up:
            raise BenchError(f"reliability: never happened: {what}")
        time.sleep(0.005)


def busy_health(probes: int) -> dict:
    """/healthz's wait while 16 clients keep both workers busy, over the load's batch time."""
    with Gunicorn(workers=2) as srv:
        srv.wait_ready()
        wait_workers(srv.pid, 2)
        alone = []
        for _ in range(5):
            status, took = _request(srv.port, "POST", "/tag", BATCH)
            if status != 200:
                raise BenchError(f"reliability: a batch alone answered {status}")
            alone.append(took)
        with Load(srv.port, BATCH, clients=16) as load:
            _until(lambda: load.clients_answered() == 16, "every client answered once")
            start, waits = time.perf_counter(), []
            for _ in range(probes):
                status, wait = _request(srv.port, "GET", "/healthz")
                if status != 200:
                    raise BenchError(f"reliability: /healthz answered {status} under load")
                waits.append(wait)
            end = time.perf_counter()
    if load.failures():
        raise BenchError(f"reliability: the load got {load.failures()[:5]}")
    lat = [(a.sent, a.received) for a in load.answers]
    window = [b - a for a, b in lat if a >= start and b <= end] or [b - a for a, b in lat]
    ratio = median(waits) / median(window)
    return {"probes": probes, "healthz_median_s": median(waits), "healthz_max_s": max(waits),
            "batch_alone_s": median(alone), "batch_under_load_s": median(window), "ratio": ratio,
            "bar": BARS["busy_health"], "ok": ratio <= BARS["busy_health"]}


def worker_death(rounds: int) -> dict:
    """SIGKILL the only worker: seconds to the next 200 on /healthz, over the cold start."""
    out = []
    for _ in range(rounds):
        with Gunicorn(workers=1) as srv:
            cold = srv.wait_ready()
            victim = wait_workers(srv.pid, 1)[0]
            os.kill(victim, signal.SIGKILL)
            t_kill = time.perf_counter()
            _until(lambda: http_status(srv.port, "/healthz", timeout=5) == 200, "answered after the kill")
            back = time.perf_counter() - t_kill
            if victim in srv.workers():
                raise BenchError("reliability: the killed worker is still listed")
        out.append({"cold_start_s": cold, "answered_again_s": back, "ratio": back / cold})
    ratio = median([r["ratio"] for r in out])
    return {"runs": out, "ratio": ratio, "bar": BARS["worker_death"], "ok": ratio <= BARS["worker_death"]}


def slow_client(deadline: float) -> dict:
    """Two trickled bodies on the only worker's two threads: seconds to the 408, over the deadline."""
    with Gunicorn(env={"WEB_CONCURRENCY": "1", "NAMETAG_BODY_TIMEOUT": str(deadline)}) as srv:
        srv.wait_ready()
        stop = threading.Event()
        give_up = threading.Timer(10 * deadline, stop.set)  # a client still trickling then gives up
        give_up.start()
        threads, results = trickle_all(srv.port, 2, stop, every=0.1)
        for t in threads:
            t.join()
        give_up.cancel()
    if any(r.status != 408 for r in results):
        raise BenchError(f"reliability: a trickled body was not cut off with a 408: {results}")
    ratio = max(r.seconds for r in results) / deadline
    return {"deadline_s": deadline, "cut_off_s": [r.seconds for r in results], "ratio": ratio,
            "bar": BARS["slow_client"], "ok": ratio <= BARS["slow_client"]}


def pathological(n: int = 100_000) -> list[str]:
    """Texts of about n characters that a backtracking tokenizer pattern takes
    super-linear time on (URLs, e-mails, abbreviations, clitics, joiners, marks)."""
    return ["http://x" + "." * (n * 2 // 5) + "x", "http://" + "." * (n * 2 // 5), "ab." * (n // 3),
            "a@" * (n // 2), "a+" * (n // 2), "1" * n, "n't" * (n // 3), "'s" * (n // 2), "\u200d" * n,
            "e\u0301" * (n // 2)]


def tokenizer() -> dict:
    """The slowest pathological text over ordinary text of the same length, best of 3 each."""
    from model.tokenizer import tokenize

    def best(text):
        return min(timed(lambda: tokenize(text)) for _ in range(3))

    ordinary = best(((SEED_TEXT + " ") * 2000)[:100_000])
    slowest = max(best(text) for text in pathological())
    ratio = slowest / ordinary
    return {"ordinary_s": ordinary, "slowest_s": slowest, "ratio": ratio, "bar": BARS["tokenizer"],
            "ok": ratio <= BARS["tokenizer"]}


def run(quick: bool = False, log=print) -> dict:
    out = {"busy_health": busy_health(5 if quick else 25)}
    log(f"  /healthz under load: {out['busy_health']['ratio']:.2f} x a batch request")
    out["worker_death"] = worker_death(1 if quick else 3)
    log(f"  worker death: answered again in {out['worker_death']['ratio']:.2f} x the cold start")
    out["slow_client"] = slow_client(1.0 if quick else 2.0)
    log(f"  slow clients: cut off at {out['slow_client']['ratio']:.2f} x the body deadline")
    out["tokenizer"] = tokenizer()
    log(f"  pathological text: {out['tokenizer']['ratio']:.2f} x ordinary text")
    return out


def render(r: dict, verdict) -> list[str]:
    x = r["reliability"]
    b, d, s, k = x["busy_health"], x["worker_death"], x["slow_client"], x.get("tokenizer")
    return ["## Reliability", "",
            "What `tests/test_gunicorn.py`, `tests/test_reliability_load.py`, "
            "`tests/test_reliability_slow_clients.py` and `tests/test_tokenizer.py` check happens, timed here "
            "as ratios against a "
            "reference measured on the same server in the same run (`bench/reliability.py`).", "",
            "| what | measured | reference | ratio | bar | |",
            "|---|---:|---:|---:|---:|---|",
            f"| `/healthz` on a new connection, 16 clients keeping both workers busy ({b['probes']} probes) | "
            f"median {b['healthz_median_s'] * 1000:.0f} ms (max {b['healthz_max_s'] * 1000:.0f}) | "
            f"a 64-sentence batch of the load: median {b['batch_under_load_s'] * 1000:.0f} ms (alone before "
            f"the load: {b['batch_alone_s'] * 1000:.0f} ms) | {b['ratio']:.2f} | "
            f"≤ {b['bar']:g} | {verdict(b['ok'])} |",
            f"| the only worker SIGKILLed: next 200 on `/healthz` ({len(d['runs'])} runs) | "
            f"{median([z['answered_again_s'] for z in d['runs']]):.2f} s | cold start "
            f"{median([z['cold_start_s'] for z in d['runs']]):.2f} s | {d['ratio']:.2f} | ≤ {d['bar']:g} | "
            f"{verdict(d['ok'])} |",
            f"| two bodies trickled a byte at a time: cut off with a 408 | "
            f"{max(s['cut_off_s']):.2f} s | `NAMETAG_BODY_TIMEOUT` {s['deadline_s']:g} s | {s['ratio']:.2f} | "
            f"≤ {s['bar']:g} | {verdict(s['ok'])} |",
            *([f"| the tokenizer on pathological text, 100,000 characters (the slowest of "
               f"{len(pathological())}) | {k['slowest_s'] * 1000:.0f} ms | ordinary text of that length "
               f"{k['ordinary_s'] * 1000:.0f} ms | {k['ratio']:.2f} | ≤ {k['bar']:g} | {verdict(k['ok'])} |"]
              if k else []), ""]
