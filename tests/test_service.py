"""POST /tag and the serving surface, through the Flask test client."""
from __future__ import annotations

import json

import pytest
from marshmallow import ValidationError

from harness import DEFAULT_ARTIFACT, SEED_LABELS, SEED_TEXT, SEED_TOKENS
from model.tagger import Tagged
from model.answer import result
from model.tokenizer import join_tokens, tokenize
from service import create_app, inputs, schemas
from service.config import Limits
from service.errors import flatten



def post(client, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/tag", data=data, content_type=content_type)


def assert_problem(resp, status):
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "/work/" not in text and ".py" not in text
    return body


def assert_offsets(text, res):
    for tok in res["tokens"]:
        assert text[tok["start"]:tok["end"]] == tok["text"]
    for ent in res["entities"]:
        assert text[ent["start"]:ent["end"]] == ent["text"]
        assert ent["start"] == res["tokens"][ent["token_start"]]["start"]
        assert ent["end"] == res["tokens"][ent["token_end"] - 1]["end"]
        assert all(t["label"] == 1 for t in res["tokens"][ent["token_start"]:ent["token_end"]])
    assert res["labels"] == [t["label"] for t in res["tokens"]]


# --- the contract ----------------------------------------------------------

def test_seed_example_text(client, app):
    resp = post(client, {"text": SEED_TEXT})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    res = resp.get_json()
    assert [t["text"] for t in res["tokens"]] == SEED_TOKENS
    assert res["labels"] == SEED_LABELS
    assert [(e["text"], e["start"], e["end"], e["token_start"], e["token_end"], e["label"])
            for e in res["entities"]] == [("Harry Potter", 0, 12, 0, 2, "PER"),
                                          ("Hermione Granger", 17, 33, 3, 5, "PER")]
    assert all(0.0 <= t["score"] <= 1.0 for t in res["tokens"])
    assert all(t["score"] > 0.5 for t in res["tokens"] if t["label"] == 1)
    art = app.extensions["nametag"].artifact
    assert res["model"] == {"name": art.name, "version": art.version}
    assert schemas.tag_result.validate(res) == {}
    assert_offsets(SEED_TEXT, res)


def test_seed_example_tokens(client):
    res = post(client, {"tokens": SEED_TOKENS}).get_json()
    assert res["labels"] == SEED_LABELS
    joined = " ".join(SEED_TOKENS)
    assert [(t["start"], t["end"]) for t in res["tokens"]][:3] == [(0, 5), (6, 12), (13, 16)]
    assert [e["text"] for e in res["entities"]] == ["Harry Potter", "Hermione Granger"]
    assert_offsets(joined, res)


@pytest.mark.parametrize("text", [
    "José Müller met Zoë Saldaña in Bogotá.",  # accents (precomposed)
    "Rene\u0301e Zellwege\u0301r spoke to Jose\u0301 .",  # combining acute accents
    "😀 Harry Potter 👩‍👩‍👧 met 👍🏽 Ron Weasley 🇬🇧 !",  # emoji: astral, ZWJ, modifiers, flags
    "李小龙 and 成龍 met Jackie Chan in 香港 .",  # CJK
    "  Tabs\tand\nnewlines\r\n Anne  Smith  ",  # whitespace runs
    "𝔄𝔫𝔫𝔢 and Ωmega met O'Brien and Jean-Pierre Dupont .",  # astral letters
])
def test_offsets_are_code_points_into_the_text(client, text):
    res = post(client, {"text": text}).get_json()
    assert [t["text"] for t in res["tokens"]] == [t.text for t in tokenize(text)]
    assert_offsets(text, res)


def test_batch_keeps_order_and_matches_single_requests(client):
    inputs = [{"text": SEED_TEXT}, {"tokens": ["Ron", "Weasley", "laughed", "."]},
              {"text": ""}, {"text": "Ceci n'est pas une pipe , dit Magritte ."},
              {"tokens": SEED_TOKENS[::-1]}]
    resp = post(client, {"inputs": inputs})
    assert resp.status_code == 200
    results = resp.get_json()["results"]
    assert schemas.tag_batch.validate({"results": results}) == {}
    assert len(results) == len(inputs)
    for inp, res in zip(inputs, results):
        assert res == post(client, inp).get_json()
    assert results[0]["labels"] == SEED_LABELS
    assert results[2]["tokens"] == []


@pytest.mark.parametrize("body", [{"text": ""}, {"text": " \n\t "}, {"tokens": []}])
def test_no_tokens_is_an_empty_result(client, body):
    resp = post(client, body)
    assert resp.status_code == 200
    res = resp.get_json()
    assert (res["tokens"], res["labels"], res["entities"]) == ([], [], [])


def test_empty_batch(client):
    assert post(client, {"inputs": []}).get_json() == {"results": []}


def test_adjacent_names_stay_two_entities():
    text, tokens = join_tokens(["Anne", "Smith", "John", "Doe", "left"])
    res = result(text, tokens, Tagged([1, 2, 1, 2, 0], [0.9, 0.8, 0.7, 0.6, 0.1]))
    assert [(e["text"], e["token_start"], e["token_end"]) for e in res["entities"]] == [
        ("Anne Smith", 0, 2), ("John Doe", 2, 4)]
    assert res["entities"][0]["score"] == pytest.approx(0.85)
    assert res["labels"] == [1, 1, 1, 1, 0]


# --- errors ----------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"text": ', b"{'text': 'x'}", b"", b'{"text": "a"} x',
    b'{"text": NaN}', b'{"threshold": Infinity, "text": "a"}', b'{"threshold": -Infinity}',
    b'{"text": "a", "text": "b"}', b'{"inputs": [{"text": "a", "text": "b"}]}',
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"text": "\xff\xfe"}', b"\xef\xbb\xbf" + b'{"text": "a"}', b'{"text": "a\x00b"}',
])
def test_malformed_json_is_400(client, raw):
    body = assert_problem(post(client, raw), 400)
    assert body["errors"]["body"]


