"""Edge inputs, each with its expected answer, sent to a real gunicorn over a raw
socket (so gunicorn's own HTTP parsing is part of the test, not only Flask's).

Every answer must also be free of stack traces and paths, and the server must
log no unhandled exception while it takes them.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from leaks import assert_no_leak

pytestmark = pytest.mark.slow

JSON_HEAD = "POST /tag HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202e\u2066\u2069"


def _send(s: socket.socket, data: bytes, shut_write: bool) -> None:
    try:
        s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading (it may have answered already): the answer says


def raw(port: int, data: bytes, shut_write: bool = False, timeout: float = 15) -> tuple[int | None, dict, bytes]:
    """Send bytes as they are, and read the answer while they are being sent (as curl
    does), so an answer the server sends before it has read everything is read too;
    the parsed answer, or (None, {}, b"") if the server closed the connection without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        sender = threading.Thread(target=_send, args=(s, data, shut_write), daemon=True)
        sender.start()
        try:
            resp = http.client.HTTPResponse(s)
            try:
                resp.begin()
            except (http.client.RemoteDisconnected, ConnectionResetError):
                return None, {}, b""
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            sender.join(timeout)


def post(port: int, body: bytes, extra_headers: str = "") -> tuple[int | None, dict, bytes]:
    return raw(port, (JSON_HEAD + f"Content-Length: {len(body)}\r\n{extra_headers}\r\n").encode() + body)


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def visible(s: str) -> str:
    return "".join(c for c in s if c not in INVISIBLE)


def toks(res: dict) -> list[tuple[str, int, int]]:
    return [(t["text"], t["start"], t["end"]) for t in res["tokens"]]


def names(res: dict) -> list[str]:
    return [e["text"] for e in res["entities"]]


CLEAN = "Yesterday Anna Smith met John Brown in Paris."
OK = [  # (case, body, what the answer must be)
    ("empty text", {"text": ""}, lambda r: toks(r) == [] and r["labels"] == [] and r["entities"] == []),
    ("whitespace only", {"text": " \t\r\n\u00a0\u2003\u2028\u3000 "}, lambda r: toks(r) == [] and r["entities"] == []),
    ("single character", {"text": "a"}, lambda r: toks(r) == [("a", 0, 1)] and r["labels"] == [0]),
    ("single astral character", {"text": "𝒜"}, lambda r: toks(r) == [("𝒜", 0, 1)]),
    ("single token", {"tokens": ["x"]}, lambda r: toks(r) == [("x", 0, 1)]),
    ("10 000 tokens (the limit)", {"tokens": ["word"] * 10_000},
     lambda r: len(r["labels"]) == 10_000 and r["tokens"][-1]["end"] == 5 * 10_000 - 1),
    ("10 000 tokens of text", {"text": " ".join(["Anna"] * 10_000)}, lambda r: len(r["tokens"]) == 10_000),
    ("right-to-left Hebrew", {"text": "שלום, דוד כהן!"},
     lambda r: toks(r) == [("שלום", 0, 4), (",", 4, 5), ("דוד", 6, 9), ("כהן", 10, 13), ("!", 13, 14)]),
    ("right-to-left Arabic", {"text": "قال محمد علي"}, lambda r: toks(r) == [("قال", 0, 3), ("محمد", 4, 8), ("علي", 9, 12)]),
    ("bidi controls", {"text": "\u202bמשה\u202c and \u2067Anna\u2069"},
     lambda r: [t for t, _, _ in toks(r)] == ["\u202bמשה\u202c", "and", "\u2067Anna\u2069"]),
    ("zero-width characters",
     {"text": "Yesterday Anna\u200b Smith met Jo\u00adhn Brown\ufeff in Paris."},
     lambda r: [visible(n) for n in names(r)] == ["Anna Smith", "John Brown"]),
    ("zero-width space inside a word", {"text": "Anna watched\u200bwas"},
     lambda r: [t for t, _, _ in toks(r)] == ["Anna", "watched\u200bwas"]),
    ("emoji with skin tones and ZWJ", {"text": "Hi 👍🏽 Anna Smith said 👨‍👩‍👧 👋🏿."},
     lambda r: [t for t, _, _ in toks(r)] == ["Hi", "👍🏽", "Anna", "Smith", "said", "👨‍👩‍👧", "👋🏿", "."]
     and names(r) == ["Anna Smith"]),
    ("combining marks", {"text": "Zoe\u0308 and Jose\u0301 Garci\u0301a"},
     lambda r: [t for t, _, _ in toks(r)] == ["Zoe\u0308", "and", "Jose\u0301", "Garci\u0301a"]),
    ("nested JSON within the schema's depth", {"inputs": [{"text": "a"}] * 3}, lambda r: len(r["results"]) == 3),
]


