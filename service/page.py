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

    `/?text=...` fills the text box and tags it on load.
    """
    return Response(PAGE.read_bytes(), mimetype="text/html")  # read whole: no file left open
