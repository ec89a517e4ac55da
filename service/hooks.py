"""Every request's accounting, as app-wide hooks of one blueprint: its
duration, the Prometheus counters and its one JSON log line. The tokens
tagged are read from the validated body the ``body`` decorator kept."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, g, request

bp = Blueprint("hooks", __name__)
log = logging.getLogger("nametag")


@bp.before_app_request
def start_timer():
    g.t0 = time.perf_counter()


@bp.after_app_request
def account(response):
    duration = time.perf_counter() - g.get("t0", time.perf_counter())
    metrics = current_app.extensions["nametag.metrics"]
    route = request.url_rule.rule if request.url_rule else "<unmatched>"
    metrics.requests.labels(route, request.method, str(response.status_code)).inc()
    metrics.latency.labels(route).observe(duration)
    req = g.get("body")
    tokens = req.n_tokens if response.status_code == 200 and hasattr(req, "n_tokens") else 0
    if tokens:
        metrics.tokens.inc(tokens)
        metrics.inputs.inc(len(req.inputs))
    log.info("request", extra={"fields": {
        "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round(duration * 1000, 3), "tokens": tokens}})
    return response