@pytest.mark.parametrize("case, body, check", OK, ids=[c[0] for c in OK])
def test_edge_inputs_answered(gunicorn_server, case, body, check):
    status, headers, data = post(gunicorn_server.port, json.dumps(body).encode())
    assert status == 200, data[:300]
    res = json.loads(data)
    text = body.get("text", " ".join(body.get("tokens", [])))
    for r in res.get("results", [res]):
        src = text if "results" not in res else "a"
        assert all(src[t["start"]:t["end"]] == t["text"] for t in r["tokens"])
        assert all(src[e["start"]:e["end"]] == e["text"] for e in r["entities"])
    assert check(res), res if len(data) < 3000 else case


def test_zero_width_characters_do_not_change_the_names(gunicorn_server):
    """Invisible characters change neither which tokens are names nor the scores."""
    port = gunicorn_server.port
    clean = json.loads(post(port, json.dumps({"text": CLEAN}).encode())[2])
    for ch in INVISIBLE:
        text = CLEAN.replace("Anna", f"An{ch}na").replace("Brown", f"Brown{ch}")
        res = json.loads(post(port, json.dumps({"text": text}).encode())[2])
        assert res["labels"] == clean["labels"], repr(ch)
        assert [visible(n) for n in names(res)] == names(clean), repr(ch)


BAD = [  # (case, raw body, extra headers, status, what the problem must say)
    ("10 001 tokens", json.dumps({"tokens": ["word"] * 10_001}).encode(), "", 422, "tokens"),
    ("10 001 tokens of text", json.dumps({"text": " ".join(["Anna"] * 10_001)}).encode(), "", 422, "text"),
    ("deeply nested JSON", b"[" * 100_000 + b"]" * 100_000, "", 400, "nested too deeply"),
    ("deeply nested JSON in an object", b'{"text": "a", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "",
     400, "nested too deeply"),
    ("nested JSON the schema refuses", b'{"inputs": ' + b"[" * 200 + b"]" * 200 + b"}", "", 422, "inputs"),
    ("duplicate keys", b'{"text": "a", "text": "b"}', "", 400, "duplicate key 'text'"),
    ("duplicate keys in a batch item", b'{"inputs": [{"tokens": ["a"], "tokens": ["b"]}]}', "", 400, "duplicate key"),
    ("NaN", b'{"text": "a", "threshold": NaN}', "", 400, "NaN"),
    ("Infinity", b'{"text": "a", "threshold": Infinity}', "", 400, "Infinity"),
    ("-Infinity", b'{"text": "a", "threshold": -Infinity}', "", 400, "Infinity"),
    ("invalid UTF-8", b'{"text": "\xc3\x28"}', "", 400, "UTF-8"),
    ("overlong UTF-8", b'{"text": "\xc0\xaf"}', "", 400, "UTF-8"),
    ("UTF-8-encoded surrogate", b'{"text": "\xed\xa0\x80"}', "", 400, "UTF-8"),
    ("Latin-1 body", '{"text": "José"}'.encode("latin-1"), "", 400, "UTF-8"),
    ("raw NUL byte", b'{"text": "a\x00b"}', "", 400, "control character"),
    ("escaped NUL", b'{"text": "a\\u0000b"}', "", 422, "NUL"),
    ("escaped lone surrogate", b'{"text": "a\\ud800b"}', "", 422, "surrogate"),
    ("empty body", b"", "", 400, "not valid JSON"),
    ("not JSON at all", b"text=Anna", "", 400, "not valid JSON"),
]


