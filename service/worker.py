"""gunicorn's gthread worker, leaving new connections to an idle worker when its own
threads are all busy.

gunicorn's own gthread worker accepts every connection as soon as the shared
listening socket is readable, whether or not a thread is free to serve it. A
client that opens a pool of keep-alive connections at once (a proxy upstream, a
load generator) then finds one worker holding them all, queued behind its busy
threads, while the other workers idle: measured with 16 clients sending
64-sentence batches, one worker at 1.1 cores and the other at 0.0, half the
machine's throughput. Here a worker whose threads are all busy waits
``ACCEPT_DEFER`` before it accepts, so a worker with a free thread takes the
connection first; when every worker is busy, the connection is still accepted
within that time (never left waiting in the listen queue while the workers serve
their kept-alive clients). Connections a worker holds stay with it (keep-alive),
and the shared socket (held by the master too) keeps queueing while a worker restarts.

Used by ``service/gunicorn.conf.py`` (``worker_class``). It relies on gthread's
``accept`` / ``enqueue_req`` / ``finish_request`` / ``set_accept_enabled`` /
``wait_for_and_dispatch_events`` (gunicorn 27, pinned in the locks);
``tests/test_gunicorn.py`` checks the spread and the bound on real workers.
"""
from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker as _GThreadWorker

ACCEPT_DEFER = 0.002  # seconds a worker with every thread busy leaves a new connection to the others


class ThreadWorker(_GThreadWorker):
    """gthread that defers accepting while ``threads`` requests or more are in its pool.
    All of it runs on the worker's main thread (the poll loop), which alone calls these."""

    busy = 0  # requests handed to the thread pool and not finished
    _defer_until: float | None = None  # while every thread is busy: when to accept anyway

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled and self.busy >= self.cfg.threads:
            now = time.monotonic()
            if self._defer_until is None:
                self._defer_until = now + ACCEPT_DEFER
            enabled = now >= self._defer_until
        else:
            self._defer_until = None
        super().set_accept_enabled(enabled)

    def accept(self, listener) -> None:
        self._defer_until = None  # the next connection waits its turn again
        super().accept(listener)

    def enqueue_req(self, conn) -> None:
        self.busy += 1
        super().enqueue_req(conn)
        self._update_accepting()

    def finish_request(self, conn, fs) -> None:
        self.busy -= 1
        super().finish_request(conn, fs)  # may enqueue the connection's next request at once
        self._update_accepting()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._defer_until is not None and not self._accepting:  # wake when the deferral ends
            timeout = min(timeout, max(self._defer_until - time.monotonic(), 0.0))
        super().wait_for_and_dispatch_events(timeout)

    def _update_accepting(self) -> None:
        if self.alive:
            self.set_accept_enabled(self.nr_conns < self.worker_connections)
