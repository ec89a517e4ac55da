"""API keys on the HTTP routes, when ``NAMETAG_API_KEYS_FILE`` is set.

Every route but the probes (/healthz, /readyz) and the page's static files needs
``Authorization: Bearer <key>``; a missing or wrong key gets 401 with
``WWW-Authenticate: Bearer`` (RFC 6750) and the problem+json body of every error.
GET / from a browser, which cannot send the header when it navigates, gets the
page in its 401: the page asks for the key and sends it on its own requests.
The accepted key's name is ``g.key_name`` (for the rate limit, the request log and
the metrics). ``model.apikeys`` holds the file and the constant-time matching.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, request

from . import page
from .current import settings
from .errors import problem

bp = Blueprint("auth", __name__)
OPEN = frozenset({"ops.healthz", "ops.readyz", "static"})  # the probes; the page's script, style and icon
ANONYMOUS = "anonymous"
MISSING = "This service needs an API key: send it as the header Authorization: Bearer <key>."
REFUSED = "The API key is not accepted."


@bp.before_app_request
def authenticate():
    ring = settings().api_keys
    if ring is None or request.endpoint in OPEN:
        return None
    metrics = current_app.extensions["nametag.metrics"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        metrics.auth_child(ANONYMOUS, "missing").inc()
        return refuse(MISSING, 'Bearer realm="nametag"')
    name = ring.match(token)
    if name is None:
        metrics.auth_child(ANONYMOUS, "refused").inc()
        return refuse(REFUSED, 'Bearer realm="nametag", error="invalid_token"')
    metrics.auth_child(name, "accepted").inc()
    g.key_name = name
    return None


def refuse(detail: str, challenge: str):
    """401: the page for a browser asking for GET /, problem details for anyone else."""
    if request.endpoint == "page.index" and request.method == "GET" and \
            request.accept_mimetypes.best_match(["application/problem+json", "text/html"]) == "text/html":
        resp = page.page_response()
    else:
        resp = problem(401, detail)
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = challenge
    resp.headers["Cache-Control"] = "no-store"
    return resp
