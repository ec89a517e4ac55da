"""No request's text, token or API key in any log or metric: a canary.

A marker word, new for each run, goes inside every text of every request: the fuzz
cases (schemathesis, from the service's own OpenAPI document, positive and negative,
a fixed seed, at most MAX_EXAMPLES per route and mode; every string in a body gets the
marker, every token list gets it as a token) and every error path: 400 (malformed
JSON, bad chunking, a malformed request line, a malformed header), 401 (no key, the
marker as the key), 404, 405, 408, 413, 415, 422, 429, 500 (the model raising with the
text in its message, its cause and its frames' locals), a crash past Flask that
gunicorn handles (the marker in the URL), and a client gone in the middle of its
body. The servers are real gunicorns (tests/canary_app.py) with API keys, a rate limit,
restore tokens and the metrics port on, at log level debug, the most they write. Their
stdout, stderr and /metrics (on the main port and the metrics port) hold the marker 0
times, and the API key, the restore key and a restore token 0 times; the answers did
get the marker (the texts came back), and the logs show each path ran.
"""
from __future__ import annotations

import json
import socket
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode

from canary_app import CRASH, FAULT
from harness import DEFAULT_ARTIFACT, SEED_TEXT, free_port
from http_load import figures
from model import apikeys
from service import create_app

pytestmark = pytest.mark.slow

MARKER = f"zqcanary{uuid.uuid4().hex[:10]}"  # one word, in no vocabulary, new each run
KEY = apikeys.new_key()
RESTORE_KEY = f"canary-restore-{uuid.uuid4().hex}"  # /redact's restore tokens and /restore on: their paths too
SEED = 20261204
MAX_EXAMPLES = 250  # per route and generation mode
APP = "tests.canary_app:create_app()"
DOC = create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT)}).test_client().get("/openapi.json").get_json()


