"""POST /tag and POST /redact."""
from __future__ import annotations

from flask import Blueprint, current_app

from . import fastpath, inputs, schemas
from .api import body, doc, loaded, settings, stage_times
from .inputs import RedactRequest, TagRequest

bp = Blueprint("tag", __name__)


@bp.post("/tag")
@body(schemas.tag_request, inputs.tag_request, fastpath.tag_request)
@doc({200: ("One result per input; a batch gets {\"results\": [...]} in input order.",
            (schemas.tag_result, schemas.tag_batch)),
      503: ("The model is not loaded yet.", schemas.problem)})
def tag(req: TagRequest):
    """Find people's names in a text, a token list or a batch of them.

    Every input of a batch goes through the network in one batch.
    """
    predictor = loaded()
    results = predictor.tag(req, stage_times()) if req.inputs else []
    return {"results": results} if req.batch else results[0]


@bp.post("/redact")
@body(schemas.redact_request, lambda data, limits: inputs.redact_request(data, limits, settings().redact_key))
@doc({200: ("One result per text; a batch gets {\"results\": [...]} in input order.",
            (schemas.redact_result, schemas.redact_batch)),
      503: ("The model is not loaded yet.", schemas.problem)})
def redact(req: RedactRequest):
    """Take the people's names out of a text or a batch of texts.

    Each name is replaced as the operator says; for every item,
    input[start:end] == text and output[out_start:out_end] == replacement.
    """
    predictor = loaded()
    results = predictor.redact(req.tag, req.operator, stage_times()) if req.inputs else []
    current_app.extensions["nametag.metrics"].redactions.labels(req.operator.name).inc(
        sum(len(r["items"]) for r in results))
    return {"results": results} if req.tag.batch else results[0]