@pytest.mark.parametrize("case, body, headers, status, says", BAD, ids=[c[0] for c in BAD])
def test_edge_inputs_refused(gunicorn_server, case, body, headers, status, says):
    got, hdrs, data = post(gunicorn_server.port, body, headers)
    assert got == status, data[:300]
    assert hdrs["content-type"] == "application/problem+json"
    problem = json.loads(data)
    assert problem["status"] == status and problem["type"] == "about:blank"
    assert says in json.dumps(problem, ensure_ascii=False), problem
    assert_no_leak(data)


def test_header_only_requests(gunicorn_server):
    port = gunicorn_server.port
    # Content-Length: 0: an empty body, refused as JSON
    status, hdrs, data = raw(port, (JSON_HEAD + "Content-Length: 0\r\n\r\n").encode())
    assert status == 400 and hdrs["content-type"] == "application/problem+json"
    # no Content-Length and no Transfer-Encoding: no body at all (RFC 9112 6.3)
    status, _, data = raw(port, (JSON_HEAD + "Connection: close\r\n\r\n").encode())
    assert status == 400 and json.loads(data)["status"] == 400
    # headers only, then the client stops sending: no answer owed, and nothing breaks
    status, _, data = raw(port, (JSON_HEAD + "Content-Length: 100\r\n\r\n").encode() + b'{"text', shut_write=True)
    assert status in (None, 400), data[:300]
    # a GET is headers only
    assert raw(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0] == 200


@pytest.mark.parametrize("mib", [2, 16])
def test_chunked_body_over_the_limit(gunicorn_server, mib):
    """A body sent chunked (no Content-Length) is cut off at the 1 MiB limit with a 413.
    16 MiB is more than the socket buffers hold: the server answers and closes while the
    client is still sending, and the client reads that answer (as curl does)."""
    port = gunicorn_server.port
    body = b'{"text": "' + b"Anna " * ((mib << 20) // 5) + b'"}'
    head = JSON_HEAD + "Transfer-Encoding: chunked\r\n\r\n"
    status, hdrs, data = raw(port, head.encode() + chunked(body))  # the answer the server sent
    assert status == 413 and hdrs["content-type"] == "application/problem+json", data[:300]
    assert json.loads(data)["status"] == 413
    # under the limit, the same way, is answered
    small = json.dumps({"text": CLEAN}).encode()
    status, _, data = raw(port, head.encode() + chunked(small, size=7))
    assert status == 200 and names(json.loads(data)) == ["Anna Smith", "John Brown"]


@pytest.mark.parametrize("case, data", [
    ("chunk size beyond any limit", JSON_HEAD + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc"),
    ("chunk size not hex", JSON_HEAD + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
    ("both Content-Length and chunked", JSON_HEAD + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("negative Content-Length", JSON_HEAD + "Content-Length: -1\r\n\r\n"),
    ("garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
    ("header without a colon", "GET /healthz HTTP/1.1\r\nHost t\r\n\r\n"),
    ("very long header", "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Long: " + "a" * 20_000 + "\r\n\r\n"),
])
def test_malformed_http_is_refused_without_a_server_error(gunicorn_server, case, data):
    status, _, body = raw(gunicorn_server.port, data.encode("latin-1"), shut_write=True)
    assert status is None or 400 <= status < 500, (status, body[:300])
    assert_no_leak(body)


def test_the_server_survived_without_an_unhandled_error(gunicorn_server):
    """Runs after the tests above on the same server (module scope)."""
    assert raw(gunicorn_server.port, b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0] == 200
    log = [json.loads(line) for line in gunicorn_server.stdout().splitlines() if line.startswith("{")]
    assert not [r for r in log if r.get("level") == "error"], "an unhandled exception was logged"
    assert "Traceback" not in gunicorn_server.stderr()
