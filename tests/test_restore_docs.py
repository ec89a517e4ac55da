"""docs/restore.md quotes the bench's figures (bench/results.json, from `python -m bench
--only redaction`): the token sizes, which this test also measures again (they do not
depend on the machine), and the cost of restorable against plain pseudonymisation."""
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
    assert f"about **{round(measured['per_name'])} characters**" in DOC
    assert f"({measured['mean_name_chars']} characters a name on average)" in DOC


def test_cost_in_the_doc_is_the_bench_figure():
    rc = RESULTS["cost"]["restorable_cost"]
    assert f"**{rc['ratio']:.3f}×**" in DOC
    assert f"bar ≤ {rc['bar']}" in DOC and rc["bar"] == 1.15 and rc["ok"]
