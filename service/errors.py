"""One error shape for every failure: RFC 9457 problem details."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .inputs import TokenRefused

bp = Blueprint("errors", __name__)
log = logging.getLogger("nametag")
PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, errors: dict | None = None):
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES[status], "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = PROBLEM_JSON
    return resp


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"inputs.0.text": [...]}; "_schema" errors
    belong to the object itself ("body" at the top)."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": messages}
    if isinstance(messages, str):
        return {prefix or "body": [messages]}
    out: dict[str, list[str]] = {}
    for key, sub in (messages.items() if isinstance(messages, dict) else enumerate(messages)):
        path = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        for k, v in flatten(sub, path).items():
            out.setdefault(k, []).extend(v)
    return out


@bp.app_errorhandler(ValidationError)
def validation_error(e: ValidationError):
    return problem(422, "The request body does not match the schema.",
                   flatten(e.normalized_messages()))


@bp.app_errorhandler(TokenRefused)
def token_refused(e: TokenRefused):
    """A restore token that does not open: the reason is the detail (and the field's message)."""
    return problem(422, e.messages[0], {"restore_token": list(e.messages)})


@bp.app_errorhandler(HTTPException)
def http_error(e: HTTPException):
    if e.code >= 500 and e.code != 503:
        return internal_error(e)
    detail = e.description
    if e.code == 413:
        detail = f"The request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    elif e.code == 429:  # flask-limiter's: the description is the limit, e.g. "600 per 1 minute"
        detail = f"Too many requests: the limit is {e.description}. Retry after the seconds in Retry-After."
    resp = problem(e.code, detail, getattr(e, "errors", None))
    for name, value in e.get_headers():  # e.g. Allow on 405
        if name.lower() != "content-type":
            resp.headers[name] = value
    return resp


@bp.app_errorhandler(Exception)
def internal_error(e: Exception):
    log.error("unhandled exception", exc_info=getattr(e, "original_exception", None) or e)
    return problem(500, "The server failed to answer this request; the error is logged.")
