"""`python -m bench --quick` runs end to end, so the benchmark code cannot rot.

No assertions on timings: CI machines differ and are noisy.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import tool

from harness import ROOT

SECTIONS = ["# nametag benchmarks", "## Quality", "## Model speed, in process",
            "### Profile of the forward pass, before and after", "## Service speed, over HTTP",
            "## Cost", "## Training", "## Bulk tagging", "## Redaction", "## API keys", "## Reliability",
            "## The shipped model against the previous one"]


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


def test_previous_artifact_comes_whole_from_git(tmp_path, monkeypatch):
    """The previous default: every file of artifacts/default at PREVIOUS_COMMIT, loadable,
    no temporary directory left; made once, then reused."""
    from bench import previous
    from model.artifact import load

    monkeypatch.setattr(previous, "PREVIOUS_DIR", tmp_path / "prev")
    got = previous.previous_artifact()
    want = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only",
                           f"{previous.PREVIOUS_COMMIT}:artifacts/default"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert got == tmp_path / "prev" and sorted(p.name for p in got.iterdir()) == sorted(want)
    assert [p.name for p in tmp_path.iterdir()] == ["prev"]
    assert load(got).version
    (got / "marker").write_text("kept")
    assert previous.previous_artifact() == got and (got / "marker").exists()


@pytest.mark.slow
def test_previous_part_runs_and_reports_ratios(tmp_path):
    """`python -m bench --only previous --quick`: both models measured, five positive finite
    ratios, each bar judged, the section on the page."""
    p = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "previous", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    prev = json.loads((tmp_path / "results.json").read_text())["previous"]
    keys = {"p50_1", "tok_s_64", "size_mb", "pss_mib", "cold_start_s"}
    assert set(prev["ratios"]) == set(prev["passed"]) == set(prev["bars"]) == keys
    assert all(isinstance(x, float) and math.isfinite(x) and x > 0 for x in prev["ratios"].values())
    assert all(isinstance(ok, bool) for ok in prev["passed"].values())
    for name in ("new", "previous"):
        assert set(prev[name]) == {"size_mb", "pss_mib", "cold_start_s"}
        assert all(math.isfinite(v) and v > 0 for v in prev[name].values())
        ip = prev["in_process"][name]
        assert len(ip["runs"]["p50_ms"]) == len(ip["runs"]["tok_s"]) == prev["in_process"]["rounds"] >= 2
        assert ip["p50_ms"] > 0 and ip["tok_s"] > 0
        assert prev["service"][name]["workers"] >= 1
    assert prev["in_process"]["sentence_tokens"] == 25
    md = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    section = md.split("## The shipped model against the previous one", 1)[1]
    assert section.count("**pass**") + section.count("**FAIL**") == len(keys)
