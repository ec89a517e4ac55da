"""apifairy-style view decorators: ``body`` reads, validates and adapts the JSON
body; ``doc`` records what a route answers, for /openapi.json."""
from __future__ import annotations

import time
from functools import wraps

from flask import g, request
from werkzeug.exceptions import UnsupportedMediaType

from .body import parse_json, read_body
from .current import settings, stage_times


def body(schema, adapt=None, fast=None):
    """Load the body with `schema`, then `adapt(loaded, limits)` (tokenize, apply the
    limits); the view gets the result, which is also kept as ``g.body`` for the
    request's accounting. `fast(data, limits)`, when given, returns the same result
    for the requests it is sure of without the schema, else None (service.fastpath).
    All of it is the route's preprocess time."""
    def decorator(f):
        @wraps(f)
        def view(*args, **kwargs):
            t0 = time.perf_counter()
            if not request.is_json:
                raise UnsupportedMediaType("Send a JSON body with Content-Type: application/json.")
            s = settings()
            data = parse_json(read_body(s.body_timeout, s.limits.max_body_bytes))
            loaded = fast(data, s.limits) if fast is not None else None
            if loaded is None:
                loaded = schema.load(data)
                if adapt is not None:
                    loaded = adapt(loaded, s.limits)
            g.body = loaded
            stage_times().preprocess.observe(time.perf_counter() - t0)
            return f(loaded, *args, **kwargs)

        view._apidoc = dict(getattr(f, "_apidoc", {}), body=schema)
        return view
    return decorator


def doc(responses: dict[int, tuple[str, object]]):
    """responses: {status: (description, schema or None)}."""
    def decorator(f):
        f._apidoc = dict(getattr(f, "_apidoc", {}), responses=responses)
        return f
    return decorator