@pytest.mark.parametrize("body, field", [
    ([1], "body"), ('"x"', "body"), ("1", "body"), ("null", "body"), ("true", "body"),
    ({}, "body"),
    ({"text": SEED_TEXT, "tokens": SEED_TOKENS}, "body"),
    ({"text": SEED_TEXT, "inputs": [{"text": SEED_TEXT}]}, "body"),
    ({"text": 1}, "text"), ({"text": None}, "text"), ({"text": ["a"]}, "text"),
    ({"tokens": "Harry Potter"}, "tokens"), ({"tokens": [1, "a"]}, "tokens.0"),
    ({"tokens": ["Harry", ""]}, "tokens.1"), ({"tokens": ["Harry", "  "]}, "tokens.1"),
    ({"tokens": [["Harry"]]}, "tokens.0"),
    ({"text": SEED_TEXT, "lang": "en"}, "lang"),
    ({"inputs": {"text": SEED_TEXT}}, "inputs"), ({"inputs": [SEED_TEXT]}, "inputs.0"),
    ({"inputs": [{"text": SEED_TEXT}, {}]}, "inputs.1"),
    ({"inputs": [{"text": SEED_TEXT, "tokens": ["a"]}]}, "inputs.0"),
    ({"inputs": [{"text": SEED_TEXT, "threshold": 0.5}]}, "inputs.0.threshold"),
    ({"inputs": [{"tokens": ["a", ""]}]}, "inputs.0.tokens.1"),
    ({"text": "a\u0000b"}, "text"), ({"tokens": ["a\u0000"]}, "tokens"),
    ('{"text": "a\\ud800b"}', "text"), ('{"tokens": ["\\udfff"]}', "tokens"),
    ({"text": SEED_TEXT, "threshold": "high"}, "threshold"),
    ({"text": SEED_TEXT, "threshold": 1.5}, "threshold"),
    ({"text": SEED_TEXT, "offsets": "utf32"}, "offsets"),  # (a threshold on a softmax model is accepted since #11)
    ({"text": SEED_TEXT, "deny_list": ["x" * 201]}, "deny_list.0"),
    ({"text": SEED_TEXT, "allow_list": ["a"] * 1001}, "allow_list"),
    ({"text": SEED_TEXT, "allow_list": "Harry"}, "allow_list"),
])
def test_schema_violations_are_422(client, body, field):
    problem = assert_problem(post(client, body), 422)
    assert field in problem["errors"], problem["errors"]
    assert all(isinstance(m, str) for msgs in problem["errors"].values() for m in msgs)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
def test_body_that_is_not_json_is_415(client, content_type):
    resp = client.post("/tag", data='{"text": "a"}', content_type=content_type or None)
    assert_problem(resp, 415)


def test_unknown_route_is_404_and_wrong_method_405(client):
    assert_problem(client.get("/nope"), 404)
    assert_problem(client.post("/healthz"), 405)
    body = assert_problem(client.get("/tag"), 405)
    assert "POST" in client.get("/tag").headers["Allow"]
    assert body["title"] == "Method Not Allowed"


def test_unexpected_error_is_a_generic_500(make_app, capsys):
    app = make_app()

    def boom():
        raise RuntimeError("secret /work/main/x.py")

    app.add_url_rule("/boom", view_func=boom)
    body = assert_problem(app.test_client().get("/boom"), 500)
    assert "secret" not in json.dumps(body)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any("RuntimeError" in rec.get("exc", "") for rec in logged)


