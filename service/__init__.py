"""nametag's HTTP service: ``create_app`` (Flask tutorial style).

Configuration: defaults below, then ``NAMETAG_*`` environment variables
(``NAMETAG_ARTIFACT``, ``NAMETAG_MAX_BODY_BYTES``, ``NAMETAG_MAX_CHARS``,
``NAMETAG_MAX_TOKENS``, ``NAMETAG_MAX_INPUTS``, ``NAMETAG_MAX_TOTAL_TOKENS``,
``NAMETAG_LOG_LEVEL``), then
``test_config``.
"""
from __future__ import annotations

import sys
import time

from flask import Flask, g, request

from . import errors, ops, requestlog, tag
from .metrics import Metrics
from .predictor import DEFAULT_ARTIFACT, EXIT_CANNOT_START, Predictor
from .schemas import Limits

LIMIT_KEYS = {"MAX_BODY_BYTES": "max_body_bytes", "MAX_CHARS": "max_chars",
              "MAX_TOKENS": "max_tokens", "MAX_INPUTS": "max_inputs",
              "MAX_TOTAL_TOKENS": "max_total_tokens"}


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # fields in the documented order
    app.json.ensure_ascii = False  # UTF-8 out; unpaired surrogates never get this far
    defaults = Limits()
    app.config.from_mapping(
        ARTIFACT=str(DEFAULT_ARTIFACT),
        LOG_LEVEL="info",
        LOAD_MODEL=True,  # False only in tests of readiness
        BODY_TIMEOUT=30,  # seconds to receive a request body (408 after)
        **{key: getattr(defaults, attr) for key, attr in LIMIT_KEYS.items()},
    )
    app.config.from_prefixed_env("NAMETAG")
    if test_config is not None:
        app.config.from_mapping(test_config)

    limits = _limits(app.config)
    _check_timeout(app.config["BODY_TIMEOUT"])
    app.config["MAX_CONTENT_LENGTH"] = limits.max_body_bytes  # also enforced on chunked bodies
    log = requestlog.setup(str(app.config["LOG_LEVEL"]))

    predictor = Predictor(limits)
    if app.config["LOAD_MODEL"]:
        predictor.load(str(app.config["ARTIFACT"]))
    metrics = Metrics()
    if predictor.ready:
        cfg = predictor.artifact.config
        metrics.model.labels(predictor.artifact.name, predictor.artifact.version, cfg.head).set(1)
    app.extensions["nametag"] = predictor
    app.extensions["nametag.metrics"] = metrics

    app.register_blueprint(errors.bp)
    app.register_blueprint(tag.bp)
    app.register_blueprint(ops.bp)

    @app.before_request
    def _start_timer():
        g.t0 = time.perf_counter()

    @app.after_request
    def _account(response):
        duration = time.perf_counter() - g.get("t0", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(duration)
        tokens = g.get("tokens", 0)
        if response.status_code == 200 and tokens:
            metrics.tokens.inc(tokens)
            metrics.inputs.inc(g.get("inputs", 0))
        log.info("request", extra={"fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round(duration * 1000, 3), "tokens": tokens}})
        return response

    return app


def _limits(config) -> Limits:
    """The limits from the config; a bad value stops the start like a bad artifact."""
    values = {}
    for key, attr in LIMIT_KEYS.items():
        v = config[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            print(f"nametag: bad configuration NAMETAG_{key}={v!r}: expected a positive integer",
                  file=sys.stderr, flush=True)
            raise SystemExit(EXIT_CANNOT_START)
        values[attr] = v
    return Limits(**values)


def _check_timeout(v) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        print(f"nametag: bad configuration NAMETAG_BODY_TIMEOUT={v!r}: expected a positive number of seconds",
              file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CANNOT_START)
