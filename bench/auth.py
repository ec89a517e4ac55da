"""What API keys cost a request: the service with keys off and with keys on, side by side.

Two gunicorns up at once (``service:create_app()``), one without keys and one with
``NAMETAG_API_KEYS_FILE`` holding KEYS keys (the one sent is the last: every digest
is compared anyway). wrk sends the same one-sentence /tag at concurrency 1 to each,
alternately, for a few rounds; the bar is on the median of the per-round ratios of
the p50 latencies: keys on ≤ 1.05 × keys off. Beside it, the check itself timed in
process (``service.auth.authenticate`` on a request with the last key): on a shared
machine the two servers' p50s drift by more than the check costs.
"""
from __future__ import annotations

import json
import tempfile
import timeit
from pathlib import Path

from harness import Gunicorn
from model import apikeys

from . import wrk
from .common import BenchError, median
from .floor_app import SENTENCE

BAR = 1.05  # p50 with keys on over keys off
KEYS = 10


def check_us(keys_file: Path, key: str, n: int) -> float:
    """Microseconds per call of the key check, in process, on a request carrying `key`."""
    from service import auth, create_app

    app = create_app({"LOAD_MODEL": False, "API_KEYS_FILE": str(keys_file), "LOG_LEVEL": "warning"})
    with app.test_request_context("/tag", method="POST", headers={"Authorization": f"Bearer {key}"}):
        auth.authenticate()
        return min(timeit.repeat(auth.authenticate, number=n, repeat=5)) / n * 1e6


def run(quick: bool = False, log=print) -> dict:
    rounds, seconds = (1, 1) if quick else (15, 2)  # wrk takes whole seconds; many short rounds: the load of a shared machine drifts
    runs: dict[str, list[dict]] = {"keys off": [], "keys on": []}
    with tempfile.TemporaryDirectory(prefix="nametag-bench-auth-") as tmp:
        body, keys_file = Path(tmp) / "body.json", Path(tmp) / "keys"
        body.write_text(json.dumps({"text": SENTENCE}))
        keys = [apikeys.new_key() for _ in range(KEYS)]
        keys_file.write_text("".join(apikeys.file_line(k, f"client-{i}") + "\n" for i, k in enumerate(keys)))
        in_process = check_us(keys_file, keys[-1], 2000 if quick else 20000)
        log(f"  the key check in process: {in_process:.1f} µs per request")
        with Gunicorn() as off, Gunicorn(env={"NAMETAG_API_KEYS_FILE": str(keys_file)}) as on:
            servers = {"keys off": (off, None), "keys on": (on, f"Bearer {keys[-1]}")}
            for srv, _ in servers.values():
                srv.wait_ready("/readyz", timeout=60)
            for srv, auth in servers.values():  # warm up
                wrk.run(srv.url + "/tag", body, 1, 1, auth)
            for r in range(rounds):
                for name in (list(servers) if r % 2 == 0 else list(servers)[::-1]):
                    srv, auth = servers[name]
                    res = wrk.run(srv.url + "/tag", body, 1, seconds, auth)
                    if res["errors"] or res["not_200"] or not res["requests"]:
                        raise BenchError(f"{name}: {res['errors']} connection errors, "
                                         f"{res['not_200']} answers not 200")
                    runs[name].append(res)
                    log(f"  keys round {r + 1}/{rounds} {name:8s}: {res['rps']:8.1f} rps  "
                        f"p50 {res['p50_ms']:6.3f} ms  p99 {res['p99_ms']:6.3f} ms")
    ratios = [on["p50_ms"] / off["p50_ms"] for on, off in zip(runs["keys on"], runs["keys off"])]
    ratio = median(ratios)
    # other load on the machine only ever adds latency: the quietest round of each is the least disturbed
    best = min(x["p50_ms"] for x in runs["keys on"]) / min(x["p50_ms"] for x in runs["keys off"])
    return {"rounds": rounds, "seconds": seconds, "sentence": SENTENCE, "keys": KEYS, "bar": BAR,
            "check_us": round(in_process, 2), "best_round_ratio": round(best, 4),
            "ratio": round(ratio, 4), "ratios": [round(x, 4) for x in ratios], "ok": ratio <= BAR,
            **{name: {"p50_ms": median([x["p50_ms"] for x in rs]), "p99_ms": median([x["p99_ms"] for x in rs]),
                      "rps": median([x["rps"] for x in rs]), "requests": sum(x["requests"] for x in rs),
                      "p50s_ms": [x["p50_ms"] for x in rs]}
               for name, rs in runs.items()}}


def render(r: dict, passed) -> list[str]:
    a = r["auth"]
    return ["## API keys", "",
            f"One 25-token sentence to `/tag` at concurrency 1, the service with API keys off and with "
            f"{a['keys']} keys on (the key sent is the file's last), both up at once, {a['rounds']} alternating "
            f"rounds of {a['seconds']} s: p50 {a['keys off']['p50_ms']:.3f} ms off, {a['keys on']['p50_ms']:.3f} ms "
            f"on; keys on cost **{a['ratio']:.3f}×** the p50 of keys off (median of the per-round ratios "
            f"{', '.join(f'{x:.3f}' for x in a['ratios'])}; bar ≤ {a['bar']}: {passed(a['ok'])}). "
            f"The check itself, timed in process (hash, {a['keys']} constant-time comparisons, the counter): "
            f"{a['check_us']:.1f} µs per request, {a['check_us'] / 10 / a['keys off']['p50_ms']:.1f} % of "
            f"the p50 with keys off; the per-round ratios spread wider than that when the two servers "
            f"share a busy machine. The quietest round of each (the lowest p50: other load on the machine "
            f"only adds latency): {min(a['keys on']['p50s_ms']):.3f} ms on over {min(a['keys off']['p50s_ms']):.3f} ms "
            f"off = {a['best_round_ratio']:.3f}×.", ""]
