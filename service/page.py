"""GET /: the web page (``service/static/``: one HTML, one script, one style sheet; no
CDN, no build step), and the security headers every answer carries."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response

from .api import doc

bp = Blueprint("page", __name__)
PAGE = Path(__file__).with_name("static") / "index.html"  # its script and style sheet: /static/

# Scripts, styles, images and requests from this origin only: no inline script or style,
# no plugins, no framing, no <base> tricks.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")


@bp.get("/")
@doc({200: ("The web page (HTML): paste a text, see the names.", None)})
def index():
    """The web page: tags a text through POST /tag and shows the names.

    `/?text=...` fills the text box and tags it on load. When the service needs an
    API key, the page asks for one (a browser that asks for / without a key gets
    this same page in a 401) and sends it on its own requests.
    """
    return page_response()


def page_response() -> Response:
    return Response(PAGE.read_bytes(), mimetype="text/html")  # read whole: no file left open


@bp.after_app_request
def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
