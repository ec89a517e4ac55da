"""model/calibration.py and model/calibration_fit.py: the fit, the artifact round trip, the CLI,
and train.py calibrating what it writes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from tiny_model import tiny_conll, train_tiny

from harness import DATA, DEFAULT_ARTIFACT, ROOT
from model.artifact import ArtifactError, load, update_meta
from model.calibration import Calibration, ece, fit_logistic


def test_ece_by_hand():
    # two bins: 0.9 (2 items, 1 right) and 0.2 (2 items, 0 right): 0.5 * 0.4 + 0.5 * 0.2
    assert ece([0.9, 0.9, 0.2, 0.2], [1, 0, 0, 0]) == pytest.approx(0.3)
    assert ece([1.0, 0.0], [1, 0]) == 0.0  # 1.0 falls in the last bin
    assert ece([], []) == 0.0


def test_logistic_fit_recovers_a_known_calibration():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=20000)  # the model's logits, over-confident by a factor 2
    y = (rng.random(20000) < 1 / (1 + np.exp(-z / 2))).astype(float)
    w = fit_logistic(z[:, None], y, l2=1.0)
    assert w[0] == pytest.approx(0.5, abs=0.03) and abs(w[1]) < 0.05
    # no data: the identity
    assert list(fit_logistic(np.zeros((0, 3)), np.zeros(0))) == [1.0, 0.0, 0.0, 0.0]


def test_identity_leaves_scores_alone():
    from model.calibration import SentenceBatch, word_facts
    art = load(DEFAULT_ARTIFACT)
    batch = SentenceBatch([["Harry", "Potter", "spoke"], ["Ron", "."]], word_facts(art.tables))
    p = np.array([0.9, 0.6, 0.01, 0.8, 0.02])
    cal = Calibration.identity()
    assert cal.tokens(batch, p) == pytest.approx(p)
    assert cal.entities(batch, p, [(0, 2), (3, 4)]) == pytest.approx([0.75, 0.8])


def test_a_batch_reads_each_sentence_as_it_would_alone():
    """SentenceBatch: the sentences side by side (one empty) give each sentence's own features."""
    from model.calibration import SentenceBatch, word_facts
    art = load(DEFAULT_ARTIFACT)
    facts = word_facts(art.tables)
    sentences = [["Harry", "Potter", "spoke", "."], [], ["@ron", "lol", "Ron", "Weasley"], ["harry", "HARRY"]]
    batch = SentenceBatch(sentences, facts)
    p = np.linspace(0.05, 0.95, sum(map(len, sentences)))
    spans = np.array([[0, 2], [6, 8], [8, 9]])
    for i, toks in enumerate(sentences):
        alone, s, e = SentenceBatch([toks], facts), batch.bounds[i], batch.bounds[i + 1]
        assert np.array_equal(alone.domain_features()[0], batch.domain_features()[i])
        assert np.array_equal(alone.token_features(p[s:e]), batch.token_features(p)[s:e])
        mine = [k for k, (a, _) in enumerate(spans) if s <= a < e]
        if mine:
            assert np.array_equal(alone.entity_features(p[s:e], spans[mine] - s), batch.entity_features(p, spans)[mine])
    assert batch.features[1].tolist() == [0, 0, 0, 0, 0, 0]  # the empty sentence
    assert batch.entity_features(p, np.zeros((0, 2), dtype=np.int64)).shape == (0, 10)  # a fit may find no entity
    assert batch.features[2, 3] == 0.25 and batch.features[0, 4] == 0 and batch.features[2, 4] == 1


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A copy of the shipped artifact (its weights are not touched by anything here)."""
    d = tmp_path_factory.mktemp("cal") / "art"
    shutil.copytree(DEFAULT_ARTIFACT, d)
    return d


def test_shipped_artifact_is_calibrated_on_dev_only():
    art = load(DEFAULT_ARTIFACT)
    assert art.calibration is not None
    assert art.calibration.fitted_on == ("conll2003/dev.conll", "wnut17/dev.conll")
    assert all("test" not in f for f in art.meta["calibration"]["fitted_on"])
    table = art.meta["operating_table"]
    assert table["data"] == "conll2003/dev.conll" and len(table["rows"]) == 8


@pytest.mark.parametrize("bad, message", [
    ({"token": [[1, 2]]}, "features differ|wrong number"),
    ({"entity": [[float("nan")] * 10] * 2}, "finite"),
    ({"domain": None}, "domain"),
])
def test_a_damaged_calibration_is_refused_on_load(shipped, tmp_path, bad, message):
    d = tmp_path / "art"
    shutil.copytree(shipped, d)
    meta = json.loads((d / "meta.json").read_text())
    meta["calibration"].update(bad)
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=message):
        load(d)


def test_update_meta_keeps_the_weights_and_refuses_format_keys(shipped, tmp_path):
    d = tmp_path / "art"
    shutil.copytree(shipped, d)
    before = (d / "weights.npz").read_bytes()
    art = update_meta(d, {"note": "x"})
    assert art.meta["note"] == "x" and (d / "weights.npz").read_bytes() == before
    with pytest.raises(ValueError, match="weights_sha256"):
        update_meta(d, {"weights_sha256": "0" * 64})
    assert sorted(p.name for p in d.iterdir()) == sorted(p.name for p in shipped.iterdir())  # no temp file left


def test_cli_rewrites_calibration_and_table(tmp_path):
    corpus = tiny_conll(tmp_path / "tiny.conll")
    assert train_tiny(tmp_path / "m", corpus).returncode == 0
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["calibration"]["fitted_on"] == [f"{tmp_path.name}/tiny.conll"]  # train.py calibrated it
    weights = (tmp_path / "m" / "weights.npz").read_bytes()
    other = tiny_conll(tmp_path / "other.conll", seed=5)
    p = subprocess.run([sys.executable, "-m", "model.calibration_fit", "--artifact", str(tmp_path / "m"),
                        "--dev", str(corpus), str(other)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    art = load(tmp_path / "m")
    assert len(art.calibration.token) == 2 and art.calibration.domain is not None
    assert [r["threshold"] for r in art.meta["operating_table"]["rows"]] == [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, None]
    assert (tmp_path / "m" / "weights.npz").read_bytes() == weights
    bad = subprocess.run([sys.executable, "-m", "model.calibration_fit", "--artifact", str(tmp_path / "nowhere"),
                          "--dev", str(corpus)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("calibrate: error:")
    assert DATA.exists()
