"""API keys (NAMETAG_API_KEYS_FILE), the rate limit with in-memory counts, the metrics
port, and `nametag keys new`: through the Flask test client, the real command and a
real gunicorn. The rate limit shared through Redis is tests/test_ratelimit_redis.py."""
from __future__ import annotations

import hmac
import json
import re
import socket

import pytest
import requests

from harness import DEFAULT_ARTIFACT, SEED_TEXT, free_port
from model import apikeys as keys
from service import create_app

from bulk_support import nametag

ALICE, BOB = keys.new_key(), keys.new_key()
PROTECTED = [("GET", "/"), ("POST", "/tag"), ("POST", "/redact"), ("GET", "/model"),
             ("GET", "/openapi.json"), ("GET", "/metrics"), ("GET", "/nope"), ("OPTIONS", "/tag")]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "keys"
    path.write_text("# who has a key\n\n" + keys.file_line(ALICE, "alice") + "\n"
                    f"  {keys.digest(BOB).hex().upper()}\t\n")  # upper case, tab, no name
    return path


@pytest.fixture(scope="module")
def keyed_app(keys_file):
    return create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT), "API_KEYS_FILE": str(keys_file)})


@pytest.fixture
def keyed(keyed_app):
    return keyed_app.test_client()


def assert_401(resp, error: str | None):
    assert resp.status_code == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) == (error == "invalid_token")
    if resp.mimetype != "text/html":
        body = resp.get_json(force=True)
        assert resp.mimetype == "application/problem+json"
        assert body["status"] == 401 and body["title"] == "Unauthorized" and body["detail"]


# ---- the keys file

def test_the_file_is_digests_with_optional_names(keys_file):
    ring = keys.load(keys_file)
    assert len(ring) == 2
    assert ring.match(ALICE) == "alice"
    assert ring.match(BOB) == f"sha256:{keys.digest(BOB).hex()[:8]}"
    assert ring.match(ALICE + " ") is None and ring.match("") is None
    assert ALICE not in keys_file.read_text() and ALICE not in repr(ring)


def test_every_accepted_digest_is_compared_whatever_matches(monkeypatch, keys_file):
    ring = keys.load(keys_file)
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append(len(a))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", counting)
    for key in (ALICE, BOB, "wrong"):
        calls.clear()
        ring.match(key)
        assert calls == [32, 32]  # both entries, digests (never the key) compared


@pytest.mark.parametrize("content, line", [
    ("# fine\n" + "ab" * 32 + " ok\nnot-a-digest\n", 3),
    ("ab" * 31 + "\n", 1),  # 62 digits
    ("ab" * 32 + "x\n", 1),  # 65 characters
    ("ab" * 32 + " bad name with spaces\n", 1),
    ("ab" * 32 + " a\n" + "AB" * 32 + " b\n", 2),  # the same digest twice
])
def test_a_bad_line_is_named_and_never_shown(tmp_path, content, line):
    path = tmp_path / "keys"
    path.write_text(content)
    with pytest.raises(keys.KeyFileError, match=rf"line {line}:") as e:
        keys.load(path)
    assert "not-a-digest" not in str(e.value) and "ab" * 31 not in str(e.value).lower()


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "bad line", "not utf-8"])
def test_a_bad_file_stops_the_start_with_one_line_and_exit_3(tmp_path, capsys, case):
    path = tmp_path / "keys"
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_text("# no key yet\n")
    elif case == "bad line":
        path.write_text(f"{ALICE} alice\n")  # a key pasted in the clear, not its digest
    elif case == "not utf-8":
        path.write_bytes(b"\xff\xfe" + b"ab" * 32)
    with pytest.raises(SystemExit) as exc:
        create_app({"LOAD_MODEL": False, "API_KEYS_FILE": str(path)})
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("nametag: bad configuration NAMETAG_API_KEYS_FILE=")
    assert ALICE not in err


def test_the_file_is_read_from_the_environment(monkeypatch, keys_file):
    monkeypatch.setenv("NAMETAG_API_KEYS_FILE", str(keys_file))
    app = create_app({"LOAD_MODEL": False})
    assert app.test_client().get("/healthz").status_code == 200
    assert app.test_client().get("/model").status_code == 401


# ---- the bars: no key, a wrong key, the right key, the probes

@pytest.mark.parametrize("method, path", PROTECTED)
def test_no_key_is_401_with_a_bearer_challenge(keyed, method, path):
    assert_401(keyed.open(path, method=method, json={"text": SEED_TEXT}), None)


@pytest.mark.parametrize("header", [f"Bearer {ALICE[:-1]}", f"Bearer {ALICE}x", "Bearer wrong", f"bearer {BOB}z"])
def test_a_wrong_key_is_401(keyed, header):
    assert_401(keyed.post("/tag", json={"text": SEED_TEXT}, headers={"Authorization": header}), "invalid_token")


