"""Slow clients: a request body trickled a byte at a time must not hold a
worker (or a gthread thread) past a timeout.

gunicorn's advice is a buffering proxy in front (nginx buffers the whole
request before passing it on); without one, gthread threads wait on the socket
with no deadline of their own and the sync worker is only freed when the
arbiter kills it after ``--timeout``. The service therefore reads the body
under its own deadline (``NAMETAG_BODY_TIMEOUT``) and answers 408.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from harness import SEED_TEXT
from http_load import Req, figures, send

pytestmark = pytest.mark.slow



def trickle(port: int, until: float, results: list, every: float = 0.25) -> None:
    """POST /tag declaring a 1 KiB body and sending one byte every `every` s,
    until the server answers or closes, or `until` (time.monotonic())."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1024\r\n\r\n")
        status = None
        while time.monotonic() < until:
            try:
                s.sendall(b" ")
                s.settimeout(every)
                head = s.recv(65536)
                if head:
                    status = int(head.split()[1])
                break  # an answer, or the server closed the connection
            except TimeoutError:
                continue
            except OSError:
                break
        results.append((status, time.monotonic() - t0))


@pytest.mark.parametrize("worker_class", ["gthread", "sync"])
def test_trickled_body_does_not_hold_a_worker(start_gunicorn, worker_class):
    """Clients sending their body a byte at a time take every thread of the only
    worker; within the timeout they are cut off and the worker answers others again."""
    timeout = 3
    env = {"WEB_CONCURRENCY": "1", "NAMETAG_BODY_TIMEOUT": str(timeout)}
    if worker_class == "sync":  # gunicorn's own watchdog: a silent worker is killed after --timeout
        env.update(NAMETAG_BODY_TIMEOUT="600", GUNICORN_CMD_ARGS=f"--worker-class sync --threads 1 --timeout {timeout}")
    server = start_gunicorn(env)
    server.wait_ready()
    n = 2 if worker_class == "gthread" else 1  # threads per worker in gunicorn.conf.py
    deadline = time.monotonic() + 15
    trickled = []
    threads = [threading.Thread(target=trickle, args=(server.port, deadline, trickled)) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    res = send(server.port, Req.post("text", {"text": SEED_TEXT}), timeout=15)
    recovered = time.monotonic() - t0
    for t in threads:
        t.join(20)
    figures(f"slow client ({worker_class})", recovered_s=round(recovered, 2),
            trickled=[(s, round(d, 2)) for s, d in trickled])
    assert res.status == 200
    assert recovered < timeout + 2.5, recovered
    assert len(trickled) == n and all(d < timeout + 2.5 for _, d in trickled), trickled
    if worker_class == "gthread":  # the app cut them off with a problem
        assert all(s == 408 for s, _ in trickled), trickled
    assert server.stop() == 0
