"""Clients the reliability tests and the bench aim at a real gunicorn on loopback: a
load of kept-alive clients posting batches, and a client trickling its body a byte at
a time. The tests assert what happens; the bench times it."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import NamedTuple

JSON = {"Content-Type": "application/json"}
TRICKLE_HEAD = (b"POST /tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1024\r\n\r\n")


class Answer(NamedTuple):
    """One answer to a load client: which client, its status, when sent and received
    (time.perf_counter)."""
    client: int
    status: int
    sent: float
    received: float


class Load:
    """`clients` threads, each posting `body` to `path` over its own kept-alive
    connection again and again while the `with` block runs; every answer lands in
    `answers`.

        with Load(port, body, clients=16) as load:
            ...  # load.answers, load.clients_answered(), load.running()
    """

    def __init__(self, port: int, body: str, clients: int = 16, path: str = "/tag"):
        self.port, self.body, self.path = port, body, path
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def _client(self, i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while not self._stop.is_set():
                sent = time.perf_counter()
                conn.request("POST", self.path, self.body, JSON)
                resp = conn.getresponse()
                resp.read()
                self.answers.append(Answer(i, resp.status, sent, time.perf_counter()))
        finally:
            conn.close()

    def clients_answered(self) -> int:
        """How many of the clients have had at least one answer."""
        return len({a.client for a in list(self.answers)})

    def failures(self) -> list[int]:
        """The statuses of the answers that were not 200."""
        return [a.status for a in self.answers if a.status != 200]

    def running(self) -> bool:
        """Whether the load is still going: not stopped, and every client alive."""
        return not self._stop.is_set() and all(t.is_alive() for t in self._threads)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


class Trickled(NamedTuple):
    """How a trickled body ended: the status the server answered (None when it closed
    the connection, or never answered), whether the server ended it (False: the client
    gave up), and the seconds from connecting to the end."""
    status: int | None
    by_server: bool
    seconds: float


def trickle(port: int, stop: threading.Event, every: float) -> Trickled:
    """POST /tag declaring a 1 KiB body and sending one byte every `every` s (a slow
    client's pace, not a bound) until the server answers or closes the connection, or
    until `stop` is set."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=every) as s:
        s.sendall(TRICKLE_HEAD)
        while not stop.is_set():
            try:
                s.sendall(b" ")
                head = s.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                head = b""
            status = int(head.split()[1]) if head else None  # an answer, or closed
            return Trickled(status, True, time.perf_counter() - t0)
        return Trickled(None, False, time.perf_counter() - t0)


def trickle_all(port: int, clients: int, stop: threading.Event, every: float) -> tuple[list, list[Trickled]]:
    """`clients` threads, each trickling a body (started): (the threads, the list their
    ends land in)."""
    ends: list[Trickled] = []
    threads = [threading.Thread(target=lambda: ends.append(trickle(port, stop, every))) for _ in range(clients)]
    for t in threads:
        t.start()
    return threads, ends
