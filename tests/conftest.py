"""Shared fixtures: the Flask app and client (Flask tutorial style), an app
factory for other configurations, and a real gunicorn on a loopback port
(``harness.Gunicorn``, two workers)."""
from __future__ import annotations

import pytest

from harness import DEFAULT_ARTIFACT, Gunicorn
from service import create_app


@pytest.fixture(scope="session")
def app():
    """The service on the shipped artifact, default limits (loaded once per session)."""
    return create_app({"TESTING": True, "ARTIFACT": str(DEFAULT_ARTIFACT)})


@pytest.fixture
def client(app):
    return app.test_client()


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


@pytest.fixture
def start_gunicorn(tmp_path):
    """Start gunicorn servers (not waited for); every one is stopped at teardown."""
    servers = []

    def start(env: dict | None = None, app: str = "service:create_app()") -> Gunicorn:
        servers.append(Gunicorn(app, env, workers=2, log_dir=tmp_path))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
