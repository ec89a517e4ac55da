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
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from model.artifact import load
from model.calibration_fit import entity_scores
from model.calibration import ece
from model.data import Corpus, read_corpus
from model.tagger import Tagger

from harness import DEFAULT_ARTIFACT, Gunicorn

from .common import CONLL_TEST, WNUT_TEST, median
from .floor_app import SENTENCE
from . import wrk
from .common import BenchError

ECE_BARS = {"conll_test": 0.03, "wnut_test": 0.10}
COST_BAR = 1.10  # /redact's time per request over /tag's


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
    runs = {"/tag": [], "/redact": []}
    with tempfile.TemporaryDirectory(prefix="nametag-bench-redact-") as tmp, Gunicorn("service:create_app()") as srv:
        body = Path(tmp) / "body.json"
        body.write_text(json.dumps({"text": SENTENCE}))
        srv.wait_ready("/readyz", timeout=60)
        for r in range(rounds):
            for route in runs:
                res = wrk.run(srv.url + route, body, 1, seconds)
                if res["errors"] or res["not_200"] or not res["requests"]:
                    raise BenchError(f"{route}: {res['errors']} connection errors, {res['not_200']} answers not 200")
                runs[route].append(res)
                log(f"  redact round {r + 1}/{rounds} {route:8s}: {res['rps']:8.1f} rps  p50 {res['p50_ms']:6.2f} ms")
    ratios = [t["rps"] / d["rps"] for t, d in zip(runs["/tag"], runs["/redact"])]
    ratio = median(ratios)
    return {"rounds": rounds, "seconds": seconds, "sentence": SENTENCE, "ratio": round(ratio, 4),
            "ok": ratio <= COST_BAR, "bar": COST_BAR,
            **{route: {"rps": median([x["rps"] for x in rs]), "p50_ms": median([x["p50_ms"] for x in rs]),
                       "requests": sum(x["requests"] for x in rs)} for route, rs in runs.items()}}


def run(quick: bool = False, log=print) -> dict:
    return {"calibration": calibration(quick), "cost": cost(quick, log)}


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
    return out
