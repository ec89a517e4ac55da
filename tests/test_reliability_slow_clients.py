"""Slow clients: a request body trickled a byte at a time must not hold a
worker (or a gthread thread) past a timeout.

gunicorn's advice is a buffering proxy in front (nginx buffers the whole
request before passing it on); without one, gthread threads wait on the socket
with no deadline of their own and the sync worker is only freed when the
arbiter kills it after ``--timeout``. The service therefore reads the body
under its own deadline (``NAMETAG_BODY_TIMEOUT``) and answers 408.
"""
from __future__ import annotations

import threading

import pytest
from conftest import until

from harness import SEED_TEXT, connections, trickle_all, wait_workers
from http_load import Req, figures, send

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("worker_class", ["gthread", "sync"])
def test_trickled_body_does_not_hold_a_worker(start_gunicorn, worker_class):
    """Clients sending their body a byte at a time take every thread of the only
    worker; the server cuts them off (the body deadline, or the sync worker's watchdog)
    and the worker answers others again, while the slow clients would go on sending.
    How soon, against the deadline: the bench's Reliability."""
    timeout = 3
    env = {"WEB_CONCURRENCY": "1", "NAMETAG_BODY_TIMEOUT": str(timeout)}
    if worker_class == "sync":  # gunicorn's own watchdog: a silent worker is killed after --timeout
        env.update(NAMETAG_BODY_TIMEOUT="600", GUNICORN_CMD_ARGS=f"--worker-class sync --threads 1 --timeout {timeout}")
    server = start_gunicorn(env)
    server.wait_ready()
    worker = wait_workers(server.pid, 1)[0]
    n = 2 if worker_class == "gthread" else 1  # threads per worker in gunicorn.conf.py
    stop = threading.Event()
    threads, trickled = trickle_all(server.port, n, stop, every=0.25)
    try:
        until(lambda: len(connections(worker, server.port)) == n, "the worker took every slow client")
        res = send(server.port, Req.post("text", {"text": SEED_TEXT}), timeout=60)
        until(lambda: len(trickled) == n, "the slow clients' ends")
    finally:
        stop.set()  # the slow clients give up only if the server never cut them off
        for t in threads:
            t.join(60)
    figures(f"slow client ({worker_class})", trickled=trickled)
    assert res.status == 200
    assert [t.by_server for t in trickled] == [True] * n  # cut off by the server, not by giving up
    if worker_class == "gthread":  # the app cut them off with a problem
        assert [t.status for t in trickled] == [408] * n
    assert server.stop() == 0
