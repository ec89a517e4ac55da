"""Health, readiness, model metadata, metrics and the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from . import openapi, schemas
from .current import loaded, settings
from .decorators import doc

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@doc({200: ("The process is alive.", schemas.status)})
def healthz():
    """Liveness."""
    return {"status": "ok"}


@bp.get("/readyz")
@doc({200: ("The model is loaded.", schemas.status), 503: ("Not ready yet.", schemas.problem)})
def readyz():
    """Readiness: 200 once the model is loaded, 503 before."""
    loaded()
    return {"status": "ready"}


@bp.get("/model")
@doc({200: ("The loaded model.", schemas.model_info), 503: ("Not ready yet.", schemas.problem)})
def model():
    """The loaded model: name, version, head, sizes, labels, limits, training data checksums, metrics."""
    return loaded().info(settings().limits)


@bp.get("/metrics")
@doc({200: ("Prometheus text exposition format.", "text")})
def metrics():
    """Request counts, latencies, tokens tagged and model info, in Prometheus text format."""
    data = current_app.extensions["nametag.metrics"].exposition()
    return Response(data, mimetype="text/plain", content_type="text/plain; version=0.0.4; charset=utf-8")


@bp.get("/openapi.json")
@doc({200: ("This document.", None)})
def openapi_json():
    """The OpenAPI 3 document of this service, generated from its schemas."""
    ext = current_app.extensions
    if "nametag.openapi" not in ext:  # generated once, after every blueprint is registered
        ext["nametag.openapi"] = openapi.generate(current_app)
    return ext["nametag.openapi"]
