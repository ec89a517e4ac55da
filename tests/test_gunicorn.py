"""The service under a real gunicorn on loopback, with service/gunicorn.conf.py."""
from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from harness import DEFAULT_ARTIFACT, SEED_TEXT, wait_workers

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
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in gunicorn_server.stdout().splitlines() if line.startswith("{")]
        tagged = [r for r in lines if r.get("path") == "/tag" and r.get("tokens") == 10]
        if tagged:
            break
        time.sleep(0.1)
    rec = tagged[-1]
    assert rec["method"] == "POST" and rec["status"] == 200 and rec["duration_ms"] > 0
    assert "GET /healthz HTTP" not in gunicorn_server.stdout() + gunicorn_server.stderr()  # no access log


def test_graceful_shutdown_finishes_in_flight_requests(start_gunicorn):
    server = start_gunicorn()
    server.wait_ready()
    answers = []
    slow = threading.Thread(target=lambda: answers.append(requests.post(
        server.url + "/tag", json={"tokens": ["word"] * 10_000}, timeout=30)))
    slow.start()
    time.sleep(0.2)
    server.proc.send_signal(signal.SIGTERM)
    slow.join(30)
    assert server.proc.wait(35) == 0
    assert answers and answers[0].status_code == 200 and len(answers[0].json()["labels"]) == 10_000


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
    """A worker with every thread busy only defers accepting (service/worker.py): a new
    client is answered promptly while 16 kept-alive clients keep both workers saturated
    with 64-sentence batches, never left in the listen queue until the load stops."""
    import http.client

    body = json.dumps({"inputs": [{"text": SEED_TEXT}] * 64})
    stop, failures = threading.Event(), []

    def client():
        c = http.client.HTTPConnection("127.0.0.1", gunicorn_server.port, timeout=30)
        try:
            while not stop.is_set():
                c.request("POST", "/tag", body, {"Content-Type": "application/json"})
                answer = c.getresponse()
                answer.read()
                if answer.status != 200:
                    failures.append(answer.status)
        finally:
            c.close()

    load = [threading.Thread(target=client) for _ in range(16)]
    for t in load:
        t.start()
    try:
        time.sleep(1.0)  # every thread of both workers busy, requests queued behind them
        waits = []
        for _ in range(5):
            t0 = time.monotonic()
            assert requests.get(gunicorn_server.url + "/healthz", timeout=30).status_code == 200
            waits.append(time.monotonic() - t0)
            time.sleep(0.1)
    finally:
        stop.set()
        for t in load:
            t.join(60)
    assert not failures
    # measured: median 0.01-0.02 s (the queue behind the batches already accepted); when a
    # busy worker stopped accepting until its queue drained: 0.55-0.80 s every time
    assert sorted(waits)[2] < 0.25, [round(w, 3) for w in waits]
