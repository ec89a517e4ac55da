"""One JSON line per request on stdout, plus JSON error records."""
from __future__ import annotations

import json
import logging
import sys
import time


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z", "level": record.levelname.lower(),
                "logger": record.name, "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (pytest swaps it per test)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


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
