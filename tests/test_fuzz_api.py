"""Fuzz the API from its own OpenAPI document with schemathesis: every route,
positive and negative cases, a fixed seed.

The document is the one the service serves at /openapi.json (it describes the
deployment: its limits, its model's head); the cases go to that same app, on
the shipped model, through WSGI. Checks:
no 5xx; every status, content type and body as documented (so every 200 is
valid against its schema, every error an application/problem+json Problem);
schema-valid requests accepted, schema-violating ones refused; and no stack
trace or path in any answer. Cases run per route are printed as a FIGURES line.
"""
from __future__ import annotations

import collections
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import schemathesis
from schemathesis import checks
from schemathesis.config._checks import NegativeDataRejectionConfig, PositiveDataAcceptanceConfig
from schemathesis.generation import GenerationMode

from http_load import figures
from leaks import LEAKS
from service import create_app

pytestmark = pytest.mark.slow  # thousands of generated requests per route

SEED = 20261126
MAX_EXAMPLES = 1000  # per route and generation mode (hypothesis stops earlier where the space is small)
CASES: collections.Counter = collections.Counter()

RESTORE_KEY = "fuzz-restore-key-0123456789abcdefghij"
APP = create_app({"TESTING": True, "RESTORE_KEY": RESTORE_KEY})  # default limits, the shipped model, restorable
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)
schema.config.seed = SEED
# No NUL in generated strings: the document says in words only that NUL is refused
# (422; test_fuzz_edges.py sends it), so a schema-valid string must not carry one.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=MAX_EXAMPLES, database="none", allow_x00=False)
# 413: the byte limit on the body cannot be written in JSON Schema (a text within
# maxLength can still exceed it once JSON-escaped), so a valid body may get 413.
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=["2xx", "413"])
schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
    expected_statuses=["400", "404", "405", "413", "415", "422"])


def without_echo(value):
    """A JSON answer without its "text" fields, which give the caller's own text back
    (a generated text may well hold ".py" or "/tmp/")."""
    if isinstance(value, dict):
        return {k: without_echo(v) for k, v in value.items() if k != "text"}
    if isinstance(value, list):
        return [without_echo(v) for v in value]
    return value


def without_field_names(problem):
    """A Problem with its "errors" messages but not their keys, which name the caller's own
    fields back (a generated field may be called "gunicorn.conf.py")."""
    if isinstance(problem, dict) and isinstance(problem.get("errors"), dict):
        return {**problem, "errors": list(problem["errors"].values())}
    return problem


def problem_shape(ctx, response, case):
    """Every error is a problem+json Problem naming its own status, with no trace or path."""
    text = response.content.decode("utf-8", "replace")
    ctype = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
    shown = text
    if response.status_code < 400 and ctype[0].startswith("application/json"):
        shown = json.dumps(without_echo(json.loads(text)))
    elif ctype[0].startswith("application/problem+json"):
        shown = json.dumps(without_field_names(json.loads(text)))
    assert not LEAKS.search(shown), f"leaks {LEAKS.search(shown).group()!r}"
    if response.status_code >= 400:
        assert ctype[0].startswith("application/problem+json"), ctype
        body = json.loads(text)
        assert body["status"] == response.status_code and body["type"] == "about:blank"
        assert isinstance(body["title"], str) and isinstance(body["detail"], str)


def token_refused_or_accepted(ctx, response, case):
    """A schema-valid request that carries a restore_token: accepted, or refused with 422
    naming restore_token and nothing else (no schema can say which tokens open)."""
    if response.status_code < 300 or response.status_code == 413:
        return
    assert response.status_code == 422, response.status_code
    assert list(json.loads(response.content)["errors"]) == ["restore_token"], response.content[:300]


def carries_token(case) -> bool:
    return isinstance(case.body, dict) and "restore_token" in case.body


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    per_route = collections.Counter()
    for (route, mode, status), n in CASES.items():
        per_route[route] += n
    figures("fuzz", seed=SEED, max_examples=MAX_EXAMPLES, total=sum(CASES.values()),
            per_route=dict(sorted(per_route.items())),
            tag_statuses={f"{mode} {status}": n for (route, mode, status), n in sorted(CASES.items())
                          if route == "POST /tag"},
            restore_statuses={f"{mode} {status}": n for (route, mode, status), n in sorted(CASES.items())
                              if route.startswith("POST /restore")})


@schema.parametrize()
def test_api(case):
    mode = case.meta.generation.mode.value if case.meta else "explicit"
    acceptance = token_refused_or_accepted if carries_token(case) and mode == "positive" \
        else checks.positive_data_acceptance
    response = case.call_and_validate(checks=[
        checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
        checks.response_schema_conformance, acceptance, checks.negative_data_rejection,
        problem_shape])
    CASES[f"{case.method} {case.path}", mode, response.status_code] += 1


# ---- /restore and /redact with real tokens, changed at random: no schema can generate those

CLIENT = APP.test_client()
TOKEN = CLIENT.post("/redact", json={"text": "Angela Merkel met Emmanuel Macron in Berlin.", "operator": "pseudonym",
                                     "restorable": True}).get_json()["restore_token"]
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LLM_PIECES = ["<PERSON_1>", "<PERSON_2>", "PERSON_1", "<person_2>", "<PERSON_3>", "'s", ", ", " ", "\n", "😀",
              "PERSON_", "<", ">", "thanked", "Berlin."]


@st.composite
def changed_token(draw):
    """The real token, or it with one change: a character replaced, removed or added, a cut."""
    how = draw(st.sampled_from(["same", "replace", "remove", "insert", "cut", "swap"]))
    i = draw(st.integers(0, len(TOKEN) - 1))
    c = draw(st.sampled_from(B64URL + "=+/ .é"))
    return {"same": TOKEN, "replace": TOKEN[:i] + c + TOKEN[i + 1:], "remove": TOKEN[:i] + TOKEN[i + 1:],
            "insert": TOKEN[:i] + c + TOKEN[i:], "cut": TOKEN[:i],
            "swap": TOKEN[:i] + TOKEN[i + 1:i + 2] + TOKEN[i] + TOKEN[i + 2:]}[how]


@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(token=changed_token(), text=st.lists(st.one_of(st.sampled_from(LLM_PIECES), st.text(max_size=5)),
                                            max_size=20).map("".join))
def test_restore_with_changed_tokens_never_fails_and_never_restores_part(token, text):
    text = text.replace("\x00", "")
    for path, body in (("/restore", {"text": text, "restore_token": token}),
                       ("/redact", {"text": text, "operator": "pseudonym", "restorable": True,
                                    "restore_token": token})):
        resp = CLIENT.post(path, data=json.dumps(body), content_type="application/json")
        CASES[f"POST {path} (changed tokens)", "positive", resp.status_code] += 1
        if token == TOKEN:
            assert resp.status_code == 200, resp.get_data(as_text=True)
            if path == "/restore":
                assert "<PERSON_1>" not in resp.get_json()["text"]
        else:
            assert resp.status_code == 422, (token, resp.status_code)
            problem = resp.get_json()
            assert list(problem["errors"]) == ["restore_token"] and "text" not in problem
            assert "Angela" not in resp.get_data(as_text=True)