# --- limits ----------------------------------------------------------------

def test_default_token_limit_at_and_over(client):
    at = post(client, {"tokens": ["word"] * 10_000})
    assert at.status_code == 200 and len(at.get_json()["labels"]) == 10_000
    over = assert_problem(post(client, {"tokens": ["word"] * 10_001}), 422)
    assert "10001 tokens" in over["errors"]["tokens"][0]


@pytest.fixture(scope="module")
def small_app():
    return create_app({"TESTING": True, "MAX_TOKENS": 5, "MAX_CHARS": 40, "MAX_INPUTS": 3,
                       "MAX_BODY_BYTES": 2000, "MAX_TOTAL_TOKENS": 12})


@pytest.mark.parametrize("body, status, field", [
    ({"tokens": ["a"] * 5}, 200, None),
    ({"tokens": ["a"] * 6}, 422, "tokens"),
    ({"text": "a b c d e"}, 200, None),
    ({"text": "a b c d e,"}, 422, "text"),  # 6 tokens after tokenization
    ({"text": "x" * 40}, 200, None),
    ({"text": "x" * 41}, 422, "text"),
    ({"tokens": ["x" * 20, "y" * 20]}, 422, "tokens"),  # 41 characters joined
    ({"inputs": [{"text": "a"}] * 3}, 200, None),
    ({"inputs": [{"text": "a"}] * 4}, 422, "inputs"),
    ({"inputs": [{"tokens": ["a"] * 4}] * 3}, 200, None),  # 12 tokens in all
    ({"inputs": [{"tokens": ["a"] * 5}, {"tokens": ["a"] * 4}, {"tokens": ["a"] * 4}]}, 422, "inputs"),
    ({"inputs": [{"text": "a"}, {"tokens": ["a"] * 6}]}, 422, "inputs.1.tokens"),
])
def test_configured_limits(small_app, body, status, field):
    resp = post(small_app.test_client(), body)
    if status == 200:
        assert resp.status_code == 200
    else:
        assert field in assert_problem(resp, status)["errors"]


def test_body_over_the_limit_is_413(small_app):
    client = small_app.test_client()
    body = assert_problem(post(client, {"text": "x" * 3000}), 413)
    assert "2000 bytes" in body["detail"]
    # no Content-Length (as with a chunked body): the stream is cut at the limit and refused
    resp = client.post("/tag", input_stream=__import__("io").BytesIO(b'{"text": "' + b"x" * 3000 + b'"}'),
                       content_type="application/json")
    assert_problem(resp, 413)


def test_limits_are_shown_in_model_and_openapi(small_app):
    client = small_app.test_client()
    limits = {"max_body_bytes": 2000, "max_chars": 40, "max_tokens": 5, "max_inputs": 3,
              "max_total_tokens": 12}
    assert client.get("/model").get_json()["limits"] == limits
    doc = client.get("/openapi.json").get_json()
    props = doc["components"]["schemas"]["TagRequest"]["properties"]
    assert (props["text"]["maxLength"], props["tokens"]["maxItems"], props["inputs"]["maxItems"]) == (40, 5, 3)
    assert "2000 bytes" in doc["paths"]["/tag"]["post"]["requestBody"]["description"]


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("NAMETAG_MAX_TOKENS", "7")
    monkeypatch.setenv("NAMETAG_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("NAMETAG_LOG_LEVEL", "warning")
    app = create_app({"LOAD_MODEL": False})
    assert app.extensions["nametag.settings"].limits.max_tokens == 7
    assert app.config["MAX_CONTENT_LENGTH"] == 4096


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", "true"])
def test_bad_limit_refuses_to_start(monkeypatch, capsys, value):
    monkeypatch.setenv("NAMETAG_MAX_INPUTS", value)
    with pytest.raises(SystemExit) as exc:
        create_app({"LOAD_MODEL": False})
    assert exc.value.code != 0
    assert "NAMETAG_MAX_INPUTS" in capsys.readouterr().err


# --- the serving surface ---------------------------------------------------

def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_not_ready_before_the_model_is_loaded(make_app):
    client = make_app(LOAD_MODEL=False).test_client()
    assert client.get("/healthz").status_code == 200
    assert_problem(client.get("/readyz"), 503)
    assert_problem(post(client, {"text": SEED_TEXT}), 503)
    assert_problem(client.get("/model"), 503)


def test_the_environment_cannot_switch_the_model_off(monkeypatch):
    """LOAD_MODEL is a test's switch (create_app's test_config): NAMETAG_LOAD_MODEL in the
    environment does not make a service that never becomes ready."""
    monkeypatch.setenv("NAMETAG_LOAD_MODEL", "false")
    app = create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT)})
    assert app.extensions["nametag"] is not None
    assert app.test_client().get("/readyz").get_json() == {"status": "ready"}


