"""The service under a real gunicorn on loopback, with service/gunicorn.conf.py."""
from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
import requests

from conftest import until

from harness import DEFAULT_ARTIFACT, SEED_TEXT, Load, wait_workers

pytestmark = pytest.mark.slow


def probe_app():
    """A WSGI app reporting what a worker sees: run under the same gunicorn.conf.py."""
    import numpy  # noqa: F401  (imported at preload, like the service)
    from threadpoolctl import threadpool_info

    def app(environ, start_response):
        body = json.dumps({"env": {k: os.environ.get(k) for k in (
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PROMETHEUS_MULTIPROC_DIR")},
            "blas_threads": [p["num_threads"] for p in threadpool_info()]}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return app


def metric(text: str, line_prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(line_prefix))


def test_tag_text_tokens_and_batch(gunicorn_server):
    url = gunicorn_server.url + "/tag"
    res = requests.post(url, json={"text": SEED_TEXT}, timeout=10).json()
    assert res["labels"] == [1, 1, 0, 1, 1, 0, 0, 0, 0, 0]
    assert [e["text"] for e in res["entities"]] == ["Harry Potter", "Hermione Granger"]
    batch = requests.post(url, json={"inputs": [{"text": SEED_TEXT}, {"tokens": ["Ron", "Weasley"]}]},
                          timeout=10).json()["results"]
    assert batch[0] == res and batch[1]["tokens"][1]["start"] == 4


def test_errors_over_http(gunicorn_server):
    url = gunicorn_server.url
    r = requests.post(url + "/tag", data=b'{"text": ', headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json"
    assert requests.post(url + "/tag", data="hi", timeout=10).status_code == 415
    assert requests.post(url + "/tag", json={"tokens": [""]}, timeout=10).status_code == 422
    assert requests.get(url + "/nope", timeout=10).status_code == 404
    r = requests.post(url + "/tag", data=b"x" * (2 << 20), headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 413 and r.json()["status"] == 413


def test_chunked_body_over_the_limit_is_413(gunicorn_server):
    def chunks():  # 2 MiB with no Content-Length
        yield b'{"text": "'
        for _ in range(32):
            yield b"a " * 32768
        yield b'"}'

    r = requests.post(gunicorn_server.url + "/tag", data=chunks(),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 413 and r.headers["Content-Type"] == "application/problem+json"
    # a chunked body under the limit is read whole
    small = requests.post(gunicorn_server.url + "/tag", data=iter([b'{"text": ', json.dumps(SEED_TEXT).encode(), b"}"]),
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert small.status_code == 200 and len(small.json()["labels"]) == 10


def test_workers_see_one_blas_thread_and_a_metrics_dir(start_gunicorn):
    server = start_gunicorn({"PYTHONPATH": str(Path(__file__).parent)}, app="test_gunicorn:probe_app()")
    server.wait_ready("/")
    seen = requests.get(server.url, timeout=10).json()
    assert set(seen["env"].values()) - {"1"} == {seen["env"]["PROMETHEUS_MULTIPROC_DIR"]}
    assert seen["blas_threads"] and set(seen["blas_threads"]) == {1}
    assert os.path.isdir(seen["env"]["PROMETHEUS_MULTIPROC_DIR"])
    assert len(wait_workers(server.pid, 2)) == 2  # WEB_CONCURRENCY
    assert server.stop() == 0
    assert not os.path.exists(seen["env"]["PROMETHEUS_MULTIPROC_DIR"])  # removed on exit


def test_metrics_add_up_across_workers(gunicorn_server):
    assert len(wait_workers(gunicorn_server.pid, 2)) == 2
    url = gunicorn_server.url
    prefix = 'nametag_http_requests_total{method="GET",route="/healthz",status="200"}'
    before = metric(requests.get(url + "/metrics", timeout=10).text, prefix)
    for _ in range(20):  # a new connection each time, so both workers answer some
        assert requests.get(url + "/healthz", timeout=10, headers={"Connection": "close"}).status_code == 200
    text = requests.get(url + "/metrics", timeout=10).text
    assert metric(text, prefix) == before + 20
    assert 'nametag_model_info{head="softmax",name="nametag-conll03-wnut17-glove"' in text
    assert "nametag_http_request_duration_seconds_bucket" in text


def test_json_access_log_on_stdout(gunicorn_server):
    requests.post(gunicorn_server.url + "/tag", json={"text": SEED_TEXT}, timeout=10)

    def tagged():
        lines = [json.loads(line) for line in gunicorn_server.stdout().splitlines() if line.startswith("{")]
        return [r for r in lines if r.get("path") == "/tag" and r.get("tokens") == 10]

    until(tagged, "the request's log line")
    rec = tagged()[-1]
    assert rec["method"] == "POST" and rec["status"] == 200 and rec["duration_ms"] > 0
    assert "GET /healthz HTTP" not in gunicorn_server.stdout() + gunicorn_server.stderr()  # no access log


def polls_listener(pid: int, port: int) -> bool:
    """Whether process pid waits for new connections on its listening socket for port:
    the socket is in one of its epoll sets (/proc/<pid>/fdinfo). A gthread worker takes
    it out when it stops accepting, as it does first on SIGTERM. False once pid is gone."""
    import contextlib

    try:
        listening = {line.split()[9] for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
                     if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A"}
        fds = {fd.name: os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    except OSError:
        return False
    listener_fds = {fd for fd, link in fds.items() if link[8:-1] in listening and link.startswith("socket:[")}
    polled = set()
    for fd, link in fds.items():
        if link == "anon_inode:[eventpoll]":
            with contextlib.suppress(OSError):
                polled |= {line.split()[1] for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines()
                           if line.startswith("tfd:")}
    return bool(listener_fds & polled)


def test_graceful_shutdown_finishes_in_flight_requests(start_gunicorn):
    """SIGTERM while a request is provably in flight: its worker has accepted the
    connection and its body is only half sent. The rest of the body goes once that
    worker has taken the SIGTERM (it stopped polling for new connections); the answer
    is the whole 200, and gunicorn then exits 0."""
    import http.client
    import socket

    from harness import connections

    server = start_gunicorn()
    server.wait_ready()
    workers = wait_workers(server.pid, 2)
    body = json.dumps({"text": SEED_TEXT}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"POST /tag HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        me = s.getsockname()[1]
        until(lambda: any(me in connections(w, server.port) for w in workers), "a worker accepted the request")
        worker = next(w for w in workers if me in connections(w, server.port))
        assert polls_listener(worker, server.port)  # still accepting (one of its two threads is free)
        server.proc.send_signal(signal.SIGTERM)
        until(lambda: not polls_listener(worker, server.port), "the worker took the SIGTERM")
        s.sendall(body[10:])
        answer = http.client.HTTPResponse(s)
        answer.begin()
        assert answer.status == 200
        assert json.loads(answer.read())["labels"] == [1, 1, 0, 1, 1, 0, 0, 0, 0, 0]
    assert server.proc.wait(35) == 0


def _broken_artifact(tmp_path: Path) -> Path:
    src = DEFAULT_ARTIFACT
    art = tmp_path / "broken"
    art.mkdir()
    shutil.copy(src / "meta.json", art / "meta.json")
    (art / "weights.npz").write_bytes((src / "weights.npz").read_bytes()[:1000])
    return art


@pytest.mark.parametrize("case", ["missing", "truncated"])
def test_refuses_to_start_on_a_bad_artifact(start_gunicorn, tmp_path, case):
    art = tmp_path / "nowhere" if case == "missing" else _broken_artifact(tmp_path)
    server = start_gunicorn({"NAMETAG_ARTIFACT": str(art)})
    assert server.proc.wait(30) != 0
    err = server.stderr().strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("nametag: cannot load artifact") and str(art) in err[0]
    assert ("no such artifact directory" if case == "missing" else "checksum mismatch") in err[0]
    assert "Traceback" not in server.stderr() + server.stdout()


def test_a_burst_of_connections_is_spread_over_the_workers(gunicorn_server):
    """16 keep-alive clients connecting at once (a proxy's pool, a load generator): a worker
    whose threads are busy stops accepting (service/worker.py), so each worker takes a
    share. With gthread as it comes, the first worker to wake accepted them all and kept
    them, and the other idled."""
    import http.client

    from harness import connections

    workers = wait_workers(gunicorn_server.pid, 2)
    body = json.dumps({"inputs": [{"text": SEED_TEXT}] * 64})
    clients = [http.client.HTTPConnection("127.0.0.1", gunicorn_server.port, timeout=30) for _ in range(16)]
    try:
        for c in clients:  # all at once, each with a request that keeps a thread busy a while
            c.request("POST", "/tag", body, {"Content-Type": "application/json"})
        for c in clients:  # every connection is accepted, answered and kept alive
            answer = c.getresponse()
            answer.read()
            assert answer.status == 200
        held = [connections(w, gunicorn_server.port) for w in workers]
        assert sum(len(h) for h in held) == 16, held
        assert min(len(h) for h in held) >= 4, f"the connections per worker: {[len(h) for h in held]}"
    finally:
        for c in clients:
            c.close()


def test_a_new_client_is_answered_while_every_thread_is_busy(gunicorn_server):
    """A worker with every thread busy only defers accepting (service/worker.py): new
    clients are answered while 16 kept-alive clients keep both workers saturated with
    64-sentence batches, never left in the listen queue until the load stops. How long
    they wait, against the load's own requests, is timed by the bench (Reliability)."""
    body = json.dumps({"inputs": [{"text": SEED_TEXT}] * 64})
    with Load(gunicorn_server.port, body, clients=16) as load:
        until(lambda: load.clients_answered() == 16, "every load client answered once")  # both workers saturated
        for _ in range(5):
            before = len(load.answers)
            assert requests.get(gunicorn_server.url + "/healthz", timeout=30).status_code == 200
            assert load.running()  # answered during the load
        assert len(load.answers) > before  # which went on meanwhile
    assert not load.failures()
