"""The app's objects a request reads, each behind one accessor: ``settings`` (the
one configuration object), ``loaded`` (the model, and the one readiness check) and
``stage_times`` (this route's stage histograms)."""
from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import ServiceUnavailable

from .config import Settings
from .metrics import StageTimes
from .predictor import Predictor


def settings() -> Settings:
    return current_app.extensions["nametag.settings"]


def loaded() -> Predictor:
    """The app's Predictor, or 503 while the model is not loaded."""
    predictor = current_app.extensions["nametag"]
    if predictor is None:
        raise ServiceUnavailable("The model is not loaded yet.")
    return predictor


def stage_times() -> StageTimes:
    """This route's preprocess / predict / postprocess histograms."""
    return current_app.extensions["nametag.metrics"].stages(request.url_rule.rule)
