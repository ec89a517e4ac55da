"""Where one request's time goes: each stage of ``POST /tag`` timed on its own, in process.

    python -m bench.stages [--n 2000] [--batch 64]   # prints JSON: µs per stage

Runs the service's own functions on one 25-token sentence, stage by stage, in
the order a request meets them: body read, JSON parse, validation, tokenizing,
features, network, decoding, building the response, JSON encoding, metrics,
log. The whole request goes through the WSGI app the way gunicorn calls it
(a fresh environ per call, the body iterated); what the stages do not account
for is Flask and Werkzeug around them (request and response objects, routing,
the hooks' own overhead). The floor (a bare Flask echo) is timed the same way.

Prometheus runs in multiprocess mode as under gunicorn (a temporary
PROMETHEUS_MULTIPROC_DIR, set before prometheus_client is imported), and the
request log goes to /dev/null at info level, so metrics and log cost what
they cost in production.
"""
from __future__ import annotations

import os
import sys
import tempfile

if __name__ == "__main__":  # before prometheus_client is imported anywhere
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="nametag-stages-"))
    from model.threads import pin_threads

    pin_threads(1, override=True)

import argparse  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

STAGES = ("body read", "JSON parse", "validation", "tokenizing", "features", "network", "decoding",
          "building the response", "JSON encoding", "metrics", "log")
SENTENCE = ("Prime Minister Boris Johnson told reporters in London on Tuesday that Angela "
            "Merkel and Emmanuel Macron would meet him in Brussels early next week .")


class Stopwatch:
    """Wraps functions so each call adds its wall time to the current request's row."""

    def __init__(self):
        self.row: dict[str, float] = {}

    def wrap(self, name: str, fn):
        row_of, clock = (lambda: self.row), time.perf_counter

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                row = row_of()
                row[name] = row.get(name, 0.0) + clock() - t0
        return timed


def wsgi_caller(app, path: str, body: bytes):
    """A function that sends one request through app's WSGI interface, as gunicorn
    would, and returns the status line."""
    from werkzeug.test import EnvironBuilder

    base = EnvironBuilder(path=path, method="POST", data=body, content_type="application/json").get_environ()
    status = []

    def start_response(s, headers, exc_info=None):
        status[:] = [s]

    def call():
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(body)
        it = app(environ, start_response)
        try:
            for _chunk in it:
                pass
        finally:
            if hasattr(it, "close"):
                it.close()
        return status[0]
    return call


def run_requests(call, n: int, watch: Stopwatch | None = None) -> list[dict]:
    """n requests; per request its whole wall time and the stopwatch's row."""
    rows, clock = [], time.perf_counter
    for _ in range(n):
        if watch is not None:
            watch.row = {}
        t0 = clock()
        status = call()
        dt = clock() - t0
        if status != "200 OK":
            raise RuntimeError(f"the profile's request answered {status}")
        rows.append(dict(watch.row if watch else {}, whole=dt))
    return rows


class _Observed:
    """A stage histogram that also tells the stopwatch what it observed, and what observing cost."""

    def __init__(self, watch: Stopwatch, name: str, histogram):
        self.watch, self.name, self.histogram = watch, name, histogram

    def observe(self, seconds: float) -> None:
        t0 = time.perf_counter()
        self.histogram.observe(seconds)
        row = self.watch.row
        row[self.name] = seconds
        row["stage histograms"] = row.get("stage histograms", 0.0) + time.perf_counter() - t0


