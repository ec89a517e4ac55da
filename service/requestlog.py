"""One JSON line per request on stdout, plus JSON error records.

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


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}))
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return _line(record.created, record.levelname.lower(), record.name, record.getMessage(), fields)


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


def setup(level: str) -> logging.Logger:
    """The "nametag" logger, writing JSON lines to stdout at level."""
    log = logging.getLogger("nametag")
    if not any(getattr(h, "_nametag", False) for h in log.handlers):
        handler = StdoutHandler(sys.stdout)
        handler.setFormatter(JSONFormatter())
        handler._nametag = True
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())
    return log
