"""Ensembles: networks of the same model tagging together (model/ensemble.py), the
artifact format that holds them, and their refusals."""
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from artifact_support import rewrite_weights
from harness import ROOT
from tiny_model import tiny_conll, train_tiny

from model import network
from model.artifact import HALF, ArtifactError, Network, halved, load, save
from model.features import FeatureTables
from model.tagger import Tagger
from model.vectors import choose

WORDS = ["the", "of", "smith", "john", "aisha", "paris", "zebra"]
SENTENCES = [["John", "Smith", "met", "Aisha", "in", "Paris", "."], ["zebra"], ["the", "Smith", "of", "x"]]


def networks(k: int, cfg: network.Config):
    """k networks of one config: their own parameters and their own vectors of the same words."""
    out = []
    for seed in range(k):
        G = np.random.default_rng(10 + seed).normal(size=(len(WORDS), 50)).astype(np.float32)
        out.append(Network(network.init_params(cfg, np.random.default_rng(seed)), choose(WORDS, G, [], n_words=7)))
    return out


@pytest.fixture
def ensemble(tmp_path):
    tables = FeatureTables({"word=<unk>": 1, "shape=Xx": 2, "doc=no": 3}, {"JOHN": 4}, {"SMITH": 1})
    cfg = network.Config(n_x=tables.n_x, n_a=6, n_g=50, members=3)
    nets = networks(3, cfg)
    path = save(tmp_path / "ens", nets[0].params, cfg, tables, {"name": "ens"}, vectors=nets[0].vectors,
                members=tuple(nets[1:]), half=True)
    return path, cfg, tables, nets


def test_round_trip_keeps_every_network_and_stores_the_columns_in_half(ensemble):
    path, cfg, _, nets = ensemble
    art = load(path)
    assert art.config == cfg and art.config.members == 3 and len(art.networks) == 3
    for (params, vec), (want, want_vec) in zip(art.networks, nets):
        assert set(params) == set(network.param_shapes(cfg))
        for k, v in params.items():
            assert v.dtype == np.float32  # computed in float32 whatever the storage
            np.testing.assert_array_equal(v, halved(want)[k])
        np.testing.assert_array_equal(vec.G_q, want_vec.G_q)
        assert vec.words == want_vec.words and vec.index is art.vectors.index  # one index for all
    with zipfile.ZipFile(path / "weights.npz") as zf:
        names = {n.removesuffix(".npy") for n in zf.namelist()}
    assert {"W_ax", "m2_W_ax", "m3_W_ax", "m2_G_q", "m3_G_scale"} <= names
    with np.load(path / "weights.npz") as npz:
        assert {npz[k].dtype for k in npz.files if k.split("_", 1)[-1] in HALF or k in HALF} == {np.dtype(np.float16)}
        assert npz["W_aa"].dtype == np.float32 and npz["m2_W_aa"].dtype == np.float32
    assert json.loads((path / "meta.json").read_text())["config"]["members"] == 3


def test_a_one_network_artifact_says_nothing_of_members(tmp_path):
    tables = FeatureTables({"word=<unk>": 1, "shape=Xx": 2}, {}, {})
    cfg = network.Config(n_x=tables.n_x, n_a=4)
    path = save(tmp_path / "one", network.init_params(cfg, np.random.default_rng(0)), cfg, tables, {"name": "one"})
    assert "members" not in json.loads((path / "meta.json").read_text())["config"]
    art = load(path)
    assert art.config.members == 1 and art.members == () and len(art.networks) == 1


def test_the_tagger_averages_the_networks(ensemble, tmp_path):
    """ŷ of the ensemble = the mean of each network's ŷ, each tagging alone."""
    path, cfg, tables, nets = ensemble
    both = Tagger(load(path)).predict_proba(SENTENCES)
    alone = []
    for k, (params, vec) in enumerate(nets):
        one = save(tmp_path / f"one{k}", halved(params), network.Config(n_x=cfg.n_x, n_a=6, n_g=50), tables,
                   {"name": "one"}, vectors=vec)
        alone.append(Tagger(load(one)).predict_proba(SENTENCES))
    for i in range(len(SENTENCES)):
        mean = np.mean([a[i] for a in alone], axis=0)
        np.testing.assert_allclose(both[i], mean, atol=1e-6)
        assert np.abs(alone[0][i] - mean).max() > 1e-4  # the other networks do count


def _drop(prefix):
    def mutate(arrays):
        for k in [k for k in arrays if k.startswith(prefix)]:
            del arrays[k]
    return mutate


