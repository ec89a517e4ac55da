"""docs/restore.md's table of token sizes is the bench's (bench/results.json, from
`python -m bench --only redaction`), and measuring them again gives the same: they do not
depend on the machine. (Its other figures are marked and checked by tests/test_docs.py.)"""
from __future__ import annotations

import json
import re

from bench.redaction import token_sizes
from harness import ROOT

DOC = (ROOT / "docs" / "restore.md").read_text(encoding="utf-8")
RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())["redaction"]


def doc_sizes() -> dict[str, int]:
    people = re.search(r"^\| people \|(.+)\|$", DOC, re.M).group(1).split("|")
    chars = re.search(r"^\| token characters \|(.+)\|$", DOC, re.M).group(1).split("|")
    return {p.strip(): int(c) for p, c in zip(people, chars)}


def test_token_sizes_in_the_doc_are_the_bench_figures_and_measured_again():
    measured = token_sizes()
    assert doc_sizes() == {str(k): v for k, v in RESULTS["token"]["chars"].items()}
    assert doc_sizes() == {str(k): v for k, v in measured["chars"].items()}
    assert RESULTS["token"]["per_name"] == measured["per_name"]


def test_the_cost_bar_is_met_in_the_committed_run():
    rc = RESULTS["cost"]["restorable_cost"]
    assert rc["bar"] == 1.15 and rc["ok"] and rc["ratio"] <= 1.15
