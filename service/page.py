"""GET /: the web page (``service/static/``: one HTML, one script, one style sheet; no
CDN, no build step)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response

from .decorators import doc

bp = Blueprint("page", __name__)
PAGE = Path(__file__).with_name("static") / "index.html"  # its script and style sheet: /static/


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