@pytest.mark.parametrize("header", [f"Basic {ALICE}", ALICE, "Bearer", "Bearer  ", f"Token {ALICE}"])
def test_a_key_not_sent_as_bearer_is_missing(keyed, header):
    assert_401(keyed.get("/model", headers={"Authorization": header}), None)


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/tag", {"text": SEED_TEXT}),
    ("POST", "/tag", {"inputs": [{"text": SEED_TEXT}, {"tokens": ["Ron", "Weasley"]}]}),
    ("POST", "/redact", {"text": SEED_TEXT, "operator": "pseudonym"}),
    ("GET", "/model", None), ("GET", "/", None)])  # /openapi.json says which routes need a key
def test_the_right_key_gets_the_same_answer_as_with_keys_off(client, keyed, method, path, body):
    off = client.open(path, method=method, json=body)
    for key in (ALICE, BOB):
        on = keyed.open(path, method=method, json=body, headers=bearer(key))
        assert on.status_code == off.status_code == 200
        assert on.get_data() == off.get_data() and on.mimetype == off.mimetype


def test_the_probes_and_the_static_files_stay_open(keyed):
    assert keyed.get("/healthz").get_json() == {"status": "ok"}
    assert keyed.get("/readyz").get_json() == {"status": "ready"}
    for name in ("page.js", "page.css", "favicon.svg"):
        with keyed.get(f"/static/{name}") as resp:  # a file response: closed, or it warns
            assert resp.status_code == 200


def test_a_browser_asking_for_the_page_without_a_key_gets_it_in_a_401(keyed, client):
    resp = keyed.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert_401(resp, None)
    assert resp.mimetype == "text/html" and resp.get_data() == client.get("/").get_data()
    assert resp.headers["Cache-Control"] == "no-store"
    assert b'id="key-form"' in resp.get_data()
    assert keyed.get("/", headers={"Accept": "*/*"}).mimetype == "application/problem+json"


def test_keys_are_counted_by_name_or_anonymous(keyed):
    wanted = [("anonymous", "missing"), ("anonymous", "refused"), ("alice", "accepted")]

    def counts():  # scraped with the other key, so the scrapes count apart
        text = keyed.get("/metrics", headers=bearer(BOB)).get_data(as_text=True)
        assert ALICE not in text and BOB not in text and "WrongKeyZ7" not in text
        found = {}
        for key, result in wanted:
            m = re.search(rf'nametag_auth_requests_total\{{key="{key}",result="{result}"\}} (\S+)', text)
            found[key, result] = float(m.group(1)) if m else 0.0
        return found

    before = counts()
    keyed.get("/model")
    keyed.get("/model", headers=bearer("WrongKeyZ7"))
    keyed.get("/model", headers=bearer("WrongKeyZ7"))
    keyed.get("/model", headers=bearer(ALICE))
    after = counts()
    assert [after[w] - before[w] for w in wanted] == [1, 2, 1]


def test_the_log_line_names_the_key_and_never_shows_it(keyed, capsys):
    capsys.readouterr()
    keyed.post("/tag", json={"text": SEED_TEXT}, headers=bearer(ALICE))
    keyed.post("/tag", json={"text": SEED_TEXT}, headers=bearer(ALICE + "x"))
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["status"], r.get("key")) for r in lines] == [(200, "alice"), (401, None)]
    assert ALICE not in out and SEED_TEXT not in out


# ---- nametag keys new

def test_keys_new_prints_a_key_and_the_line_that_accepts_it(tmp_path):
    runs = [nametag("keys", "new", "billing-batch", timeout=60) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0]
    found = []
    for run in runs:
        lines = run.stdout.strip().splitlines()
        key, line = lines[1], lines[3]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)  # 32 random bytes
        assert line == f"{keys.digest(key).hex()} billing-batch"
        found.append((key, line))
    assert found[0][0] != found[1][0]
    path = tmp_path / "keys"
    path.write_text(found[0][1] + "\n")
    app = create_app({"TESTING": True, "LOAD_MODEL": False, "API_KEYS_FILE": str(path)})
    assert app.test_client().get("/openapi.json", headers=bearer(found[0][0])).status_code == 200
    assert app.test_client().get("/openapi.json", headers=bearer(found[1][0])).status_code == 401


@pytest.mark.parametrize("name", ["two words", "", ".hidden", "a" * 65, "ä"])
def test_keys_new_refuses_a_bad_name(name):
    run = nametag("keys", "new", name, timeout=60)
    assert run.returncode == 2 and run.stdout == "" and "key name" in run.stderr


# ---- the rate limit, counted in memory

@pytest.fixture
def limited(make_app, keys_file):
    def make(**config):
        return make_app(RATE_LIMIT="3/minute", **config).test_client()
    return make


