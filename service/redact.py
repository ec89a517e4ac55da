"""POST /redact."""
from __future__ import annotations

from flask import Blueprint, g

from . import inputs, schemas
from .current import loaded, settings, stage_times
from .decorators import body, doc
from .inputs import RedactRequest

bp = Blueprint("redact", __name__)


@bp.post("/redact")
@body(schemas.redact_request,
      lambda data, limits: inputs.redact_request(data, limits, settings().redact_key, settings().sealer))
@doc({200: ("One result per text; a batch gets {\"results\": [...]} in input order.",
            (schemas.redact_result, schemas.redact_batch)),
      503: ("The model is not loaded yet.", schemas.problem)})
def redact(req: RedactRequest):
    """Take the people's names out of a text or a batch of texts.

    Each name is replaced as the operator says; for every item,
    input[start:end] == text and output[out_start:out_end] == replacement.
    With restorable (operator pseudonym), the answer carries a restore_token for POST /restore.
    """
    predictor = loaded()
    inputs.check_entities(req.tag.entities, predictor.artifact.types)
    g.results, book = predictor.redact(req.tag, req.operator, stage_times(), req.book, req.restorable)
    out = {"results": g.results} if req.tag.batch else g.results[0]
    if book is not None:
        out["restore_token"] = settings().sealer.seal(book)
    return out