def instrument(app, watch: Stopwatch) -> None:
    """Put the stopwatch around each stage of the service's request path (in this process only).

    preprocess, predict and postprocess are the service's own stage timings
    (what its Prometheus histograms observe); the stopwatch splits them further.
    """
    from model import inference, tagger as tagger_mod
    from service import decorators, fastpath, inputs, metrics as metrics_mod

    predictor = app.extensions["nametag"]
    metrics = app.extensions["nametag.metrics"]
    decorators.read_body = watch.wrap("body read", decorators.read_body)
    decorators.parse_json = watch.wrap("JSON parse", decorators.parse_json)
    fastpath.tokenize = watch.wrap("tokenizing", fastpath.tokenize)
    inputs.tokenize = watch.wrap("tokenizing", inputs.tokenize)
    for name in ("featurize", "pad", "document_sets"):
        setattr(tagger_mod, name, watch.wrap("features", getattr(tagger_mod, name)))
    inference.probabilities = watch.wrap("network", inference.probabilities)
    predictor.tagger.decode = watch.wrap("decoding", predictor.tagger.decode)
    app.json.encode = watch.wrap("JSON encoding", app.json.encode)
    log = logging.getLogger("nametag")
    for h in log.handlers:
        if hasattr(h, "write_line"):
            h.write_line = watch.wrap("log", h.write_line)
    log.info = watch.wrap("log", log.info)
    hooks = app.after_request_funcs[None]
    app.after_request_funcs[None] = [watch.wrap("after_request+", f) for f in hooks]
    stages = metrics.stages
    metrics.stages = lambda route: metrics_mod.StageTimes(
        *(_Observed(watch, name, h) for name, h in zip(("preprocess+", "predict+", "postprocess+"),
                                                        stages(route))))


def account(rows: list[dict]) -> dict:
    """Per-request rows -> medians in µs per stage; nested timings turned into their own share."""
    per_stage: dict[str, list[float]] = {}
    for r in rows:
        r = dict(r)
        r["validation"] = r.pop("preprocess+") - r["body read"] - r["JSON parse"] - r["tokenizing"]
        r["Tagger's own glue"] = r.pop("predict+") - r["features"] - r["network"] - r["decoding"]
        r["building the response"] = r.pop("postprocess+")
        r["metrics"] = r.pop("after_request+") - r["log"] + r["stage histograms"]
        r["Flask and Werkzeug (the rest)"] = r["whole"] - sum(r[s] for s in STAGES) - r["Tagger's own glue"]
        for k, v in r.items():
            per_stage.setdefault(k, []).append(v)
    return {k: 1e6 * statistics.median(v) for k, v in per_stage.items()}


def profile(n: int = 2000, batch: int = 0) -> dict:
    """µs per stage of one one-sentence request (medians over n requests), the whole
    request with and without the stopwatch, and the floor's whole request."""
    from service import create_app

    from .floor_app import create_app as floor_app

    body = json.dumps({"inputs": [{"text": SENTENCE}] * batch} if batch else {"text": SENTENCE}).encode()
    app = create_app()
    plain, floor = wsgi_caller(app, "/tag", body), wsgi_caller(floor_app(), "/tag", body)
    run_requests(plain, 50)
    run_requests(floor, 50)
    whole = [r["whole"] for _ in range(3) for r in run_requests(plain, n // 3) + run_requests(floor, n // 3)]
    ours_plain = statistics.median(whole[i] for i in range(len(whole)) if (i // (n // 3)) % 2 == 0)
    floor_plain = statistics.median(whole[i] for i in range(len(whole)) if (i // (n // 3)) % 2 == 1)
    watch = Stopwatch()
    instrument(app, watch)
    run_requests(plain, 50, watch)
    out = account(run_requests(plain, n, watch))
    order = (*STAGES, "Tagger's own glue", "Flask and Werkzeug (the rest)", "stage histograms")
    res = {k: round(out[k], 1) for k in order}
    res["request, whole (stopwatch on)"] = round(out["whole"], 1)
    res["request, whole"] = round(1e6 * ours_plain, 1)
    res["floor request, whole"] = round(1e6 * floor_plain, 1)
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="requests timed")
    ap.add_argument("--batch", type=int, default=0, help="send {\"inputs\": [the sentence] * BATCH} instead")
    args = ap.parse_args(argv)
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull  # the request log's destination
        try:
            res = profile(args.n, args.batch)
        finally:
            sys.stdout = real_stdout
    print(json.dumps(res))


if __name__ == "__main__":
    main()
