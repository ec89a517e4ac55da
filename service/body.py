"""Reading a request body: within a deadline, within the size limit, and as
strict JSON (RFC 8259). Raises the HTTP errors (400, 408, 413) the error
blueprint turns into problem details."""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager, suppress

from flask import request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, RequestTimeout

from . import jsonio
from .jsonio import MalformedJSON  # noqa: F401  (raised by parse_json)


def parse_json(raw: bytes):
    """Strict RFC 8259: UTF-8 only, no NaN/Infinity, no duplicate keys (``service.jsonio``)."""
    return jsonio.loads(raw)


class _Watchdog:
    """One thread per worker process that cuts off request bodies past their deadline.

    Registering a socket costs a dict insert under a lock; a thread per request
    (threading.Timer) cost more than the JSON parsing. Started lazily in the
    process that serves (never in a gunicorn master before fork).
    """

    TICK = 0.1  # seconds: how late past its deadline a body may be cut

    def __init__(self):
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, socket.socket, threading.Event]] = {}
        self._pid = None

    def watch(self, sock, seconds: float) -> tuple[int, threading.Event]:
        fired = threading.Event()
        with self._lock:
            if self._pid != os.getpid():  # first use in this process: start its thread
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="nametag-body-deadline", daemon=True).start()
            key = id(fired)
            self._watched[key] = (time.monotonic() + seconds, sock, fired)
        return key, fired

    def unwatch(self, key: int) -> None:
        with self._lock:
            self._watched.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                due = [k for k, (when, _, _) in self._watched.items() if when <= now]
                expired = [self._watched.pop(k) for k in due]
            for _, sock, fired in expired:
                fired.set()
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)  # a blocked read returns at once


_WATCHDOG = _Watchdog()


@contextmanager
def deadline(seconds: float):
    """Yield a function telling whether `seconds` have passed; when they do, stop
    reading the request (shut the socket's read side, so a blocked read returns).
    gunicorn reads the body with no deadline of its own: without this, a client
    sending its body a byte at a time holds a gthread thread for as long as it likes."""
    sock = request.environ.get("gunicorn.socket")
    if sock is None:  # not under gunicorn (tests, other servers): nothing to cut
        yield lambda: False
        return
    key, fired = _WATCHDOG.watch(sock, seconds)
    try:
        yield fired.is_set
    finally:
        _WATCHDOG.unwatch(key)


def read_body(timeout: float, limit: int) -> bytes:
    """The request body, at most `limit` bytes, chunked or not (413 beyond; Flask's
    MAX_CONTENT_LENGTH must be the same), within `timeout` seconds (408 beyond);
    400 when it cannot be read (bad chunking)."""
    with deadline(timeout) as expired:
        try:
            data = request.get_data(cache=False)  # werkzeug stops at the limit without a Content-Length
            if request.content_length is None and len(data) >= limit and request.environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()
        except Exception as e:  # gunicorn's InvalidChunkSize, NoMoreData...; werkzeug's ClientDisconnected
            if not expired():
                if isinstance(e, HTTPException) and e.code != 400:
                    raise
                raise BadRequest("The request body could not be read (malformed chunked encoding, "
                                 "or shorter than its Content-Length).") from None
        if expired():  # whatever was read is a cut-off body
            raise RequestTimeout(f"The request body did not arrive within {timeout} seconds.")
    return data
