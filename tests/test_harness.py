"""The shared harness: one percentile with one meaning, the seed sentence as the tokenizer
splits it, and a gunicorn that starts, lists its workers and stops."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from harness import (DEFAULT_ARTIFACT, SEED_NAMES, SEED_TEXT, SEED_TOKENS, Gunicorn, ServerError, http_status, percentile,
                     wait_workers)


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


def test_the_harness_artifact_is_the_service_default():
    from service.config import DEFAULT_ARTIFACT as SERVICE_DEFAULT

    assert DEFAULT_ARTIFACT == SERVICE_DEFAULT


def test_seed_names_are_spans_of_the_seed_text():
    assert " ".join(SEED_TOKENS).replace(" .", ".") == SEED_TEXT
    assert all(name in SEED_TEXT for name in SEED_NAMES)


@pytest.mark.slow
def test_gunicorn_starts_lists_its_workers_and_stops(tmp_path):
    with Gunicorn(workers=2, log_dir=tmp_path) as server:
        assert server.wait_ready() > 0
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
