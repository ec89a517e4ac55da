"""The rate limit shared by gunicorn's workers through a real Redis (Debian's
redis-server, started here on a loopback port with its files in a temporary
directory, stopped by its pid), and, for contrast, counted by each worker alone
with the default memory:// storage.

Each request goes over a connection that a known worker holds (read from /proc),
alternating between the two workers, so the counts are shown to be shared, or not.
Where redis-server is not installed the Redis tests skip, saying why; under CI
(the CI variable set) they fail instead: .ci/run installs it.
"""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time

import pytest
from conftest import tool

from harness import SEED_TEXT, Gunicorn, connections, free_port, wait_workers
from model import apikeys as keys

pytestmark = pytest.mark.slow

ALICE, BOB = keys.new_key(), keys.new_key()


def need_redis() -> str:
    """redis-server's path; where it is missing the test skips, and fails in CI (conftest.need)."""
    return tool("redis-server", "apt-get install redis-server; .ci/run installs it")


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Redis:
    """redis-server on a free loopback port, its files in `where`; stop() by its pid."""

    def __init__(self, where):
        self.port, self.where = free_port(), where
        self.proc = start_redis(need_redis(), self.port, where)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    redis = Redis(tmp_path_factory.mktemp("redis"))
    try:
        yield redis.port
    finally:
        redis.stop()


def start_redis(server: str, port: int, where) -> subprocess.Popen:
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(where), "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes", "--logfile", str(where / "log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not redis_ping(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            proc.wait(20)
            pytest.fail(f"redis-server did not answer PING in 20 s (exit {proc.returncode}): "
                        f"{(where / 'log').read_text() if (where / 'log').exists() else ''}")
        time.sleep(0.02)
    return proc


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "keys"
    path.write_text(f"{keys.file_line(ALICE, 'alice')}\n{keys.file_line(BOB, 'bob')}\n")
    return path


def worker_connections(server, n_workers: int = 2, most: int = 64) -> dict[int, http.client.HTTPConnection]:
    """One open connection held by each worker: connections are opened until every
    worker holds one (at most `most`); the others are closed."""
    pids = wait_workers(server.pid, n_workers)
    held: dict[int, http.client.HTTPConnection] = {}
    spare = []
    for _ in range(most):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.connect()
        local = conn.sock.getsockname()[1]
        owner = accepted_by(pids, server.port, local)
        if owner is not None and owner not in held:
            held[owner] = conn
        else:
            spare.append(conn)
        if len(held) == n_workers:
            break
    for conn in spare:
        conn.close()
    assert len(held) == n_workers, f"{most} connections all went to {set(held)}"
    return held


def accepted_by(pids: list[int], port: int, local: int, timeout: float = 5) -> int | None:
    """The worker that accepted the connection from our port `local` (None if none did in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in pids:
            if local in connections(pid, port):
                return pid
        time.sleep(0.005)
    return None


def tag(conn: http.client.HTTPConnection, key: str) -> http.client.HTTPResponse:
    conn.request("POST", "/tag", body=json.dumps({"text": SEED_TEXT}),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    resp = conn.getresponse()
    resp.body = resp.read()
    return resp


def twelve_alternating(server, key: str) -> list[http.client.HTTPResponse]:
    held = list(worker_connections(server).values())
    try:
        return [tag(held[i % 2], key) for i in range(12)]
    finally:
        for conn in held:
            conn.close()


def test_two_workers_share_one_count_in_redis(start_gunicorn, redis_port, keys_file):
    server = start_gunicorn({"NAMETAG_API_KEYS_FILE": str(keys_file), "NAMETAG_RATE_LIMIT": "5/minute",
                             "NAMETAG_RATE_LIMIT_STORAGE": f"redis://127.0.0.1:{redis_port}/0"})
    server.wait_ready()
    answers = twelve_alternating(server, ALICE)
    assert [a.status for a in answers] == [200] * 5 + [429] * 7
    for a in answers[5:]:
        assert 0 <= int(a.getheader("Retry-After")) <= 60
        assert a.getheader("X-RateLimit-Limit") == "5" and a.getheader("X-RateLimit-Remaining") == "0"
        assert a.getheader("Content-Type") == "application/problem+json"
        assert json.loads(a.body)["status"] == 429
    others = twelve_alternating(server, BOB)[:2]  # a second key, on both workers: its own count
    assert [a.status for a in others] == [200, 200]
    assert [a.getheader("X-RateLimit-Remaining") for a in others] == ["4", "3"]
    assert "Traceback" not in server.stderr() + server.stdout()


def test_with_memory_storage_each_worker_counts_alone(start_gunicorn, keys_file):
    server = start_gunicorn({"NAMETAG_API_KEYS_FILE": str(keys_file), "NAMETAG_RATE_LIMIT": "5/minute"})
    server.wait_ready()
    answers = twelve_alternating(server, ALICE)
    assert [a.status for a in answers] == [200] * 10 + [429] * 2  # five on each worker


def test_without_redis_each_worker_counts_in_memory_and_keeps_answering(tmp_path, keys_file):
    redis = Redis(tmp_path)
    env = {"NAMETAG_API_KEYS_FILE": str(keys_file), "NAMETAG_RATE_LIMIT": "5/minute",
           "NAMETAG_RATE_LIMIT_STORAGE": f"redis://127.0.0.1:{redis.port}/0"}
    try:
        with Gunicorn(env=env, workers=1, log_dir=tmp_path) as server:
            server.wait_ready()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            before = [tag(conn, ALICE).status for _ in range(3)]  # counted in Redis
            redis.stop()
            after = [tag(conn, ALICE).status for _ in range(6)]  # counted in the worker's memory, from 0
            conn.close()
            out = server.stdout()
    finally:
        redis.stop()
    assert before == [200] * 3 and after == [200] * 5 + [429]
    warnings = [json.loads(line) for line in out.splitlines() if '"level":"warning"' in line]
    assert [(w["logger"], w["msg"]) for w in warnings] == [
        ("flask-limiter", "Rate limit storage unreachable - falling back to in-memory storage")]
    assert "Traceback" not in out + server.stderr()
