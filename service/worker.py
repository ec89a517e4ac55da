"""gunicorn's gthread worker, accepting new connections only while it has a free thread.

gunicorn's own gthread worker accepts every connection as soon as the shared
listening socket is readable, whether or not a thread is free to serve it. A
client that opens a pool of keep-alive connections at once (a proxy upstream, a
load generator) then finds one worker holding them all, queued behind its busy
threads, while the other workers idle: measured with 16 clients sending
64-sentence batches, one worker at 1.1 cores and the other at 0.0, half the
machine's throughput. Here a worker with every thread busy stops listening, so
the next connection goes to a worker that can serve it; connections it already
holds stay with it (keep-alive), and the shared socket (held by the master too)
keeps queueing while a worker restarts.

Used by ``service/gunicorn.conf.py`` (``worker_class``). It relies on gthread's
``enqueue_req`` / ``finish_request`` / ``set_accept_enabled`` (gunicorn 27, pinned
in the locks); ``tests/test_gunicorn.py`` checks the spread over real workers.
"""
from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker as _GThreadWorker


class ThreadWorker(_GThreadWorker):
    """gthread, listening only while fewer than ``threads`` requests are in its threads
    (busy is counted on the worker's main thread, which alone calls these methods)."""

    busy = 0

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self.busy < self.cfg.threads)

    def enqueue_req(self, conn) -> None:
        self.busy += 1
        super().enqueue_req(conn)
        self._update_accepting()

    def finish_request(self, conn, fs) -> None:
        self.busy -= 1
        super().finish_request(conn, fs)  # may enqueue the connection's next request at once
        self._update_accepting()

    def _update_accepting(self) -> None:
        if self.alive:
            self.set_accept_enabled(self.nr_conns < self.worker_connections)