@pytest.mark.parametrize("mutate,message", [
    (_drop("m3_"), r"holds network\(s\) \[1, 2\], but config.members is 3"),
    (lambda a: a.update(m4_b_y=a["b_y"]), r"holds network\(s\) \[1, 2, 3, 4\]"),
    (lambda a: a.update(m1_b_y=a.pop("m2_b_y")), "named m2_"),
    (lambda a: a.update(m2_W_aa=a["m2_W_aa"][:-1]), r"m2_W_aa has shape \(5, 6\)"),
    (lambda a: a.pop("m3_b_a"), "expected"),
    (lambda a: a.pop("m2_G_q"), "m2_G_q is missing"),
    (lambda a: a.update(m3_G_q=a["m3_G_q"][:-1]), "m3_G_q has shape"),
    (lambda a: a["m2_G_q"].__setitem__((0, 0), 3), "row 0"),
    (lambda a: a.update(m2_W_aa=a["m2_W_aa"].astype(np.float16)), "m2_W_aa has dtype float16"),
    (lambda a: a.update(m2_W_ax=a["m2_W_ax"].astype(np.float64)), "m2_W_ax has dtype float64"),
])
def test_broken_ensembles_are_refused(ensemble, mutate, message):
    path = ensemble[0]
    rewrite_weights(path, mutate)
    with pytest.raises(ArtifactError, match=message):
        load(path)


def test_save_refuses_networks_that_do_not_match(ensemble, tmp_path):
    _, cfg, tables, nets = ensemble
    with pytest.raises(ValueError, match="config.members = 3 but 2"):
        save(tmp_path / "x", nets[0].params, cfg, tables, {}, vectors=nets[0].vectors, members=(nets[1],))
    other = choose(WORDS[:-1], np.ones((6, 50), np.float32), [], n_words=6)
    with pytest.raises(ValueError, match="network 3 has other vectors' words"):
        save(tmp_path / "x", nets[0].params, cfg, tables, {}, vectors=nets[0].vectors,
             members=(nets[1], Network(nets[2].params, other)))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("fields,message", [({"members": 0}, "at least 1"), ({"members": True}, "whole number"),
                                            ({"members": 2, "n_c": 4, "n_ch": 9}, "character cell")])
def test_config_refuses_impossible_members(fields, message):
    with pytest.raises(ValueError, match=message):
        network.Config(n_x=5, **fields)


# --- python -m model.ensemble, on networks train.py trained -----------------------------------

def run_ensemble(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "model.ensemble", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two seeds of one tiny model; one with other feature tables (only the words seen 30
    times or more), one with other hidden units."""
    d = tmp_path_factory.mktemp("ens")
    corpus = tiny_conll(d / "tiny.conll")
    out = {}
    for name, extra in (("s1", ()), ("s2", ("--seed", "2")), ("other", ("--min-word", "30")),
                        ("wide", ("--n-a", "6"))):
        r = train_tiny(d / name, corpus, "--lr", "0.02", *extra)
        assert r.returncode == 0, r.stderr
        out[name] = d / name
    return d, corpus, out


def test_join_writes_a_calibrated_ensemble_naming_its_networks(trained):
    d, corpus, nets = trained
    r = run_ensemble(nets["s1"], nets["s2"], "--dev", corpus, "--out", d / "joined")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "2 networks" in r.stderr
    art = load(d / "joined")
    assert art.config.members == 2 and art.name == "joined" and art.calibration is not None
    members = art.meta["training"]["members"]
    assert [m["seed"] for m in members] == [1, 2]
    assert [m["version"] for m in members] == [load(nets["s1"]).version, load(nets["s2"]).version]
    assert art.meta["metrics"]["dev"]["f1"] > 0.5 and art.meta["operating_table"]["rows"]
    tagged = Tagger(art).tag_documents([["Anna", "Smith", "met", "the", "man", "."]])[0]
    assert tagged.tags[:2] == [1, 2]  # the tiny model's names, found by the two together


@pytest.mark.parametrize("which,message", [(("s1",), "two artifacts or more"),
                                           (("s1", "other"), "feature tables differ"),
                                           (("s1", "wide"), "its network differs from"),
                                           (("s1", "missing"), "no such artifact directory")])
def test_join_refuses_what_cannot_tag_together(trained, which, message):
    d, corpus, nets = trained
    r = run_ensemble(*[nets.get(w, d / w) for w in which], "--dev", corpus, "--out", d / "refused")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (d / "refused").exists()


def test_an_ensemble_is_not_joined_again_nor_fine_tuned(trained):
    d, corpus, nets = trained
    assert run_ensemble(nets["s1"], nets["s2"], "--dev", corpus, "--out", d / "pair").returncode == 0
    r = run_ensemble(d / "pair", nets["s1"], "--dev", corpus, "--out", d / "refused")
    assert r.returncode == 2 and "already an ensemble of 2 networks" in r.stderr
    r = train_tiny(d / "tuned", corpus, "--from", str(d / "pair"), "--replay", "0")
    assert r.returncode == 2 and "fine-tuning starts from one network" in r.stderr and "Traceback" not in r.stderr
    assert not (d / "tuned").exists()
