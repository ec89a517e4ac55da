"""One JSON line per request on stdout, plus JSON error records; no request text in either.

A request's text, tokens and API key never reach a log. The request line holds the
method, the path (never the query string), the status, the time, the token count
and the accepted key's name. A traceback (``safe_traceback``) holds each frame's
file, line, function and source line and each exception's type, but no exception's
message or arguments (a ``KeyError('Harry')`` or a message quoting the text would
carry it) and no locals; a record logged with a traceback is written as its message
template, without the arguments (gunicorn's "Error handling request %s" would add
the URL with its query string). ``SafeFormatter`` does the same for gunicorn's
error log (``service/gunicorn.conf.py``).

``request`` writes the per-request line: when the "nametag" logger has only
its own stdout handler (always, unless someone added another), the line is
formatted with orjson and written under the handler's lock, without building
a LogRecord (whose caller lookup and attribute set cost more than the line);
otherwise it goes through ``log.info`` like any record. Same line either way.
"""
from __future__ import annotations

import json
import logging
import sys
import time
import traceback

import orjson

_second = (-1, "")  # the second last formatted: (int seconds, "YYYY-MM-DDTHH:MM:SS"), replaced whole


def timestamp(t: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-27T07:40:45.123Z."""
    global _second
    sec, prefix = _second
    if sec != int(t):
        sec, prefix = int(t), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
        _second = (sec, prefix)
    return f"{prefix}.{int((t - sec) * 1000):03d}Z"


def _line(created: float, level: str, name: str, msg: str, fields: dict) -> str:
    line = {"ts": timestamp(created), "level": level, "logger": name, "msg": msg, **fields}
    try:
        return orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an unpaired surrogate in a message: escaped, never lost
        return json.dumps(line, default=repr)


WITHHELD = "(message withheld: it may quote the request)"


def _chain(exc: BaseException) -> list[BaseException]:
    """exc and the exceptions it was raised from or during, oldest first (as Python prints them)."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ if exc.__cause__ is not None else \
            None if exc.__suppress_context__ else exc.__context__
    return chain[::-1]


def safe_traceback(exc_info) -> str:
    """A traceback as Python prints it, less every exception's message and with no locals."""
    exc = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if exc is None:
        return ""
    lines: list[str] = []
    chain = _chain(exc)
    for i, e in enumerate(chain):
        if i:
            lines.append("\nThe above exception was the direct cause of the following exception:\n\n"
                         if e.__cause__ is chain[i - 1] else
                         "\nDuring handling of the above exception, another exception occurred:\n\n")
        if e.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_list(traceback.extract_tb(e.__traceback__)))  # no locals
        kind = type(e)
        name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else \
            f"{kind.__module__}.{kind.__qualname__}"
        lines.append(f"{name}: {WITHHELD}\n")
    return "".join(lines).rstrip("\n")


def message(record: logging.LogRecord) -> str:
    """The record's message; for a record with a traceback, its template alone."""
    return str(record.msg) if record.exc_info and record.args else record.getMessage()


class SafeFormatter(logging.Formatter):
    """logging.Formatter (any format string) with ``message`` and ``safe_traceback``."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info:  # a copy: exc_text may hold another formatter's full traceback
            record = logging.makeLogRecord({**record.__dict__, "msg": message(record), "args": None,
                                            "exc_text": None})
        return super().format(record)

    def formatException(self, ei) -> str:
        return safe_traceback(ei)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}))
        if record.exc_info:
            fields["exc"] = safe_traceback(record.exc_info)
        return _line(record.created, record.levelname.lower(), record.name, message(record), fields)


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (pytest swaps it per test)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)

    def write_line(self, line: str) -> None:
        with self.lock:
            stream = self.stream = sys.stdout
            stream.write(line + self.terminator)
            stream.flush()


def request(log: logging.Logger, fields: dict, level: int = logging.INFO) -> None:
    """The request's one JSON line at level (info; see the module docstring)."""
    if not log.isEnabledFor(level):
        return
    handlers = log.handlers
    if len(handlers) == 1 and isinstance(handlers[0], StdoutHandler) and not log.filters and not log.propagate \
            and not handlers[0].filters and level >= handlers[0].level:
        handlers[0].write_line(_line(time.time(), logging.getLevelName(level).lower(), log.name, "request", fields))
    else:
        log.log(level, "request", extra={"fields": fields})


# Loggers of the libraries under the app that may log while serving: Flask's app logger
# ("service": an exception in an error handler), flask-limiter's (its storage unreachable).
OTHER_LOGGERS = ("service", "flask-limiter")


def setup(level: str) -> logging.Logger:
    """The "nametag" logger, writing JSON lines to stdout at level; the OTHER_LOGGERS
    write the same JSON records (warnings and above) to the same handler."""
    log = logging.getLogger("nametag")
    handler = next((h for h in log.handlers if getattr(h, "_nametag", False)), None)
    if handler is None:
        handler = StdoutHandler(sys.stdout)
        handler.setFormatter(JSONFormatter())
        handler._nametag = True
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())
    for name in OTHER_LOGGERS:
        other = logging.getLogger(name)
        if handler not in other.handlers:
            other.handlers[:] = [handler]
            other.propagate = False
        other.setLevel(max(logging.WARNING, log.level))
    return log
