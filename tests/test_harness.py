"""The shared harness: one percentile with one meaning, the default artifact the service
loads, the seed sentence as the service splits and tags it, and a gunicorn that starts,
lists its workers and stops."""
from __future__ import annotations

import math
import random
import time

import numpy as np
import pytest

from harness import (DEFAULT_ARTIFACT, SEED_LABELS, SEED_NAMES, SEED_TEXT, SEED_TOKENS, Gunicorn, ServerError,
                     http_status, percentile, wait_workers)
from model.artifact import load


@pytest.mark.parametrize("n", [1, 2, 3, 10, 99, 100, 101, 1000])
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 99.9, 100])
def test_percentile_is_the_nearest_rank_in_percent(n, q):
    values = [random.Random(n).random() for _ in range(n)]
    assert percentile(values, q) == np.percentile(values, q, method="inverted_cdf")


def test_percentile_refuses_a_fraction_above_one_and_gives_nan_for_nothing():
    with pytest.raises(ValueError, match="percent"):
        percentile([1.0, 2.0], 150)
    with pytest.raises(ValueError, match="percent"):
        percentile([1.0, 2.0], -0.5)
    assert math.isnan(percentile([], 50))
    assert percentile(range(1, 101), 99) == 99 and percentile(range(1, 101), 0.99) == 1  # percent, not a fraction


def test_the_harness_artifact_is_the_one_the_service_loads_by_default():
    from service import create_app

    app = create_app({"TESTING": True})  # no ARTIFACT: the service's own default
    loaded = app.extensions["nametag"].artifact
    assert loaded.meta["weights_sha256"] == load(DEFAULT_ARTIFACT).meta["weights_sha256"]


def test_the_seed_sentence_is_as_the_tokenizer_splits_it_and_the_model_tags_it(client):
    res = client.post("/tag", json={"text": SEED_TEXT}).get_json()
    assert [t["text"] for t in res["tokens"]] == SEED_TOKENS
    assert res["labels"] == SEED_LABELS
    assert [e["text"] for e in res["entities"]] == SEED_NAMES


@pytest.mark.slow
def test_gunicorn_starts_lists_its_workers_and_stops(tmp_path):
    started = time.perf_counter()
    with Gunicorn(workers=2, log_dir=tmp_path) as server:
        cold_start = server.wait_ready()
        assert 0 < cold_start <= time.perf_counter() - started  # seconds since the start, not a timestamp
        assert http_status(server.port, "/healthz") == 200
        pids = wait_workers(server.pid, 2)
        assert pids == server.workers() and server.pid not in pids
        assert server.stop() == 0
        assert server.workers() == [] and http_status(server.port, "/healthz") == 0


@pytest.mark.slow
def test_gunicorn_that_cannot_start_raises_with_its_log(tmp_path):
    with Gunicorn(env={"NAMETAG_ARTIFACT": str(tmp_path / "nowhere")}) as server:
        with pytest.raises(ServerError, match="cannot load artifact"):
            server.wait_ready()