def test_model_metadata(client, app):
    info = client.get("/model").get_json()
    meta = app.extensions["nametag"].artifact.meta
    assert schemas.model_info.validate(info) == {}
    assert info["name"] == meta["name"] and info["version"] == meta["weights_sha256"][:12]
    assert info["head"] == meta["config"]["head"] and info["n_a"] == meta["config"]["n_a"]
    assert info["labels"] == ["O", "B-PER", "I-PER"] and info["networks"] == 1
    assert info["training"]["train_sha256"] == meta["training"]["train_sha256"]
    assert info["training"]["dev_sha256"] == meta["training"]["dev_sha256"]
    assert info["metrics"]["dev"]["f1"] == meta["metrics"]["dev"]["f1"]
    assert info["limits"]["max_tokens"] == 10_000
    # no filesystem paths: data files are named by their data-set folder at most ("wnut17/train.conll")
    for f in info["training"]["train_file"].split(" + ") + info["training"]["dev_file"].split(" + "):
        assert not f.startswith(("/", ".", "~")) and f.count("/") <= 1, f


def test_metrics(make_app):
    client = make_app().test_client()
    post(client, {"text": SEED_TEXT})
    post(client, {"inputs": [{"text": SEED_TEXT}, {"tokens": ["Ron"]}]})
    post(client, {"text": 1})
    client.get("/nope")
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    assert 'nametag_http_requests_total{method="POST",route="/tag",status="200"} 2.0' in text
    assert 'nametag_http_requests_total{method="POST",route="/tag",status="422"} 1.0' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "nametag_tokens_tagged_total 21.0" in text
    assert 'nametag_http_request_duration_seconds_count{route="/tag"} 3.0' in text
    assert 'nametag_model_info{head="softmax",name="nametag-conll03-wnut17-glove"' in text


def test_openapi_is_generated_and_complete(app, client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    routes = {r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert routes == set(doc["paths"])
    tag = doc["paths"]["/tag"]["post"]
    assert tag["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TagRequest"}
    assert {"200", "400", "404", "405", "413", "415", "422", "500", "503"} <= set(tag["responses"])
    assert tag["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    # the component schemas come from the marshmallow schemas, field for field
    comps = doc["components"]["schemas"]
    assert set(comps["TagResult"]["properties"]) == set(schemas.tag_result.fields)
    assert set(comps["TagRequest"]["properties"]) == set(schemas.tag_request.fields)
    assert set(comps["Problem"]["properties"]) == set(schemas.problem.fields)
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["summary"] and "200" in op["responses"], path


def test_one_json_log_line_per_request(client, capsys):
    capsys.readouterr()
    post(client, {"text": SEED_TEXT})
    client.get("/nope")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["method"], r["path"], r["status"], r["tokens"]) for r in lines] == [
        ("POST", "/tag", 200, 10), ("GET", "<unmatched>", 404, 0)]
    assert all(r["duration_ms"] >= 0 and r["level"] == "info" for r in lines)


@pytest.mark.parametrize("level, logged", [("info", []), ("debug", [("/healthz", "debug"), ("/readyz", "debug")])])
def test_probes_are_logged_only_at_debug(make_app, capsys, level, logged):
    """Docker's and Kubernetes' probes ask every few seconds: at info level they write nothing."""
    client = make_app(LOG_LEVEL=level).test_client()
    capsys.readouterr()
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["path"], r["level"]) for r in lines] == logged
    make_app(LOG_LEVEL="info")  # the logger is process-wide: back to the tests' level


def test_missing_artifact_refuses_to_start(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        create_app({"ARTIFACT": str(tmp_path / "nowhere")})
    assert exc.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "nowhere") in err[0] and "no such artifact" in err[0]


def test_errors_flatten_to_dotted_paths():
    messages = {"_schema": ["whole"], "inputs": {0: {"text": ["bad"]}, 2: {"_schema": ["one of"]}}}
    assert flatten(messages) == {"body": ["whole"], "inputs.0.text": ["bad"], "inputs.2": ["one of"]}


def test_schemas_work_without_flask():
    req = inputs.tag_request(schemas.tag_request.load({"text": SEED_TEXT}), Limits())
    assert [t.text for t in req.inputs[0].tokens] == SEED_TOKENS and not req.batch
    with pytest.raises(ValidationError):
        inputs.tag_request(schemas.tag_request.load({"tokens": ["a"] * 4}), Limits(max_tokens=3))
