"""The service with two faults that carry the request's text, for tests/test_canary.py
(never served outside the tests):

- a token FAULT in a text makes the model raise: a KeyError of the tokens, raised from
  a ValueError quoting them, with the tokens in the locals of every frame on the way;
- CRASH in the query string makes the WSGI app raise past Flask, with the query string
  in the message, so gunicorn's own error handling logs it (with the URL).

    gunicorn -c service/gunicorn.conf.py 'tests.canary_app:create_app()'
"""
from __future__ import annotations

from flask import Flask

from service import create_app as service_app

FAULT = "explodeword"
CRASH = "crashword"


def create_app() -> Flask:
    app = service_app()
    tagger = app.extensions["nametag"].tagger
    tag_documents = tagger.tag_documents

    def faulty(documents, threshold=None, bounds=None):
        words = [w for doc in documents for w in doc]
        if FAULT in words:
            try:
                raise ValueError(f"cannot tag {' '.join(words)!r}")
            except ValueError as e:
                raise KeyError(" ".join(words)) from e
        return tag_documents(documents, threshold, bounds)

    tagger.tag_documents = faulty
    flask_app = app.wsgi_app

    def wsgi(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if CRASH in query:
            raise RuntimeError(f"crash on {query}")
        return flask_app(environ, start_response)

    app.wsgi_app = wsgi
    return app
