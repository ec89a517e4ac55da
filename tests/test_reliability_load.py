"""Load and faults through a real gunicorn on loopback (service/gunicorn.conf.py):
a 60 s soak, a worker SIGKILLed mid-load and SIGTERM mid-load. Every load is
bounded in requests and seconds.

The figures (requests, p99, recovery time, memory) are printed as one
``FIGURES {...}`` line per test: ``pytest -s -k <test> tests/test_reliability_load.py``.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from conftest import until

from harness import SEED_TEXT, connections, percentile, rss_kib, wait_workers
from http_load import Load, Req, figures, send

pytestmark = pytest.mark.slow

TEXTS = [SEED_TEXT, "Yesterday Ángela Merkel met Emmanuel Macron in Paris.", "nothing to see here",
         "O'Brien and Jean-Pierre Dubois signed the U.S. deal on 1996-08-22.", "ترامب met 習近平 👍🏽.",
         "Ms. J. K. Rowling wrote it.", "a", "   "]
MEDIUM = " ".join(["Anna Smith met Boris Novak in Paris ."] * 250)  # 2,000 tokens
HEAVY = {"tokens": ["word"] * 10_000}  # the per-input limit

MIX = [  # the soak's mixed traffic: single inputs, batches and bad requests
    Req.post("text", {"text": SEED_TEXT}),
    Req.post("text", {"text": TEXTS[1]}),
    Req.post("tokens", {"tokens": SEED_TEXT.split()}),
    Req.post("batch", {"inputs": [{"text": t} for t in TEXTS] + [{"tokens": ["Anna", "Smith"]}]}),
    Req.post("text", {"text": TEXTS[3]}),
    Req.post("medium", {"text": MEDIUM}),
    Req.post("bad json", b'{"text": ', 400),
    Req.post("bad schema", {"text": 1}, 422),
    Req.post("text", {"text": TEXTS[4]}),
    Req.post("over the limit", {"tokens": ["w"] * 10_001}, 422),
    Req.post("not json", b'{"text": "a"}', 415, {"Content-Type": "text/plain"}),
    Req.post("nul", {"text": "a\x00b"}, 422),
    Req("healthz", "GET", "/healthz"),
    Req("not found", "GET", "/nope", expect=404),
    Req.post("batch", {"inputs": [{"text": SEED_TEXT}] * 32}),
]


def reference(port: int, mix: list[Req]) -> dict[Req, str]:
    """Each request's answer (sha256 of the body) sent alone, with its expected status."""
    out = {}
    for req in mix:
        res = send(port, req)
        assert res.status == req.expect, (req.kind, res.status)
        out[req] = res.digest
    return out


def unexpected(results, ref) -> list:
    return [(r.req.kind, r.status, r.error) for r in results
            if r.status != r.req.expect or r.digest != ref[r.req]]


def test_soak_60s_at_concurrency_32(start_gunicorn):
    server = start_gunicorn()
    server.wait_ready()
    ref = reference(server.port, MIX)
    workers = wait_workers(server.pid, 2)  # /readyz may answer before the second worker is forked

    warm = Load(server.port, MIX, concurrency=32, duration=10, max_requests=20_000).run()
    assert not unexpected(warm, ref)
    rss_warm = {pid: rss_kib(pid) for pid in workers}

    soak = Load(server.port, MIX, concurrency=32, duration=60, max_requests=200_000).run()
    rss_after = {pid: rss_kib(pid) for pid in workers}
    assert server.workers() == workers, "a worker was restarted during the soak"

    latencies = [r.latency for r in soak]
    span = max(r.t1 for r in soak) - min(r.t0 for r in soak)
    growth = {pid: round(rss_after[pid] / rss_warm[pid] - 1, 4) for pid in workers}
    figures("soak", requests=len(soak), seconds=round(span, 1), rps=round(len(soak) / span, 1),
            p50_ms=round(percentile(latencies, 50) * 1000, 1), p99_ms=round(percentile(latencies, 99) * 1000, 1),
            max_ms=round(max(latencies) * 1000, 1),
            by_kind={k: sum(r.req.kind == k for r in soak) for k in dict.fromkeys(r.kind for r in MIX)},
            rss_warm_kib=list(rss_warm.values()), rss_after_kib=list(rss_after.values()),
            growth=list(growth.values()))
    assert span >= 59, "the soak ended early"
    bad = unexpected(soak, ref)
    assert not bad, f"{len(bad)} unexpected answers, e.g. {bad[:5]}"
    assert all(g <= 0.10 for g in growth.values()), growth
    assert server.stop() == 0


