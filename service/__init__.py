"""nametag's HTTP service: ``create_app`` (Flask tutorial style).

Configuration: ``service.config`` (every ``NAMETAG_*`` setting, its default
and its validation), then ``test_config``. ``create_app`` is the process
boundary: a bad setting or artifact becomes one line on stderr and exit 3.
"""
from __future__ import annotations

import sys

from flask import Flask

from model.artifact import ArtifactError

from . import auth, config, errors, hooks, jsonio, ops, page, ratelimit, redact, requestlog, restore, tag
from .metrics import Metrics
from .predictor import Predictor

EXIT_CANNOT_START = 3  # gunicorn's WORKER_BOOT_ERROR: without preload the arbiter also gives up


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.json = jsonio.JSONProvider(app)  # orjson: UTF-8, fields in the documented order
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_prefixed_env(config.PREFIX)  # Flask's own settings (NAMETAG_DEBUG...)
    app.config.from_mapping(config.environ())  # ours, as the strings they are
    app.config.from_mapping(test_config or {})
    # LOAD_MODEL=False (tests of readiness only) comes from test_config, never the environment
    load_model = (test_config or {}).get("LOAD_MODEL", True)
    try:
        settings = config.from_mapping(app.config)
        predictor = Predictor.load(settings.artifact) if load_model else None
    except config.ConfigError as e:
        _refuse(str(e))
    except ArtifactError as e:
        reason = " ".join(str(e).split())  # one line, whatever the message
        where = "" if reason.startswith(settings.artifact) else f" {settings.artifact}"
        _refuse(f"cannot load artifact{where}: {reason}")
    app.config["MAX_CONTENT_LENGTH"] = settings.limits.max_body_bytes  # also enforced on chunked bodies
    requestlog.setup(settings.log_level)
    metrics = Metrics()
    if predictor is not None:
        art = predictor.artifact
        metrics.model.labels(art.name, art.version, art.config.head).set(1)
    app.extensions.update({"nametag": predictor, "nametag.settings": settings, "nametag.metrics": metrics})
    # auth before the limiter: the limit counts by the accepted key's name
    for bp in (errors.bp, hooks.bp, auth.bp, tag.bp, redact.bp, restore.bp, ops.bp, page.bp):
        app.register_blueprint(bp)
    ratelimit.setup(app, settings)
    return app


def _refuse(message: str):
    print(f"nametag: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CANNOT_START) from None
