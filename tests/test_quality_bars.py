"""The shipped model against its quality bars, measured as a user meets it: PER entity
F1, exact spans, on CoNLL-2003 test three ways (one sentence per input, one document
per input, as model.evaluate) and in one case, on WNUT-17 test, and on names in
business text (tests/data/). What each bar measures is ``bench.bars``; the minimums,
and the artifact they were set for, are the ``bars`` record in the artifact's meta.json.

A bar fails when its figure is under its minimum, and every bar fails when the loaded
artifact is not the one the bars were set for: the message says how the figure moved
and how to re-set the bars (docs/development.md, Quality bars). Nothing here pins the
shipped figures."""
from __future__ import annotations

import json
import shutil

import pytest
from tiny_model import tiny_conll, train_tiny

from bench.bars import BARS, measure, record, verdict
from harness import DEFAULT_ARTIFACT
from model.artifact import load, update_meta
from model.tagger import Tagger


@pytest.fixture(scope="module")
def tagger():
    return Tagger(load(DEFAULT_ARTIFACT))


@pytest.mark.parametrize("name", list(BARS))
def test_quality_bar(tagger, name):
    problem = verdict(tagger.artifact, name, measure(name, tagger))
    assert not problem, problem


def test_the_bars_record_names_the_shipped_artifact():
    art = load(DEFAULT_ARTIFACT)
    bars = art.meta["bars"]
    assert bars["set_for"] == {"name": art.name, "version": art.version, "weights_sha256": art.meta["weights_sha256"]}
    assert set(bars["f1"]) == set(BARS) and bars["why"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny trained artifact with a bars record, and a corpus to retrain it on."""
    base = tmp_path_factory.mktemp("bars")
    corpus = tiny_conll(base / "c.conll", n=40)
    assert train_tiny(base / "model", corpus, "--epochs", "1").returncode == 0
    art = load(base / "model")
    figures = {name: 0.9 for name in BARS}
    update_meta(base / "model", {"bars": record(art, figures, "set by the test", {n: 0.5 for n in BARS})})
    return base, corpus


def test_a_bar_on_another_artifact_says_what_moved_and_how_to_reset(tiny, tmp_path):
    base, _ = tiny
    art = load(base / "model")
    assert verdict(art, "wnut17_test", 0.6) == ""  # its own artifact, above the minimum
    assert "below the minimum 0.5" in verdict(art, "wnut17_test", 0.4)
    other = tmp_path / "other"
    shutil.copytree(base / "model", other)
    weights = (other / "weights.npz").read_bytes()
    meta = json.loads((other / "meta.json").read_text())
    meta["bars"]["set_for"]["weights_sha256"] = "0" * 64  # the bars were set for another model
    meta["bars"]["set_for"]["version"] = "000000000000"
    (other / "meta.json").write_text(json.dumps(meta))
    moved = verdict(load(other), "wnut17_test", 0.85)
    assert "bar wnut17_test" in moved
    assert "000000000000, which measured 0.9000" in moved and "measures 0.8500: moved by -0.0500" in moved
    assert "above the minimum" in moved and "python -m bench.bars --set" in moved
    assert (other / "weights.npz").read_bytes() == weights


def test_retraining_keeps_the_old_bars_so_the_new_model_must_meet_them(tiny):
    """train.py carries the record of the artifact it replaces: the new model's bars
    still name the old one, so every bar says how it moved until they are re-set."""
    base, corpus = tiny
    before = load(base / "model").meta["bars"]
    assert train_tiny(base / "model", corpus, "--epochs", "2").returncode == 0
    new = load(base / "model")
    assert new.meta["bars"] == before and before["set_for"]["weights_sha256"] != new.meta["weights_sha256"]
    assert "the bars were set for" in verdict(new, "business_text", 0.95)


def test_a_missing_record_is_a_failure_saying_how_to_set_it(tmp_path):
    corpus = tiny_conll(tmp_path / "c.conll", n=40)
    assert train_tiny(tmp_path / "fresh", corpus, "--epochs", "1").returncode == 0  # nothing to carry over
    art = load(tmp_path / "fresh")
    assert "bars" not in art.meta
    assert "has no quality bar 'conll_test_lower'" in verdict(art, "conll_test_lower", 0.9)