def marked(value, key: str | None = None):
    """value with the marker inside every string; a token list gets it as one more token."""
    if isinstance(value, dict):
        return {k: marked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [marked(v) for v in value] if key != "tokens" else list(value)
        return items + [MARKER] if key == "tokens" else items
    if isinstance(value, str):
        return f"{value} {MARKER}"
    return value


@pytest.fixture(scope="module")
def servers(tmp_path_factory, start_gunicorn_module):
    where = tmp_path_factory.mktemp("canary")
    (where / "keys").write_text(apikeys.file_line(KEY, "canary") + "\n")
    common = {"NAMETAG_API_KEYS_FILE": str(where / "keys"), "NAMETAG_LOG_LEVEL": "debug",
              "NAMETAG_BODY_TIMEOUT": "1", "NAMETAG_RESTORE_KEY": RESTORE_KEY}
    main = start_with_metrics(start_gunicorn_module, {**common, "NAMETAG_RATE_LIMIT": "100000/minute"})
    limited = start_with_metrics(start_gunicorn_module, {**common, "NAMETAG_RATE_LIMIT": "2/minute"})
    for server in (main, limited):
        server.wait_ready()
    return main, limited


def start_with_metrics(start, env: dict):
    """A gunicorn of APP from start(env, app), with its own metrics port (server.metrics_port)."""
    port = free_port()
    server = start({**env, "NAMETAG_METRICS_PORT": str(port)}, APP)
    server.metrics_port = port
    return server


def auth(key: str = KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


def raw(port: int, data: bytes, close_early: bool = False) -> bytes:
    """Send bytes as they are; the answer (until the server closes or 5 s pass)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if close_early:
            return b""
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def run_fuzz(url: str) -> dict:
    """Every route's generated cases, marked, with the key; {status: count}."""
    schema = schemathesis.openapi.from_dict(DOC)
    statuses: dict[int, int] = {}
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @seed(SEED)
            @settings(max_examples=MAX_EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(operation.as_strategy(generation_mode=mode))
            def send(case):
                if not isinstance(case.body, (NotSet, bytes)):
                    case.body = marked(case.body)
                response = case.call(base_url=url, session=session, headers=auth(), timeout=30)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                assert response.status_code < 500, (case.method, case.path, response.status_code)

            try:
                send()
            except Unsatisfiable:  # a route with nothing to get wrong (no body, no parameter)
                assert mode is GenerationMode.NEGATIVE and operation.method == "get"
    return statuses


def error_paths(server) -> list[int]:
    """Each error path once, with the marker in the text (or the key, or the URL)."""
    url, port, m = server.url, server.port, MARKER
    text = f"Harry Potter met {m} in Hogsmeade."
    post = lambda path, **kw: requests.post(url + path, timeout=30, **kw).status_code  # noqa: E731
    got = [
        post("/tag", json={"text": text}),  # 401: no key
        post("/tag", json={"text": text}, headers=auth(m)),  # 401: the marker as the key
        post("/tag", json={"text": text}, headers={"Authorization": f"Basic {m}"}),  # 401
        post("/tag", data=f'{{"text": "{text}"'.encode(), headers={**auth(), "Content-Type": "application/json"}),
        post("/tag", data=text.encode(), headers={**auth(), "Content-Type": "text/plain"}),  # 415
        post("/tag", json={"text": (text + " ") * 40_000}, headers=auth()),  # 413: over 1 MiB
        post("/tag", json={"text": (text + " ") * 3_000}, headers=auth()),  # 422: over 100,000 characters
        post("/tag", json={"tokens": [m, " "]}, headers=auth()),  # 422: a blank token
        post("/tag", json={"text": text, m: m}, headers=auth()),  # 422: an unknown field
        post("/redact", json={"text": text, "operator": m}, headers=auth()),  # 422: no such operator
        post("/tag", json={"text": f"{text} {FAULT}"}, headers=auth()),  # 500: the model raises
        post("/redact", json={"text": f"{FAULT} {text}"}, headers=auth()),  # 500
        requests.get(f"{url}/tag/{m}?text={m}", headers=auth(), timeout=30).status_code,  # 404
        requests.get(f"{url}/tag?text={m}", headers=auth(), timeout=30).status_code,  # 405
        requests.get(f"{url}/?text={m}", headers=auth(), timeout=30).status_code,  # 200: the page
        requests.get(f"{url}/healthz?q={CRASH}+{m}", timeout=30).status_code,  # 500: past Flask
    ]
    head = f"POST /tag HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
    body = json.dumps({"text": text}).encode()
    got += [
        # 408: the body stops half-way (NAMETAG_BODY_TIMEOUT=1)
        status_of(raw(port, f"{head}Content-Length: {len(body) + 50}\r\n\r\n".encode() + body)),
        # 400: bad chunking, the marker in the chunk-size line
        status_of(raw(port, f"{head}Transfer-Encoding: chunked\r\n\r\n{m}\r\n{text}\r\n0\r\n\r\n".encode())),
        # 400 from gunicorn: a malformed request line, a malformed header (both quoting the marker)
        status_of(raw(port, f"GET /?text={m} HTTP/1.1 {m}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())),
        status_of(raw(port, f"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {m}\x01{KEY}\r\n\r\n".encode())),
        status_of(raw(port, f"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{m} {KEY}: x\r\n\r\n".encode())),
    ]
    raw(port, f"{head}Content-Length: 5000\r\n\r\n".encode() + body, close_early=True)  # the client goes away
    return got


def test_the_marker_reaches_no_log_and_no_metric(servers):
    main, limited = servers
    statuses = run_fuzz(main.url)
    assert statuses.get(200, 0) > 50 and statuses.get(422, 0) > 50, statuses
    errors = error_paths(main)
    assert errors == [401, 401, 401, 400, 415, 413, 422, 422, 422, 422, 500, 500, 404, 405, 200, 500,
                      408, 400, 400, 400, 400]
    echoed = requests.post(main.url + "/tag", json={"text": f"Ron met {MARKER}."}, headers=auth(), timeout=30)
    assert MARKER in echoed.text  # the marker did reach the server, and came back in the answer
    sealed = requests.post(main.url + "/redact", json={"text": f"Ron Weasley met {MARKER}.", "operator": "pseudonym",
                                                       "restorable": True}, headers=auth(), timeout=30).json()
    restored = requests.post(main.url + "/restore", json={"text": f"{sealed['text']} {MARKER}",
                                                          "restore_token": sealed["restore_token"]},
                             headers=auth(), timeout=30)
    assert restored.status_code == 200 and "Ron Weasley" in restored.json()["text"]
    text = f"Harry Potter met {MARKER}."
    over = [requests.post(limited.url + "/tag", json={"text": text}, headers=auth(), timeout=30).status_code
            for _ in range(6)]
    assert over.count(429) >= 2, over  # 2/minute in each of the 2 workers' memory

    scraped = [requests.get(main.url + "/metrics", headers=auth(), timeout=30).text,
               requests.get(f"http://127.0.0.1:{main.metrics_port}/metrics", timeout=30).text,
               requests.get(f"http://127.0.0.1:{limited.metrics_port}/metrics", timeout=30).text]
    for server in (main, limited):
        server.stop()
    logs = {f"{name} {what}": text for name, server in (("main", main), ("limited", limited))
            for what, text in (("stdout", server.stdout()), ("stderr", server.stderr()))}
    places = {**logs, "main /metrics": scraped[0], "main metrics port": scraped[1],
              "limited metrics port": scraped[2]}
    hits = {where: sum(text.count(secret) for secret in (MARKER, KEY, RESTORE_KEY, sealed["restore_token"]))
            for where, text in places.items()}
    figures("canary", requests=sum(statuses.values()) + len(errors) + 9, statuses=statuses,
            bytes_searched=sum(map(len, places.values())), hits=sum(hits.values()))
    assert hits == {where: 0 for where in places}

    # and every path did run, and was logged (without the text)
    out, err = logs["main stdout"], logs["main stderr"]
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    logged = {r["status"] for r in lines if r.get("msg") == "request"}
    assert {200, 400, 401, 404, 405, 408, 413, 415, 422, 500} <= logged
    failures = [r for r in lines if r.get("level") == "error"]
    assert len(failures) == 2 and all("KeyError: (message withheld" in r["exc"] and
                                      "ValueError: (message withheld" in r["exc"] for r in failures)
    assert "Error handling request %s %s" in err and "RuntimeError: (message withheld" in err
    assert err.count("Invalid request from ip=127.0.0.1: the request is refused with 400") == 3
    assert 'route="/tag",status="429"' in scraped[2]
