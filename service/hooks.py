"""What every request gets, as app-wide hooks of one blueprint: its accounting
(duration, the Prometheus counters, names redacted, its one JSON log line) and the
security headers of every answer. The tokens tagged are read from the validated
body the ``body`` decorator kept (``g.body``), the names redacted from the
results /redact kept (``g.results``), a restore's outcome from ``g.restore_outcome``."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, g, request

from . import requestlog

bp = Blueprint("hooks", __name__)
log = logging.getLogger("nametag")
# Probes (Docker's HEALTHCHECK, Kubernetes' probes) ask every few seconds: their lines are
# debug, so the info log holds the requests people and programs sent.
PROBES = frozenset({"/healthz", "/readyz"})

# Scripts, styles, images and requests from this origin only: no inline script or style,
# no plugins, no framing, no <base> tricks.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")


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
    if status == 200 and "results" in g and hasattr(body, "operator"):
        metrics.redactions.labels(body.operator.name).inc(sum(len(r["items"]) for r in g.results))
    if "restore_outcome" in g:
        metrics.restores.labels(g.restore_outcome).inc()
    # the route, not the path: a path the caller made up (/tag/Harry Potter, a static file
    # name) is theirs, and no request's own data reaches a log (service.requestlog)
    fields = {"method": req.method, "path": route, "status": status,
              "duration_ms": round(duration * 1000, 3), "tokens": tokens}
    key = g.get("key_name")
    if key is not None:  # the accepted API key's name (never the key)
        fields["key"] = key
    requestlog.request(log, fields, logging.DEBUG if route in PROBES else logging.INFO)
    return response


@bp.after_app_request
def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
