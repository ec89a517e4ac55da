"""POST /restore: a text holding pseudonyms (an LLM's answer) and the restore token of the
redaction they came from -> the text with the names back (``model.restore``)."""
from __future__ import annotations

from flask import Blueprint, g

from model.restore import answer, restore

from . import inputs, schemas
from .current import settings
from .decorators import body, doc
from .inputs import RestoreRequest, TokenRefused

bp = Blueprint("restore", __name__)


def _restore_request(data: dict, limits) -> RestoreRequest:
    try:
        return inputs.restore_request(data, limits, settings().sealer)
    except TokenRefused as e:
        g.restore_outcome = e.outcome  # counted by the request's accounting (service.hooks)
        raise


@bp.post("/restore")
@body(schemas.restore_request, _restore_request)
@doc({200: ("One result per text; a batch gets {\"results\": [...]} in input order.",
            (schemas.restore_result, schemas.restore_batch)),
      422: ("The body does not match the schema, or the restore_token does not open (not a token, "
            "altered, truncated, sealed under another key, expired) or this deployment has no "
            "NAMETAG_RESTORE_KEY: `detail` says which. Nothing is restored.", schemas.problem)})
def restore_names(req: RestoreRequest):
    """Put the names back into a text holding pseudonyms, e.g. an LLM's answer.

    Every <PERSON_n> the token holds is replaced by its name, in the forms LLMs write it
    too (<person_1>, PERSON_1, <PERSON_1>'s); the exact text POST /redact answered comes
    back byte for byte. Placeholders the token does not hold are left and listed as unknown.
    """
    results = [answer(text, restore(text, req.book), req.offsets) for text in req.texts]
    g.restore_outcome = "restored"
    return {"results": results} if req.batch else results[0]
