"""The request path's cheaper parts: the per-stage histograms in /metrics, the
request log's direct line (the same line as through logging), the schema
skipped for the common requests, orjson answers."""
from __future__ import annotations

import http.client
import json
import logging
import re

import pytest

from service import requestlog, schemas

SEED = "Harry Potter and Hermione Granger invented a new spell ."


def post(client, body):
    return client.post("/tag", data=json.dumps(body), content_type="application/json")


def sample(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert m, name
    return float(m.group(1))


def test_stage_histograms(make_app):
    client = make_app().test_client()
    assert post(client, {"text": SEED}).status_code == 200
    assert post(client, {"inputs": [{"text": SEED}, {"tokens": ["Ron"]}]}).status_code == 200
    assert post(client, {"text": 1}).status_code == 422  # no stage after a refusal
    text = client.get("/metrics").get_data(as_text=True)
    for stage in ("preprocess", "predict", "postprocess"):
        name = f"nametag_request_{stage}_seconds"
        assert sample(text, f'{name}_count{{route="/tag"}}') == 2.0
        assert 0 < sample(text, f'{name}_sum{{route="/tag"}}') < 5
        assert f'{name}_bucket{{le="0.0001",route="/tag"}}' in text


def test_request_line_same_with_or_without_logging_machinery(client, capsys):
    log = logging.getLogger("nametag")
    capsys.readouterr()
    assert post(client, {"text": SEED}).status_code == 200
    direct = capsys.readouterr().out.splitlines()
    extra = logging.NullHandler()  # a second handler: the line goes through log.info
    log.addHandler(extra)
    try:
        assert post(client, {"text": SEED}).status_code == 200
        through_logging = capsys.readouterr().out.splitlines()
    finally:
        log.removeHandler(extra)
    a, b = json.loads(direct[0]), json.loads(through_logging[0])
    assert len(direct) == len(through_logging) == 1
    assert list(a) == list(b) == ["ts", "level", "logger", "msg", "method", "path", "status", "duration_ms", "tokens"]
    assert {k: v for k, v in a.items() if k not in ("ts", "duration_ms")} == \
        {k: v for k, v in b.items() if k not in ("ts", "duration_ms")}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", a["ts"])


def test_timestamp():
    assert requestlog.timestamp(0.5) == "1970-01-01T00:00:00.500Z"
    assert requestlog.timestamp(86399.25) == "1970-01-01T23:59:59.250Z"
    assert requestlog.timestamp(86400.0) == "1970-01-02T00:00:00.000Z"


def test_common_requests_skip_the_schema(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the schema was used")
    monkeypatch.setattr(schemas.tag_request, "load", refuse)
    for body in ({"text": SEED}, {"tokens": SEED.split()}, {"inputs": [{"text": SEED}, {"tokens": ["Ron"]}]}):
        assert post(client, body).status_code == 200


def test_answers_are_utf8_json_in_field_order(client):
    r = post(client, {"text": "Zoë Ćosić met José ."})
    assert r.status_code == 200 and r.mimetype == "application/json"
    raw = r.get_data()
    assert "Zoë".encode() in raw and raw.endswith(b"\n")
    assert list(json.loads(raw)) == ["tokens", "labels", "entities", "model"]
    bad = post(client, {"text": "a", "text2": 1})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


@pytest.mark.slow
def test_every_25th_request_on_a_connection_closes_it(gunicorn_server):
    """So keep-alive clients that connect all at once get spread over the workers again."""
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn_server.port, timeout=10)
    try:
        said = []
        for _ in range(25):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            said.append(resp.getheader("Connection"))
        assert said[:24] == ["keep-alive"] * 24 and said[24] == "close"
        conn.request("GET", "/healthz")  # http.client reconnects, as clients do
        assert conn.getresponse().status == 200
    finally:
        conn.close()
