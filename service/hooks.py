"""Every request's accounting, as app-wide hooks of one blueprint: its
duration, the Prometheus counters and its one JSON log line. The tokens
tagged are read from the validated body the ``body`` decorator kept."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, g, request

from . import requestlog

bp = Blueprint("hooks", __name__)
log = logging.getLogger("nametag")


@bp.before_app_request
def start_timer():
    g.t0 = time.perf_counter()


@bp.after_app_request
def account(response):
    duration = time.perf_counter() - g.get("t0", time.perf_counter())
    metrics = current_app.extensions["nametag.metrics"]
    req = request._get_current_object()  # one proxy lookup instead of five
    route = req.url_rule.rule if req.url_rule else "<unmatched>"
    status = response.status_code
    count, latency = metrics.request_children(route, req.method, status)
    count.inc()
    latency.observe(duration)
    body = g.get("body")
    tokens = body.n_tokens if status == 200 and hasattr(body, "n_tokens") else 0
    if tokens:
        metrics.tokens.inc(tokens)
        metrics.inputs.inc(len(body.inputs))
    fields = {"method": req.method, "path": req.path, "status": status,
              "duration_ms": round(duration * 1000, 3), "tokens": tokens}
    key = g.get("key_name")
    if key is not None:  # the accepted API key's name (never the key)
        fields["key"] = key
    requestlog.request(log, fields)
    return response
