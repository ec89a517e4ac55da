"""POST /redact and the per-request controls of /tag and /redact, through the Flask test
client on the shipped (calibrated) model."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from conftest import post_json

from harness import SEED_TEXT
from test_service import assert_problem

KEY = "k3y-for-tests-0123456789"
KEYED_CONFIG = {"REDACT_KEY": KEY}  # the `keyed` client's (conftest)
STORY = "Harry Potter met Hermione Granger. Later Harry thanked Hermione."


def redact(client, body):
    return post_json(client, "/redact", body)


def check_items(text, res):
    """The guarantee: every item points at its name in the input and its replacement in the output."""
    for item in res["items"]:
        assert text[item["start"]:item["end"]] == item["text"]
        assert res["text"][item["out_start"]:item["out_end"]] == item["replacement"]
        assert item["source"] in ("model", "deny_list") and 0 <= item["score"] <= 1


def test_replace_is_the_default(client, app):
    res = redact(client, {"text": SEED_TEXT}).get_json()
    assert res["text"] == "[PERSON] and [PERSON] invented a new spell."
    assert [(i["text"], i["start"], i["end"], i["out_start"], i["out_end"]) for i in res["items"]] == [
        ("Harry Potter", 0, 12, 0, 8), ("Hermione Granger", 17, 33, 13, 21)]
    assert res["model"]["version"] == app.extensions["nametag"].artifact.version
    check_items(SEED_TEXT, res)


@pytest.mark.parametrize("text, options, want", [
    pytest.param(STORY, {"operator": "pseudonym"},
                 "<PERSON_1> met <PERSON_2>. Later <PERSON_1> thanked <PERSON_2>.",
                 id="pseudonyms follow people across mentions"),
    pytest.param(SEED_TEXT, {"operator": "mask", "mask_char": "#"},
                 "##### ###### and ######## ####### invented a new spell.",
                 id="mask keeps length and spaces"),
])
def test_operator_output(client, text, options, want):
    res = redact(client, {"text": text, **options}).get_json()
    assert res["text"] == want
    check_items(text, res)


def test_pseudonyms_are_consistent_across_a_batch(client):
    res = redact(client, {"inputs": [{"text": "Harry Potter spoke."}, {"text": "Ron Weasley and Harry Potter left."}],
                          "operator": "pseudonym"}).get_json()
    assert [r["text"] for r in res["results"]] == ["<PERSON_1> spoke.", "<PERSON_2> and <PERSON_1> left."]


def test_replace_with_own_replacement(client):
    res = redact(client, {"text": SEED_TEXT, "replacement": "▇"}).get_json()
    assert res["text"] == "▇ and ▇ invented a new spell."


def test_hash_is_keyed(keyed, client):
    res = redact(keyed, {"text": SEED_TEXT, "operator": "hash"}).get_json()
    want = hmac.new(KEY.encode(), b"harry potter", hashlib.sha256).hexdigest()[:16]
    assert res["items"][0]["replacement"] == want
    assert res["text"].startswith(want + " and ")
    # without a key: 422 naming the operator, never an unkeyed hash
    problem = assert_problem(redact(client, {"text": SEED_TEXT, "operator": "hash"}), 422)
    assert "NAMETAG_REDACT_KEY" in problem["errors"]["operator"][0]


def test_allow_list_removes_exactly_that_name_deny_list_adds_a_missed_one(client):
    text = "Harry Potter thanked the elf Kreacher."
    plain = redact(client, {"text": text}).get_json()
    assert [i["text"] for i in plain["items"]] == ["Harry Potter"]  # the model misses Kreacher
    allowed = redact(client, {"text": text, "allow_list": ["harry potter"]}).get_json()
    assert allowed["items"] == [] and allowed["text"] == text
    denied = redact(client, {"text": text, "deny_list": ["kreacher"]}).get_json()
    assert [(i["text"], i["source"], i["score"]) for i in denied["items"]] == [
        ("Harry Potter", "model", plain["items"][0]["score"]), ("Kreacher", "deny_list", 1.0)]
    assert denied["text"] == "[PERSON] thanked the elf [PERSON]."
    # the same on /tag: entities and labels follow the lists
    tag = client.post("/tag", json={"text": text, "deny_list": ["Kreacher"], "allow_list": ["Harry Potter"]}).get_json()
    assert [(e["text"], e["source"]) for e in tag["entities"]] == [("Kreacher", "deny_list")]
    assert tag["labels"] == [0, 0, 0, 0, 0, 1, 0]


@pytest.mark.parametrize("route", ["/tag", "/redact"])
def test_offsets_in_utf16_and_utf8(client, route):
    text = "😀 Harry Potter and Rene\u0301e Smith"
    got = {}
    for unit in ("codepoint", "utf16", "utf8"):
        res = client.post(route, json={"text": text, "offsets": unit}).get_json()
        first = (res["entities"] if route == "/tag" else res["items"])[0]
        got[unit] = first["start"]
        if route == "/tag":
            assert res["tokens"][1]["start"] == first["start"]
    assert got == {"codepoint": 2, "utf16": 3, "utf8": 5}
    res = client.post(route, json={"text": text, "offsets": "utf16"}).get_json()
    units = text.encode("utf-16-le")
    for e in (res["entities"] if route == "/tag" else res["items"]):
        assert units[2 * e["start"]:2 * e["end"]].decode("utf-16-le") == e["text"]  # the combining mark too


def test_threshold_on_the_softmax_head_moves_the_cut(client):
    text = "Harry Potter and Hermione Granger invented a new spell with Ron"
    low = client.post("/tag", json={"text": text, "threshold": 0.0}).get_json()
    assert all(t["label"] == 1 for t in low["tokens"])
    high = client.post("/tag", json={"text": text, "threshold": 1.0}).get_json()
    assert all(t["label"] == 0 for t in high["tokens"] if t["score"] < 1.0)
    for thr in (0.2, 0.5, 0.8):
        res = client.post("/tag", json={"text": text, "threshold": thr}).get_json()
        assert [t["label"] for t in res["tokens"]] == [int(t["score"] >= thr) for t in res["tokens"]]


@pytest.mark.parametrize("body, field", [
    ({"tokens": ["Harry", "Potter"]}, "tokens"),
    ({"inputs": [{"tokens": ["Harry"]}]}, "inputs.0.tokens"),
    ({"text": SEED_TEXT, "operator": "erase"}, "operator"),
    ({"text": SEED_TEXT, "operator": "mask", "mask_char": "**"}, "mask_char"),
    ({"text": SEED_TEXT, "mask_char": ""}, "mask_char"),
    ({"text": SEED_TEXT, "replacement": "x" * 101}, "replacement"),
    ({"text": SEED_TEXT, "deny_list": ["a"] * 1001}, "deny_list"),
    ({"text": SEED_TEXT, "allow_list": ["x" * 201]}, "allow_list.0"),
    ({"text": SEED_TEXT, "threshold": -0.1}, "threshold"),
    ({"text": SEED_TEXT, "offsets": "bytes"}, "offsets"),
    ({"text": SEED_TEXT, "inputs": []}, "body"),
    ({}, "body"),
])
def test_bad_options_are_422_naming_the_field(client, body, field):
    problem = assert_problem(redact(client, body), 422)
    assert field in problem["errors"], problem


def test_limits_apply_to_redact(make_app):
    client = make_app(MAX_CHARS=10, MAX_INPUTS=2).test_client()
    assert "text" in assert_problem(redact(client, {"text": "x" * 11}), 422)["errors"]
    assert "inputs" in assert_problem(redact(client, {"inputs": [{"text": "a"}] * 3}), 422)["errors"]


def test_redactions_are_counted_per_operator(make_app):
    client = make_app().test_client()
    redact(client, {"text": SEED_TEXT})
    redact(client, {"text": STORY, "operator": "pseudonym"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'nametag_redactions_total{operator="replace"} 2.0' in text
    assert 'nametag_redactions_total{operator="pseudonym"} 4.0' in text


def test_model_gives_the_operating_table(client):
    info = client.get("/model").get_json()
    rows = info["operating_table"]["rows"]
    assert [r["threshold"] for r in rows] == [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, None]
    assert info["operating_table"]["data"].endswith("dev.conll")
    recalls = [r["recall"] for r in rows[:-1]]
    assert max(recalls[:3]) > recalls[-1]  # a low threshold finds more names than a high one
    assert info["calibration"]["fitted_on"] == ["conll2003/dev.conll", "wnut17/dev.conll"]


def test_openapi_documents_redact(client):
    doc = client.get("/openapi.json").get_json()
    op = doc["paths"]["/redact"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RedactRequest"}
    props = doc["components"]["schemas"]["RedactRequest"]["properties"]
    assert props["operator"]["enum"] == ["replace", "mask", "pseudonym"]  # no key here: no hash
    assert props["mask_char"]["minLength"] == props["mask_char"]["maxLength"] == 1
    assert props["replacement"]["maxLength"] == 100
    assert props["deny_list"]["maxItems"] == 1000 and props["deny_list"]["items"]["maxLength"] == 200
    assert props["offsets"]["enum"] == ["codepoint", "utf16", "utf8"]
    assert {"200", "400", "413", "415", "422", "503"} <= set(op["responses"])