def test_over_the_limit_is_429_with_retry_after_and_the_limit_headers(limited, keys_file):
    client = limited(API_KEYS_FILE=str(keys_file))
    answers = [client.post("/tag", json={"text": SEED_TEXT}, headers=bearer(ALICE)) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    assert all("Retry-After" not in a.headers for a in answers[:3])
    for a in answers[3:]:
        assert 0 <= int(a.headers["Retry-After"]) <= 60 and int(a.headers["X-RateLimit-Reset"]) > 0
        body = a.get_json(force=True)
        assert a.mimetype == "application/problem+json" and body["status"] == 429
        assert "3 per 1 minute" in body["detail"]
    # counted per key (every route together), the probes are not counted
    assert client.get("/model", headers=bearer(ALICE)).status_code == 429
    assert client.post("/tag", json={"text": SEED_TEXT}, headers=bearer(BOB)).status_code == 200
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    text = client.get("/metrics", headers=bearer(BOB)).get_data(as_text=True)
    assert 'nametag_rate_limited_total{key="alice"} 3.0' in text


def test_a_refused_key_is_not_counted(limited, keys_file):
    client = limited(API_KEYS_FILE=str(keys_file))
    assert {client.get("/model", headers=bearer("wrong")).status_code for _ in range(5)} == {401}
    assert client.get("/model", headers=bearer(ALICE)).status_code == 200


def test_without_keys_the_limit_counts_per_client_address(limited):
    client = limited()
    one = [client.get("/model", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code for _ in range(4)]
    other = client.get("/model", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code
    assert one == [200, 200, 200, 429] and other == 200


def test_no_limit_by_default(client):
    assert all(client.get("/openapi.json").status_code == 200 for _ in range(20))
    assert "X-RateLimit-Limit" not in client.get("/openapi.json").headers


@pytest.mark.parametrize("key, value, shown", [
    ("RATE_LIMIT", "lots", "'lots'"), ("RATE_LIMIT", "", "''"), ("RATE_LIMIT", "5/fortnight", "'5/fortnight'"),
    ("RATE_LIMIT_STORAGE", "memcached://host:11211", "'memcached://host:11211'"),
    ("RATE_LIMIT_STORAGE", "redis://:hunter2secret@host:notaport/0", "'redis://***@host:notaport/0'"),
    ("METRICS_PORT", "0", "'0'"), ("METRICS_PORT", "", "''"), ("METRICS_PORT", "65536", "'65536'"), ("METRICS_PORT", "metrics", "'metrics'"),
])
def test_a_bad_setting_stops_the_start_with_one_line(monkeypatch, capsys, key, value, shown):
    monkeypatch.setenv(f"NAMETAG_{key}", value)
    with pytest.raises(SystemExit) as exc:
        create_app({"LOAD_MODEL": False})
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"nametag: bad configuration NAMETAG_{key}={shown}: ")
    assert "hunter2secret" not in err


# ---- under gunicorn: the metrics port

@pytest.mark.slow
def test_the_metrics_port_needs_no_key_and_the_main_port_does(start_gunicorn, keys_file):
    port = free_port()
    server = start_gunicorn({"NAMETAG_API_KEYS_FILE": str(keys_file), "NAMETAG_METRICS_PORT": str(port)})
    server.wait_ready()
    assert requests.post(server.url + "/tag", json={"text": SEED_TEXT}, headers=bearer(ALICE), timeout=10).ok
    assert requests.get(server.url + "/metrics", timeout=10).status_code == 401
    main = requests.get(server.url + "/metrics", headers=bearer(ALICE), timeout=10).text
    side = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert side.status_code == 200 and side.headers["Content-Type"].startswith("text/plain")
    line = 'nametag_http_requests_total{method="POST",route="/tag",status="200"} 1.0'
    assert line in main and line in side.text  # both add up every worker's files
    assert 'nametag_auth_requests_total{key="alice",result="accepted"}' in side.text
    assert f"Metrics at: http://127.0.0.1:{port}/metrics" in server.stderr()
    for pid in server.workers():  # only the master holds the metrics port
        assert f"127.0.0.1:{port}" not in listening(pid)
    assert f"127.0.0.1:{port}" in listening(server.pid)


def listening(pid: int) -> set[str]:
    """host:port of the TCP sockets process pid holds open in LISTEN state."""
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = set()
    with open(f"/proc/{pid}/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:
                hexip, hexport = f[1].split(":")
                ip = socket.inet_ntoa(bytes.fromhex(hexip)[::-1])
                out.add(f"{ip}:{int(hexport, 16)}")
    return out


@pytest.mark.slow
def test_a_metrics_port_in_use_stops_the_start(start_gunicorn):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_gunicorn({"NAMETAG_METRICS_PORT": str(port)})
        assert server.proc.wait(60) == 3
    err = server.stderr()
    assert f"nametag: cannot serve metrics on 127.0.0.1:{port}: Address already in use" in err
    assert "Traceback" not in err


def test_the_openapi_document_says_which_routes_need_a_key(keyed, limited, keys_file):
    doc = keyed.get("/openapi.json", headers=bearer(ALICE)).get_json()
    assert doc["components"]["securitySchemes"]["apiKey"] == {**doc["components"]["securitySchemes"]["apiKey"],
                                                              "type": "http", "scheme": "bearer"}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            open_route = path in ("/healthz", "/readyz")
            assert ("security" in op) != open_route and ("401" in op["responses"]) != open_route, path
            assert "429" not in op["responses"]
    limited_doc = limited(API_KEYS_FILE=str(keys_file)).get("/openapi.json", headers=bearer(ALICE)).get_json()
    assert "429" in limited_doc["paths"]["/tag"]["post"]["responses"]
    assert "429" not in limited_doc["paths"]["/healthz"]["get"]["responses"]
