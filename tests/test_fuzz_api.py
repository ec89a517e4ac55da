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
import schemathesis
from schemathesis import checks
from schemathesis.config._checks import NegativeDataRejectionConfig, PositiveDataAcceptanceConfig
from schemathesis.generation import GenerationMode

from http_load import figures
from leaks import LEAKS
from service import create_app

SEED = 20261126
MAX_EXAMPLES = 1000  # per route and generation mode (hypothesis stops earlier where the space is small)
CASES: collections.Counter = collections.Counter()

APP = create_app({"TESTING": True})  # default limits, the shipped model
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


def problem_shape(ctx, response, case):
    """Every error is a problem+json Problem naming its own status, with no trace or path."""
    text = response.content.decode("utf-8", "replace")
    ctype = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
    shown = json.dumps(without_echo(json.loads(text))) if response.status_code < 400 and \
        ctype[0].startswith("application/json") else text
    assert not LEAKS.search(shown), f"leaks {LEAKS.search(shown).group()!r}"
    if response.status_code >= 400:
        assert ctype[0].startswith("application/problem+json"), ctype
        body = json.loads(text)
        assert body["status"] == response.status_code and body["type"] == "about:blank"
        assert isinstance(body["title"], str) and isinstance(body["detail"], str)


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    per_route = collections.Counter()
    for (route, mode, status), n in CASES.items():
        per_route[route] += n
    figures("fuzz", seed=SEED, max_examples=MAX_EXAMPLES, total=sum(CASES.values()),
            per_route=dict(sorted(per_route.items())),
            tag_statuses={f"{mode} {status}": n for (route, mode, status), n in sorted(CASES.items())
                          if route == "POST /tag"})


@schema.parametrize()
def test_api(case):
    response = case.call_and_validate(checks=[
        checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
        checks.response_schema_conformance, checks.positive_data_acceptance, checks.negative_data_rejection,
        problem_shape])
    mode = case.meta.generation.mode.value if case.meta else "explicit"
    CASES[f"{case.method} {case.path}", mode, response.status_code] += 1
