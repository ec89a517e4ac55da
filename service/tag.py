"""POST /tag."""
from __future__ import annotations

from flask import Blueprint

from . import fastpath, inputs, schemas
from .current import loaded, stage_times
from .decorators import body, doc
from .inputs import TagRequest

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
    inputs.check_entities(req.entities, predictor.artifact.types)
    results = predictor.tag(req, stage_times()) if req.inputs else []
    return {"results": results} if req.batch else results[0]
