"""Shared fixtures: the Flask app and client (Flask tutorial style), an app
factory for other configurations, and a real gunicorn on a loopback port
(``harness.Gunicorn``, two workers); and ``need``, the one rule for a test whose
tool (a Docker engine, chromium, wrk, redis-server...) is missing: it skips,
saying why, on a developer's machine and fails in CI (``CI`` set), where
``.ci/run`` installs every tool and a skip would hide a broken set-up.

    from conftest import client_for, need, post_json, tool, until
    chromium = tool("chromium", "apt-get install chromium")  # its path, or skip/fail
    need("a Docker engine", "`docker info` did not answer")  # skip/fail now
"""
from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from harness import DEFAULT_ARTIFACT, Gunicorn
from service import create_app


def in_ci() -> bool:
    """True in CI: CI is set to anything but "", "0" or "false" (CI services set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(what: str, reason: str) -> None:
    """`what` is missing: skip the test (or the module, at import) saying `reason`, or
    fail it in CI. Never returns."""
    message = f"needs {what}: {reason}"
    if in_ci():
        pytest.fail(f"CI={os.environ['CI']} and this test {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def until(condition, what: str, hang: float = 60):
    """Poll condition() until it is true, and return what it returned: how a test waits
    for an event. `hang` only stops a hung test (it fails, naming `what`); it is no bound
    on the product, whose timings the bench measures."""
    give_up = time.monotonic() + hang
    while not (got := condition()):
        assert time.monotonic() < give_up, f"never happened: {what}"
        time.sleep(0.005)
    return got


def tool(name: str, install: str) -> str:
    """The path of the command `name` on PATH, or need() it (install: how to get it)."""
    path = shutil.which(name)
    if path is None:
        need(name, f"`{name}` is not on PATH ({install})")
    return path


@pytest.fixture(scope="session")
def app():
    """The service on the shipped artifact, default limits (loaded once per session)."""
    return create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT)})


@pytest.fixture
def client(app):
    return app.test_client()


def client_for(**config):
    """A Flask test client of a new app with config on top of TESTING."""
    return create_app({"TESTING": True, **config}).test_client()


def post_json(client, path: str, body):
    """POST body, as JSON, to path through a Flask test client."""
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.fixture(scope="module")
def keyed(request):
    """A test client whose app has the test module's KEYED_CONFIG (its keys) on top of
    TESTING; one per module."""
    return client_for(**request.module.KEYED_CONFIG)


@pytest.fixture
def make_app():
    """create_app with overrides on top of the test defaults."""
    def make(**config):
        return create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT), **config})
    return make


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """The service under a real gunicorn (2 workers) on a free loopback port."""
    yield from Gunicorn(workers=2, log_dir=tmp_path_factory.mktemp("gunicorn")).serving()


def _gunicorns(log_dir):
    """A function starting gunicorn servers (not waited for), logging into log_dir;
    every one is stopped at teardown."""
    servers = []

    def start(env: dict | None = None, app: str = "service:create_app()") -> Gunicorn:
        servers.append(Gunicorn(app, env, workers=2, log_dir=log_dir))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_gunicorn(tmp_path):
    """Start gunicorn servers for one test: start(env=None, app=...)."""
    yield from _gunicorns(tmp_path)


@pytest.fixture(scope="module")
def start_gunicorn_module(tmp_path_factory):
    """Start gunicorn servers that a module's tests share: start(env=None, app=...)."""
    yield from _gunicorns(tmp_path_factory.mktemp("gunicorn"))