def stopped(pid: int) -> bool:
    """Whether pid is stopped (SIGSTOP took effect): state T in /proc/<pid>/stat."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def freeze_holding(pids: list[int], port: int) -> set[int]:
    """SIGSTOP pids; once they are stopped, the client ports of the connections they hold.
    When they hold none, they are let go again and the answer is empty (try again)."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    until(lambda: all(stopped(pid) for pid in pids), "SIGSTOP took effect")
    held = set().union(*(connections(pid, port) for pid in pids))
    if not held:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    return held


def started_after(load: Load, t: float) -> list:
    return [r for r in list(load.results) if r.t0 > t]


@pytest.mark.parametrize("n_workers", [1, 2])
def test_worker_sigkilled_mid_load(start_gunicorn, n_workers):
    """Only the connections the dead worker held fail; gunicorn replaces it; the
    service answers again. (How soon, against its cold start: the bench's Reliability.)"""
    server = start_gunicorn({"WEB_CONCURRENCY": str(n_workers)})
    server.wait_ready()
    mix = [Req.post("text", {"text": t}) for t in TEXTS[:5]] + [Req.post("medium", {"text": MEDIUM})]
    ref = reference(server.port, mix)
    master, port = server.proc.pid, server.port
    victim = wait_workers(master, n_workers)[0]

    load = Load(port, mix, concurrency=8, duration=180, max_requests=50_000).start()  # stopped below
    until(lambda: len(load.results) >= 20, "the load is under way")
    held = until(lambda: freeze_holding([victim], port), "the victim holds a request")  # frozen: accepts no more
    os.kill(victim, signal.SIGKILL)
    t_kill = time.monotonic()
    probe = until(lambda: (r := send(port, Req("healthz", "GET", "/healthz"), timeout=5)).status == 200 and r,
                  "the service answers again")
    replaced = wait_workers(master, n_workers, timeout=60, exclude=[victim])
    t_replaced = time.monotonic() - t_kill
    until(lambda: sum(r.status is not None for r in started_after(load, t_kill)) >= 20, "answers after the kill")
    load.stop()
    results = load.join()

    failed = [r for r in results if r.status != r.req.expect or r.digest != ref[r.req]]
    after = [r for r in results if r.t0 > t_kill]
    figures(f"worker death ({n_workers} workers)", requests=len(results), in_flight_on_victim=len(held),
            failed=len(failed), answered_again_s=round(probe.t1 - t_kill, 3),
            replacement_seen_s=round(t_replaced, 3), requests_after_kill=len(after))
    assert victim not in replaced
    assert all(r.status is None and r.port in held for r in failed), [
        (r.req.kind, r.status, r.error, r.port in held) for r in failed]
    assert after and all(r.status == r.req.expect for r in after)
    assert server.stop() == 0


def test_sigterm_mid_load_finishes_accepted_requests(start_gunicorn):
    """Every request a worker had accepted when SIGTERM came is answered in full;
    gunicorn exits 0 (its workers were not killed at the end of the graceful timeout).
    Requests the kernel still held in the listen queue may be refused or reset: never
    half-answered."""
    server = start_gunicorn()
    server.wait_ready()
    mix = [Req.post("heavy", HEAVY), Req.post("text", {"text": SEED_TEXT}), Req.post("medium", {"text": MEDIUM})]
    ref = reference(server.port, mix)
    master, port = server.proc.pid, server.port
    workers = wait_workers(master, 2)

    load = Load(port, mix, concurrency=8, duration=180, max_requests=50_000).start()  # stopped below
    until(lambda: len(load.results) >= 10, "the load is under way")
    # a consistent picture of what the workers have accepted: both frozen while we look
    accepted = until(lambda: freeze_holding(workers, port), "the workers hold requests")
    t_term = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    for w in workers:
        os.kill(w, signal.SIGCONT)
    # keep knocking until every client has tried once more, then stop (or they spin on refused connections)
    until(lambda: len(started_after(load, t_term)) >= 8, "requests after the SIGTERM")
    load.stop()
    rc = server.proc.wait(60)
    exit_s = time.monotonic() - t_term
    results = load.join()

    answered = [r for r in results if r.status is not None]
    of_accepted = [r for r in results if r.port in accepted]
    figures("graceful shutdown", exit_code=rc, exit_s=round(exit_s, 3), accepted_at_sigterm=len(accepted),
            completed_of_accepted=sum(r.status == r.req.expect for r in of_accepted),
            requests=len(results), refused_or_reset=len(results) - len(answered))
    assert rc == 0
    assert "SIGKILL" not in server.stderr()  # no worker was killed for outliving the graceful timeout
    assert accepted and len(of_accepted) == len(accepted)
    assert all(r.status == r.req.expect and r.digest == ref[r.req] for r in of_accepted)
    assert not unexpected(answered, ref)  # nothing cut short, no 5xx
    assert all(r.t1 >= t_term for r in results if r.status is None)
