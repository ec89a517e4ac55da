"""Round trips through an LLM: POST /redact with `restorable`, POST /restore, the restore
key's settings, the metric and the logs; through the Flask test client on the shipped
model, and through real gunicorns on loopback (any replica restores what another sealed,
a restart loses nothing, no token, name or key in any log)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
import requests
from conftest import client_for, post_json

from harness import ROOT, Gunicorn
from model.restore import DEFAULT_TTL_S, Book, Sealer
from test_service import assert_problem

RESTORE_KEY = "restore-key-for-tests-0123456789abcdef"
KEYED_CONFIG = {"RESTORE_KEY": RESTORE_KEY}  # the `keyed` client's (conftest)
OTHER_KEY = "another-restore-key-0123456789abcdefgh"
MERKEL = "Angela Merkel met Emmanuel Macron in Berlin."
MERKEL_REDACTED = "<PERSON_1> met <PERSON_2> in Berlin."
SCHOLZ = "Emmanuel Macron called Olaf Scholz."


def restorable(client, text, **extra):
    resp = post_json(client, "/redact", {"text": text, "operator": "pseudonym", "restorable": True, **extra})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def restore(client, text, token, **extra):
    return post_json(client, "/restore", {"text": text, "restore_token": token, **extra})


# ---- the bars

def test_round_trip(keyed):
    res = restorable(keyed, MERKEL)
    assert res["text"] == MERKEL_REDACTED
    token = res["restore_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    back = restore(keyed, MERKEL_REDACTED, token)
    assert back.status_code == 200
    assert back.get_data() and back.get_json()["text"].encode() == MERKEL.encode()  # byte for byte
    answer = restore(keyed, "<PERSON_2> thanked <PERSON_1>'s team.", token).get_json()
    assert answer["text"] == "Emmanuel Macron thanked Angela Merkel's team."
    assert answer["restored"] == [{"pseudonym": "<PERSON_1>", "count": 1}, {"pseudonym": "<PERSON_2>", "count": 1}]
    assert answer["unknown"] == []
    assert [(i["placeholder"], i["text"], i["start"], i["end"], i["out_start"], i["out_end"])
            for i in answer["items"]] == [("<PERSON_2>", "Emmanuel Macron", 0, 10, 0, 15),
                                          ("<PERSON_1>", "Angela Merkel", 19, 29, 24, 37)]


def test_continuity(keyed):
    token = restorable(keyed, MERKEL)["restore_token"]
    res = restorable(keyed, SCHOLZ, restore_token=token)
    assert res["text"] == "<PERSON_2> called <PERSON_3>."
    assert res["restore_token"] != token
    back = restore(keyed, "<PERSON_1>, <PERSON_2> and <PERSON_3>", res["restore_token"]).get_json()
    assert back["text"] == "Angela Merkel, Emmanuel Macron and Olaf Scholz"
    assert restore(keyed, res["text"], res["restore_token"]).get_json()["text"] == SCHOLZ
    # later first-name and surname mentions of known people keep their numbers
    third = restorable(keyed, "Merkel and Olaf spoke with Boris Johnson.", restore_token=res["restore_token"])
    assert third["text"] == "<PERSON_1> and <PERSON_3> spoke with <PERSON_4>."


def test_batches_share_one_token(keyed):
    token = restorable(keyed, MERKEL)["restore_token"]
    resp = post_json(keyed, "/redact", {"inputs": [{"text": SCHOLZ}, {"text": "Angela Merkel thanked Olaf Scholz."}],
                                   "operator": "pseudonym", "restorable": True, "restore_token": token})
    res = resp.get_json()
    assert [r["text"] for r in res["results"]] == ["<PERSON_2> called <PERSON_3>.", "<PERSON_1> thanked <PERSON_3>."]
    assert all("restore_token" not in r for r in res["results"])
    back = post_json(keyed, "/restore", {"inputs": [{"text": r["text"]} for r in res["results"]],
                                    "restore_token": res["restore_token"]}).get_json()
    assert [r["text"] for r in back["results"]] == [SCHOLZ, "Angela Merkel thanked Olaf Scholz."]


def tampered(token: str) -> list[tuple[str, str]]:
    i = len(token) // 2
    flip = "A" if token[i] != "A" else "B"
    return [("one character changed", token[:i] + flip + token[i + 1:]),
            ("last character changed", token[:-1] + ("A" if token[-1] != "A" else "B")),
            ("cut in half", token[:len(token) // 2]),
            ("garbage", "not a token at all"),
            ("empty", "")]


def test_bad_tokens_are_422_never_500_never_partial(keyed):
    token = restorable(keyed, MERKEL)["restore_token"]
    foreign = restorable(client_for(RESTORE_KEY=OTHER_KEY), MERKEL)
    # sealed under this service's key a day and a second ago: genuine, and expired
    expired = Sealer(RESTORE_KEY.encode()).seal(Book(("Angela Merkel", "Emmanuel Macron")),
                                                now=time.time() - DEFAULT_TTL_S - 1)
    cases = tampered(token) + [("another key", foreign["restore_token"])]
    for what, bad in cases:
        for path, body in (("/restore", {"text": MERKEL_REDACTED, "restore_token": bad}),
                           ("/redact", {"text": SCHOLZ, "operator": "pseudonym", "restorable": True,
                                        "restore_token": bad})):
            problem = assert_problem(post_json(keyed, path, body), 422)
            assert list(problem["errors"]) == ["restore_token"], (what, problem)
            assert "restore token" in problem["detail"] and "Angela" not in json.dumps(problem), what
            assert bad[:20] not in problem["detail"] or not bad, what
    assert "another key" in assert_problem(restore(keyed, "x", foreign["restore_token"]), 422)["detail"]
    detail = assert_problem(restore(keyed, MERKEL_REDACTED, expired), 422)["detail"]
    assert "expired" in detail
    assert restore(keyed, MERKEL_REDACTED, Sealer(RESTORE_KEY.encode()).seal(
        Book(("Angela Merkel", "Emmanuel Macron")))).get_json()["text"] == MERKEL  # the same, fresh: restores


def test_no_key_restorable_is_422_naming_the_setting(client):
    problem = assert_problem(post_json(client, "/redact", {"text": MERKEL, "operator": "pseudonym", "restorable": True}),
                             422)
    assert "NAMETAG_RESTORE_KEY" in problem["errors"]["restorable"][0]
    problem = assert_problem(restore(client, MERKEL_REDACTED, "AAAA"), 422)
    assert "NAMETAG_RESTORE_KEY" in json.dumps(problem)


@pytest.mark.parametrize("body, field", [
    ({"text": MERKEL, "operator": "replace", "restorable": True}, "restorable"),
    ({"text": MERKEL, "restorable": True}, "restorable"),
    ({"text": MERKEL, "operator": "mask", "restorable": True}, "restorable"),
    ({"text": MERKEL, "operator": "pseudonym", "restore_token": "AAAA"}, "restore_token"),
    ({"text": MERKEL, "operator": "pseudonym", "restorable": "yes"}, "restorable"),
    ({"text": MERKEL, "operator": "pseudonym", "restorable": True, "restore_token": 5}, "restore_token"),
])
def test_restorable_needs_the_pseudonym_operator(keyed, body, field):
    problem = assert_problem(post_json(keyed, "/redact", body), 422)
    assert field in problem["errors"], problem


@pytest.mark.parametrize("body, field", [
    ({"text": MERKEL_REDACTED}, "restore_token"),
    ({"restore_token": "AAAA"}, "body"),
    ({"text": "x", "inputs": [{"text": "y"}], "restore_token": "AAAA"}, "body"),
    ({"text": 3, "restore_token": "AAAA"}, "text"),
    ({"text": "a\x00b", "restore_token": "AAAA"}, "text"),
    ({"text": "x", "restore_token": "AAAA", "offsets": "bytes"}, "offsets"),
    ({"text": "x" * 100_001, "restore_token": "AAAA"}, "text"),
    ({"inputs": [{"text": "x"}] * 129, "restore_token": "AAAA"}, "inputs"),
])
def test_bad_restore_requests_are_422_naming_the_field(keyed, body, field):
    problem = assert_problem(post_json(keyed, "/restore", body), 422)
    assert field in problem["errors"], problem


def test_restore_offsets_in_utf16_and_utf8(keyed):
    text = "😀 Zoë Saldaña met Harry Potter."
    res = restorable(keyed, text)
    assert res["text"] == "😀 <PERSON_1> met <PERSON_2>."
    answer = "😀 <PERSON_2> and 😀 <PERSON_1>"
    got = {unit: restore(keyed, answer, res["restore_token"], offsets=unit).get_json() for unit in
           ("codepoint", "utf16", "utf8")}
    assert [i["start"] for i in got["codepoint"]["items"]] == [2, 19]
    assert [i["start"] for i in got["utf16"]["items"]] == [3, 21]
    assert [i["start"] for i in got["utf8"]["items"]] == [5, 25]
    out = got["utf16"]["text"].encode("utf-16-le")
    for i in got["utf16"]["items"]:
        assert out[2 * i["out_start"]:2 * i["out_end"]].decode("utf-16-le") == i["text"]


def test_restores_are_counted_by_outcome(make_app):
    client = make_app(RESTORE_KEY=RESTORE_KEY).test_client()
    token = restorable(client, MERKEL)["restore_token"]
    restore(client, MERKEL_REDACTED, token)
    restore(client, MERKEL_REDACTED, token)
    restore(client, MERKEL_REDACTED, token[:10])
    restore(client, MERKEL_REDACTED, token[:-1] + ("A" if token[-1] != "A" else "B"))
    restore(client, MERKEL_REDACTED, Sealer(OTHER_KEY.encode()).seal(Book(("A",))))
    restore(client, MERKEL_REDACTED, Sealer(RESTORE_KEY.encode()).seal(Book(("A",)), now=0))
    post_json(client, "/restore", {"text": 5, "restore_token": token})  # not even a request: not a restore
    text = client.get("/metrics").get_data(as_text=True)
    counted = dict(re.findall(r'nametag_restores_total\{outcome="(\w+)"\} (\S+)', text))
    assert counted == {"restored": "2.0", "damaged": "2.0", "foreign_key": "1.0", "expired": "1.0"}
    keyless = make_app().test_client()
    restore(keyless, MERKEL_REDACTED, token)
    assert 'nametag_restores_total{outcome="no_key"} 1.0' in keyless.get("/metrics").get_data(as_text=True)


def test_openapi_documents_restore(keyed, client):
    doc = keyed.get("/openapi.json").get_json()
    op = doc["paths"]["/restore"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RestoreRequest"}
    assert {"200", "422"} <= set(op["responses"])
    props = doc["components"]["schemas"]["RedactRequest"]["properties"]
    assert props["restorable"]["type"] == "boolean" and "NAMETAG_RESTORE_KEY" in props["restorable"]["description"]
    assert "restore_token" in props
    assert "restore_token" in doc["components"]["schemas"]["RedactResult"]["properties"]
    # a deployment without the key does not offer restorable: true
    keyless = client.get("/openapi.json").get_json()["components"]["schemas"]["RedactRequest"]["properties"]
    assert keyless["restorable"].get("const") is False


# ---- the key's settings: exit 3 with one line, never shown

@pytest.mark.parametrize("env, shown", [
    ({"NAMETAG_RESTORE_KEY": "short-key-31-bytes-long-0000000"}, "NAMETAG_RESTORE_KEY"),
    ({"NAMETAG_RESTORE_KEY": RESTORE_KEY, "NAMETAG_RESTORE_KEY_PREVIOUS": "short"}, "NAMETAG_RESTORE_KEY_PREVIOUS"),
    ({"NAMETAG_RESTORE_KEY": RESTORE_KEY, "NAMETAG_RESTORE_TTL_S": "0"}, "NAMETAG_RESTORE_TTL_S"),
    ({"NAMETAG_RESTORE_KEY_PREVIOUS": RESTORE_KEY}, "NAMETAG_RESTORE_KEY_PREVIOUS"),
])
def test_bad_restore_settings_stop_the_start_with_one_line(env, shown):
    code = "from service import create_app; create_app({'LOAD_MODEL': False})"
    proc = subprocess.run([sys.executable, "-c", code], env={**_env(), **env}, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and shown in lines[0], proc.stderr
    for value in env.values():
        if len(value) > 4:
            assert value not in proc.stderr  # a key is never shown, even a bad one


def _env():
    import os
    return {k: v for k, v in os.environ.items() if not k.startswith("NAMETAG_")}


# ---- through real gunicorns: any replica, a restart, the logs

@pytest.mark.slow
def test_any_replica_restores_and_a_restart_loses_nothing_and_logs_hold_no_secret(tmp_path):
    env = {"NAMETAG_RESTORE_KEY": RESTORE_KEY, "NAMETAG_LOG_LEVEL": "debug"}
    with Gunicorn(env=env, workers=1, log_dir=tmp_path) as a, Gunicorn(env=env, workers=1, log_dir=tmp_path) as b:
        a.wait_ready()
        b.wait_ready()
        sealed = requests.post(a.url + "/redact", json={"text": MERKEL, "operator": "pseudonym",
                                                        "restorable": True}, timeout=30).json()
        token = sealed["restore_token"]
        back = requests.post(b.url + "/restore", json={"text": MERKEL_REDACTED, "restore_token": token}, timeout=30)
        assert back.status_code == 200 and back.json()["text"] == MERKEL
        more = requests.post(b.url + "/redact", json={"text": SCHOLZ, "operator": "pseudonym", "restorable": True,
                                                      "restore_token": token}, timeout=30).json()
        bad = requests.post(a.url + "/restore", json={"text": MERKEL_REDACTED, "restore_token": token[:30]},
                            timeout=30)
        assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
        logs = a.stdout() + a.stderr() + b.stdout() + b.stderr()
    with Gunicorn(env=env, workers=1, log_dir=tmp_path) as c:  # a new process: nothing kept, nothing lost
        c.wait_ready()
        again = requests.post(c.url + "/restore", json={"text": "<PERSON_3> and <PERSON_1>",
                                                        "restore_token": more["restore_token"]}, timeout=30)
        assert again.json()["text"] == "Olaf Scholz and Angela Merkel"
        logs += c.stdout() + c.stderr()
    assert '"path": "/restore"' in logs or '"path":"/restore"' in logs  # the requests were logged ...
    for secret in (token, token[:30], more["restore_token"], RESTORE_KEY, "Merkel", "Macron", "Scholz"):
        assert secret not in logs  # ... without a token, a name or the key
