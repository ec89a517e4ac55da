"""The rate limit (``NAMETAG_RATE_LIMIT``), by flask-limiter.

One count per API key name (``g.key_name``, set by ``service.auth``), or per client
address when keys are off, shared by every route but the probes and the static
files. The count lives in ``NAMETAG_RATE_LIMIT_STORAGE``: ``memory://`` counts in
each worker process alone (with 2 workers a client may get up to twice the
limit); ``redis://`` shares one count across workers and replicas, and while
Redis cannot be reached (no answer within REDIS_TIMEOUT) each worker counts in
memory until it can again (flask-limiter checks it again after 1, 2, 4... seconds).
Over the limit: 429 problem+json (``service.errors``) with ``Retry-After`` and
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``.
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, request
from flask_limiter import Limiter, RequestLimit

from .auth import ANONYMOUS, OPEN
from .config import Settings

bp = Blueprint("ratelimit", __name__)
REDIS_TIMEOUT = 2.0  # seconds


def client() -> str:
    """What the limit counts by: the key's name, else the client's address."""
    name = g.get("key_name")
    return f"key:{name}" if name is not None else f"addr:{request.remote_addr}"


def exempt() -> bool:
    return request.endpoint in OPEN


def breached(limit: RequestLimit) -> None:
    current_app.extensions["nametag.metrics"].rate_limited.labels(g.get("key_name", ANONYMOUS)).inc()


@bp.after_app_request
def retry_after_on_429_only(response):
    """flask-limiter writes Retry-After on every answer; it means something on a 429 only.
    (Registered before the limiter, so it runs after it.)"""
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def setup(app: Flask, settings: Settings) -> Limiter | None:
    """The app's limiter, or None when no limit is set (nothing is added to a request)."""
    if settings.rate_limit is None:
        return None
    app.register_blueprint(bp)
    shared = not settings.rate_limit_storage.startswith("memory://")
    limiter = Limiter(
        key_func=client, application_limits=[settings.rate_limit], application_limits_exempt_when=exempt,
        storage_uri=settings.rate_limit_storage, strategy="fixed-window", key_prefix="nametag",
        headers_enabled=True, on_breach=breached, in_memory_fallback_enabled=shared,
        # a Redis that does not answer costs a request at most this long, then the worker counts in memory
        storage_options={"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT} if shared else {})
    limiter.init_app(app)
    return limiter
