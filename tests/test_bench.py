"""`python -m bench --quick` runs end to end, so the benchmark code cannot rot.

No assertions on timings: CI machines differ and are noisy.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import tool

from harness import ROOT

SECTIONS = ["# nametag benchmarks", "## Quality", "## Model speed, in process",
            "### Profile of the forward pass, before and after", "## Service speed, over HTTP",
            "## Cost", "## Training", "## Bulk tagging", "## Redaction", "## API keys", "## Reliability"]


@pytest.mark.slow
def test_quick_bench_writes_every_section(tmp_path):
    tool("wrk", "the bench's HTTP load generator: Debian's package; `make tools` installs it")
    p = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    md = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in md
    assert "Quick mode" in md
    assert "cores" in md and "numpy" in md  # date, machine and versions
    r = json.loads((tmp_path / "results.json").read_text())
    assert r["quality"]["seed"]["ok"]
    assert r["speed"]["agree"]["ours"] < 1e-5
    if r["speed"]["torch"] is None:
        assert "torch not installed" in md
    else:
        assert r["speed"]["agree"]["torch"] < 1e-5
    cells = r["http"]["cells"]
    assert cells and all(c["requests"] > 0 and c["not_200"] == 0 and c["errors"] == 0 for c in cells.values())
    assert set(r["http"]["bars"]) == {"rps_c16", "p50_c1", "batch_tokens"}
    assert set(r["http"]["memo_ratios"]) == {"rps_c16", "p50_c1", "batch_tokens"} and "model memoized" in md
    stages = r["http"]["stages"]["after"]
    assert stages["request, whole"] > stages["network"] > 0
    bulk = r["bulk"]
    assert bulk["jsonl"]["identical"] and bulk["conll"]["identical"] and bulk["conll_test"]["identical"]
    assert bulk["conll_test"]["one process"] == bulk["conll_test"]["evaluate"]
    cal = r["redaction"]["calibration"]
    assert cal["calibrated"] and 0 <= cal["wnut_test"]["after"]["ece"] <= 1
    assert r["redaction"]["cost"]["/redact"]["requests"] > 0
    assert r["auth"]["keys on"]["requests"] > 0 and r["auth"]["keys off"]["requests"] > 0
    rel = r["reliability"]
    assert set(rel) == {"busy_health", "worker_death", "slow_client", "tokenizer"}
    assert all(rel[k]["ratio"] > 0 and isinstance(rel[k]["ok"], bool) for k in rel)


def test_memo_app_answers_as_the_service(client):
    """bench/memo_app.py (ours with the model's answers memoized) must be the same service."""
    from bench.memo_app import create_app

    memo = create_app().test_client()
    for body in ({"text": "Angela Merkel met Barack Obama."}, {"inputs": [{"text": "Harry Potter ."}] * 3},
                 {"text": "Angela Merkel met Barack Obama.", "threshold": 0.9}):
        for _ in range(2):  # the first call fills the memo, the second reads it
            assert memo.post("/tag", json=body).get_json() == client.post("/tag", json=body).get_json()


def test_bench_refuses_unknown_part():
    p = subprocess.run([sys.executable, "-m", "bench", "--only", "nonsense"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
