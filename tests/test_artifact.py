"""The artifact format: round trip, and every way a broken one is refused."""
import hashlib
import json
import shutil
import zipfile

import numpy as np
import pytest
from artifact_support import write_weights

from model import network
from model.artifact import ArtifactError, load, save
from model.features import FeatureTables


@pytest.fixture
def art_dir(tmp_path):
    rng = np.random.default_rng(0)
    tables = FeatureTables({"word=<unk>": 1, "shape=Xx": 2, "doc=no": 3}, {"ANNA": 4}, {"SMITH": 1})
    cfg = network.Config(n_x=tables.n_x, n_a=5, head="softmax", bidirectional=True)
    params = network.init_params(cfg, rng)
    return save(tmp_path / "art", params, cfg, tables, {"name": "t"}), params, cfg, tables


def test_round_trip(art_dir):
    d, params, cfg, tables = art_dir
    art = load(d)
    assert art.config == cfg and art.name == "t"
    assert art.tables.index == tables.index and art.tables.first_names == {"ANNA": 4}
    for k in params:
        np.testing.assert_array_equal(art.params[k], params[k])
    assert art.meta["labels"] == ["O", "B-PER", "I-PER"]


def edit_meta(d, **changes):
    meta = json.loads((d / "meta.json").read_text())
    meta.update(changes)
    (d / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("breakage,message", [
    (lambda d, p: shutil.rmtree(d), "no such artifact directory"),
    (lambda d, p: (d / "meta.json").unlink(), "missing meta.json"),
    (lambda d, p: (d / "weights.npz").unlink(), "missing weights.npz"),
    (lambda d, p: (d / "meta.json").write_text("{"), "not valid JSON"),
    (lambda d, p: (d / "weights.npz").write_bytes((d / "weights.npz").read_bytes()[:1000]), "checksum mismatch"),
    (lambda d, p: edit_meta(d, weights_sha256="0" * 64), "checksum mismatch"),
    (lambda d, p: edit_meta(d, format_version=99), "format version 99"),
    (lambda d, p: edit_meta(d, config={"n_x": 4, "n_a": 5, "head": "crf", "bidirectional": True}), "unknown head"),
    (lambda d, p: edit_meta(d, config={"n_x": 9, "n_a": 5, "head": "softmax", "bidirectional": True}), "n_x=4"),
    (lambda d, p: write_weights(d, dict(p, W_aa=np.zeros((4, 4), np.float32))), "W_aa has shape (4, 4)"),
    (lambda d, p: write_weights(d, {k: v for k, v in p.items() if k != "b_y"}), "expected"),
    (lambda d, p: write_weights(d, dict(p, W_aa=p["W_aa"].astype(np.float64))), "dtype float64"),
    (lambda d, p: write_weights(d, dict(p, W_aa=np.array([{"x": 1}], dtype=object))), "refused"),
    (lambda d, p: (d / "weights.npz").write_bytes(b"garbage"), "checksum mismatch"),
])
def test_broken_artifacts_are_refused(art_dir, breakage, message):
    d, params, _, _ = art_dir
    breakage(d, params)
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(d)


def test_not_a_zip_with_matching_checksum_is_refused(art_dir):
    d, _, _, _ = art_dir
    (d / "weights.npz").write_bytes(b"garbage")
    edit_meta(d, weights_sha256=hashlib.sha256(b"garbage").hexdigest())
    with pytest.raises(ArtifactError, match="not a readable .npz"):
        load(d)


def test_saved_zip_has_fixed_timestamps(art_dir):
    d, _, _, _ = art_dir
    with zipfile.ZipFile(d / "weights.npz") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_save_replaces_previous_atomically(art_dir, tmp_path):
    d, params, cfg, tables = art_dir
    save(d, {k: v * 2 for k, v in params.items()}, cfg, tables, {"name": "second"})
    assert load(d).name == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_round_trip_with_the_character_cell(tmp_path):
    """A model with the character cell: its vocabulary in the feature tables, n_c and
    n_ch in the config, its parameters in the weights; a mismatch is refused."""
    tables = FeatureTables({"word=<unk>": 1, "shape=Xx": 2}, {}, {}, chars=("A", "n", "é"))
    cfg = network.Config(n_x=tables.n_x, n_a=5, n_c=3, n_ch=tables.n_ch)
    params = network.init_params(cfg, np.random.default_rng(0))
    d = save(tmp_path / "art", params, cfg, tables, {"name": "c"})
    art = load(d)
    assert art.config == cfg and art.tables.chars == ("A", "n", "é") and art.tables.n_ch == 5
    assert art.tables.char_ids("Anné") == (2, 3, 3, 4) and art.tables.char_ids("Zo") == (1, 1)
    assert {"W_cx", "W_cc_bw", "W_ah_bw"} <= set(art.params)
    for k in params:
        np.testing.assert_array_equal(art.params[k], params[k])
    meta = json.loads((d / "meta.json").read_text())
    assert meta["config"]["n_c"] == 3 and meta["features"]["chars"] == ["A", "n", "é"]
    edit_meta(d, features=dict(meta["features"], chars=["A", "n"]))
    pytest.raises(ArtifactError, load, d).match("n_ch=4")


def test_without_the_character_cell_meta_says_nothing_of_it(art_dir):
    d, _, cfg, _ = art_dir
    meta = json.loads((d / "meta.json").read_text())
    assert "n_c" not in meta["config"] and "n_ch" not in meta["config"] and "chars" not in meta["features"]
    assert load(d).tables.n_ch == 0
