"""Redaction: whether the scores mean something, and what /redact costs.

* Calibration: the expected calibration error (``model.calibration.ece``: 10
  equal-width bins; an entity is right when its span exactly matches a gold
  span) of the entity scores on each test set, one sentence per input, with the
  artifact's calibration (after) and without it (before: the network's own
  scores, an entity's being the mean of its tokens'). Bars: 0.03 on CoNLL-2003
  test, 0.10 on WNUT-17 test. The calibration was fitted on dev sets only.
* Cost: one gunicorn, the same one-sentence text sent to /tag and to /redact
  (operator replace) at concurrency 1 (``bench.wrk``), alternately, for a few
  rounds; the ratio of requests per second. Bar: /redact within 10% of /tag.
  In the same rounds, /redact with the pseudonym operator, plain and with
  ``restorable`` (the restore token sealed into every answer); and, on the same
  server, the two requests interleaved one by one on one keep-alive connection
  (ABBA order, so load that comes and goes falls on both alike): the ratio of
  their median latencies. Bar: restorable costs at most 1.15x plain
  pseudonymisation, on the interleaved ratio (the rps ratio is shown beside it).
* Token size: the restore token's length for 1 to 20 people (distinct two-word names
  of the CoNLL-2003 test set), and what each more name adds.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from model.artifact import load
from model.calibration_fit import entity_scores
from model.calibration import ece
from model.data import Corpus, read_corpus
from model.tags import TAGS
from model.tagger import Tagger

from harness import DEFAULT_ARTIFACT, Gunicorn

from .common import CONLL_TEST, WNUT_TEST, median
from .floor_app import SENTENCE
from . import wrk
from .common import BenchError

ECE_BARS = {"conll_test": 0.03, "wnut_test": 0.10}
COST_BAR = 1.10  # /redact's time per request over /tag's
RESTORABLE_BAR = 1.15  # /redact with restorable over plain /redact (pseudonym), time per request
BENCH_RESTORE_KEY = "bench-restore-key-not-a-secret-0123456789"  # a throwaway key for the bench's server
# what each measured case sends (JSON bodies); /tag and /redact replace keep their historical names
CASES = {"/tag": ("/tag", {}), "/redact": ("/redact", {}),
         "pseudonym": ("/redact", {"operator": "pseudonym"}),
         "restorable": ("/redact", {"operator": "pseudonym", "restorable": True})}
TOKEN_SIZES = (1, 2, 5, 10, 20)
B_PER, I_PER = TAGS.index("B-PER"), TAGS.index("I-PER")


def calibration(quick: bool = False) -> dict:
    art = load(DEFAULT_ARTIFACT)
    n = 400 if quick else None
    out = {"subset": n, "calibrated": art.calibration is not None,
           "fitted_on": list(art.calibration.fitted_on) if art.calibration else []}
    for key, path in (("conll_test", CONLL_TEST), ("wnut_test", WNUT_TEST)):
        c = read_corpus(path)
        c = Corpus(c.sentences[:n], c.tags[:n], c.docs[:n]) if n else c
        row = {"bar": ECE_BARS[key]}
        for when, tagger in (("before", Tagger(art, calibrated=False)), ("after", Tagger(art))):
            conf, right = entity_scores(tagger, c)
            row[when] = {"ece": round(ece(conf, right), 4), "entities": len(conf),
                         "mean_score": round(float(conf.mean()), 4) if len(conf) else None,
                         "accuracy": round(float(right.mean()), 4) if len(right) else None}
        row["ok"] = row["after"]["ece"] <= row["bar"]
        out[key] = row
    return out


def cost(quick: bool = False, log=print) -> dict:
    rounds, seconds = (1, 1) if quick else (5, 3)  # wrk takes whole seconds
    runs = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory(prefix="nametag-bench-redact-") as tmp, \
            Gunicorn("service:create_app()", {"NAMETAG_RESTORE_KEY": BENCH_RESTORE_KEY}) as srv:
        bodies = {}
        for case, (_, extra) in CASES.items():
            bodies[case] = Path(tmp) / f"{case.strip('/')}.json"
            bodies[case].write_text(json.dumps({"text": SENTENCE, **extra}))
        srv.wait_ready("/readyz", timeout=60)
        for r in range(rounds):
            for case, (route, _) in CASES.items():
                res = wrk.run(srv.url + route, bodies[case], 1, seconds)
                if res["errors"] or res["not_200"] or not res["requests"]:
                    raise BenchError(f"{case}: {res['errors']} connection errors, {res['not_200']} answers not 200")
                runs[case].append(res)
                log(f"  redact round {r + 1}/{rounds} {case:10s}: {res['rps']:8.1f} rps  p50 {res['p50_ms']:6.2f} ms")
        pairs = interleaved(srv.port, {c: bodies[c].read_bytes() for c in ("pseudonym", "restorable")},
                            200 if quick else 3000)
    ratio = median([t["rps"] / d["rps"] for t, d in zip(runs["/tag"], runs["/redact"])])
    rps_ratio = median([p["rps"] / r["rps"] for p, r in zip(runs["pseudonym"], runs["restorable"])])
    restorable = pairs["restorable"]["p50_ms"] / pairs["pseudonym"]["p50_ms"]
    log(f"  interleaved: pseudonym p50 {pairs['pseudonym']['p50_ms']:.3f} ms, restorable p50 "
        f"{pairs['restorable']['p50_ms']:.3f} ms: {restorable:.3f}x (rps ratio {rps_ratio:.3f})")
    return {"rounds": rounds, "seconds": seconds, "sentence": SENTENCE, "ratio": round(ratio, 4),
            "ok": ratio <= COST_BAR, "bar": COST_BAR,
            "restorable_cost": {"ratio": round(restorable, 4), "ok": restorable <= RESTORABLE_BAR,
                                "bar": RESTORABLE_BAR, "rps_ratio": round(rps_ratio, 4), "interleaved": pairs},
            **{case: {"rps": median([x["rps"] for x in rs]), "p50_ms": median([x["p50_ms"] for x in rs]),
                      "requests": sum(x["requests"] for x in rs)} for case, rs in runs.items()}}


def interleaved(port: int, bodies: dict[str, bytes], n: int) -> dict:
    """Each body POSTed to /redact n times, one request at a time on one keep-alive
    connection, in ABBA order; the median and mean latency of each (ms)."""
    import http.client
    import time

    a, b = bodies
    order = [a, b, b, a] * (n // 2)
    times = {a: [], b: []}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for case in order:
            t0 = time.perf_counter()
            conn.request("POST", "/redact", bodies[case], {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            times[case].append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                raise BenchError(f"interleaved {case}: status {resp.status}")
    finally:
        conn.close()
    return {case: {"requests": len(ts), "p50_ms": round(median(ts), 4), "mean_ms": round(sum(ts) / len(ts), 4)}
            for case, ts in times.items()}


def token_sizes() -> dict:
    """The restore token's length (characters, base64url) for the first n distinct two-word
    names of the CoNLL-2003 test set, one mention each; and the mean characters per name."""
    from model.names import Span
    from model.redact import Operator, Pseudonyms, redact
    from model.restore import Sealer, extend

    corpus, names = read_corpus(CONLL_TEST), []
    for words, tags in zip(corpus.sentences, corpus.tags):
        i = 0
        while i < len(words) and len(names) < max(TOKEN_SIZES):
            j = i + 1
            while tags[i] == B_PER and j < len(tags) and tags[j] == I_PER:
                j += 1
            name = " ".join(words[i:j])
            if tags[i] == B_PER and j - i == 2 and name not in names:
                names.append(name)
            i = j
    sealer, sizes = Sealer(BENCH_RESTORE_KEY.encode()), {}
    for n in TOKEN_SIZES:
        text = ", ".join(names[:n]) + "."
        spans, pos = [], 0
        for name in names[:n]:
            spans.append(Span(pos, pos + len(name), 1.0))
            pos += len(name) + 2
        ps = Pseudonyms()
        red = redact(text, spans, Operator("pseudonym"), ps)
        sizes[n] = len(sealer.seal(extend(None, ps, [(text, red)])))
    per_name = (sizes[TOKEN_SIZES[-1]] - sizes[TOKEN_SIZES[0]]) / (TOKEN_SIZES[-1] - TOKEN_SIZES[0])
    return {"chars": sizes, "per_name": round(per_name, 1),
            "mean_name_chars": round(sum(map(len, names)) / len(names), 1)}


def run(quick: bool = False, log=print) -> dict:
    return {"calibration": calibration(quick), "cost": cost(quick, log), "token": token_sizes()}


def render(r: dict, passed) -> list[str]:
    cal, c = r["redaction"]["calibration"], r["redaction"]["cost"]
    out = ["## Redaction", "",
           "**Calibration** of the entity scores: expected calibration error over 10 equal-width bins, an "
           "entity right when its span exactly matches a gold span, one sentence per input"
           + (f"; **first {cal['subset']} sentences only**" if cal["subset"] else "")
           + f". Fitted on {', '.join(cal['fitted_on']) or 'nothing (uncalibrated artifact)'} only.", "",
           "| test set | entities | accuracy | mean score before → after | ECE before | ECE after | bar |",
           "|---|---:|---:|---|---:|---:|---|"]
    for key, name in (("conll_test", "CoNLL-2003 test"), ("wnut_test", "WNUT-17 test")):
        row = cal[key]
        b, a = row["before"], row["after"]
        out.append(f"| {name} | {a['entities']} | {a['accuracy']} | {b['mean_score']} → {a['mean_score']} | "
                   f"{b['ece']:.4f} | **{a['ece']:.4f}** | ≤ {row['bar']}: {passed(row['ok'])} |")
    out += ["", f"**Cost**: one 25-token sentence to `/tag` and to `/redact` (operator replace), concurrency 1, "
            f"one gunicorn, {c['rounds']} alternating rounds of {c['seconds']} s: /tag {c['/tag']['rps']:.0f} req/s "
            f"(p50 {c['/tag']['p50_ms']:.2f} ms), /redact {c['/redact']['rps']:.0f} req/s "
            f"(p50 {c['/redact']['p50_ms']:.2f} ms): /redact costs **{c['ratio']:.3f}×** /tag "
            f"(bar ≤ {c['bar']}: {passed(c['ok'])}).", ""]
    if "restorable_cost" in c:
        rc = c["restorable_cost"]
        il = rc["interleaved"]
        out += [f"**Restore token**: `/redact` with the pseudonym operator, plain and with `restorable`, on the "
                f"same server. Interleaved one request at a time on one connection ({il['pseudonym']['requests']} "
                f"each, ABBA order): p50 {il['pseudonym']['p50_ms']:.3f} ms plain, "
                f"{il['restorable']['p50_ms']:.3f} ms restorable: restorable costs **{rc['ratio']:.3f}×** plain "
                f"pseudonymisation (bar ≤ {rc['bar']}: {passed(rc['ok'])}). In the wrk rounds above: "
                f"{c['pseudonym']['rps']:.0f} req/s plain, {c['restorable']['rps']:.0f} req/s restorable "
                f"(median per-round ratio {rc['rps_ratio']:.3f}).", ""]
    if "token" in r["redaction"]:
        t = r["redaction"]["token"]
        out += ["**Restore token size** (characters of base64url), one mention each of the first n distinct "
                f"two-word names of the CoNLL-2003 test set (mean {t['mean_name_chars']} characters a name):", "",
                "| people | " + " | ".join(str(n) for n in t["chars"]) + " |",
                "|---|" + "---:|" * len(t["chars"]),
                "| token characters | " + " | ".join(str(v) for v in t["chars"].values()) + " |", "",
                f"Each more name adds about **{t['per_name']} characters**.", ""]
    return out
