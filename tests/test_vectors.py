"""Pretrained vectors: the GloVe package, the vocabulary, int8 storage, the
artifact's checks, and a word outside the vocabulary falling back to the other features."""
from __future__ import annotations

import json

import numpy as np
import pytest
from artifact_support import rewrite_weights

from model import network
from model.artifact import ArtifactError, load, save
from model.features import FeatureTables, featurize, pad
from model.tagger import Tagger
from model.vectors import NO_VECTOR, Vectors, choose, key, quantize, read_glove, widened


def test_glove_package_is_the_one_the_issue_names():
    words, G = read_glove()
    assert G.shape == (400_000, 50) and G.dtype == np.float32
    assert words[:4] == ["the", ",", ".", "of"]  # frequency order
    assert len(set(words)) == len(words)
    assert all(w == w.lower() for w in words[:1000])  # GloVe 6B is uncased


def test_quantize_error_is_at_most_half_a_step_per_entry():
    G = np.random.default_rng(0).normal(size=(200, 50)).astype(np.float32)
    G[3] = 0.0  # an all-zero row keeps a zero scale, no division by zero
    q, scale = quantize(G)
    assert q.dtype == np.int8 and scale.shape == (200, 1)
    assert np.all(np.abs(q.astype(np.float32) * scale - G) <= scale / 2 + 1e-7)
    assert not q[3].any() and scale[3, 0] == 0


def tiny_glove():
    words = ["the", "of", "smith", "john", "aisha", "paris", "zebra"]
    G = np.random.default_rng(1).normal(size=(len(words), 50)).astype(np.float32)
    return words, G


def test_vocabulary_is_top_words_plus_every_training_word():
    words, G = tiny_glove()
    vec = choose(words, G, [["John", "SMITH", "met", "Zebra"]], n_words=2)
    assert vec.words == ("the", "of", "smith", "john", "zebra")  # GloVe order; "met" is not in GloVe
    assert vec.G_q.shape == (6, 50) and not vec.G_q[0].any() and vec.G_scale[0, 0] == 0
    np.testing.assert_array_equal(vec.rows(["Zebra", "JOHN", "met", "Aisha"]), [5, 4, NO_VECTOR, NO_VECTOR])
    g = vec.dense(vec.rows(["smith", "unheard-of"]))
    np.testing.assert_allclose(g[0], G[2], atol=float(np.abs(G[2]).max()) / 254 + 1e-7)
    assert not g[1].any()  # outside the vocabulary: g<t> = 0
    assert key("Zo\u200bë") == "zoë"  # invisible characters do not hide a word


def test_widened_appends_the_missing_top_words_and_keeps_every_row():
    words, G = tiny_glove()
    vec = choose(words, G, [["Paris", "zebra"]], n_words=2)  # the, of + paris, zebra
    tuned = Vectors(vec.words, vec.G_q.copy(), vec.G_scale.copy())
    tuned.G_q[3] = 7  # a fine-tuned row keeps its bytes
    wide = widened(tuned, words, G, n_words=5)
    assert wide.words == ("the", "of", "paris", "zebra", "smith", "john", "aisha")  # appended in GloVe order
    np.testing.assert_array_equal(wide.G_q[:5], tuned.G_q)
    np.testing.assert_array_equal(wide.G_scale[:5], tuned.G_scale)
    q, scale = quantize(G[2:5])  # smith, john, aisha: as choose would store them
    np.testing.assert_array_equal(wide.G_q[5:], q)
    np.testing.assert_array_equal(wide.G_scale[5:], scale)
    np.testing.assert_array_equal(wide.rows(["John", "Zebra", "met"]), [6, 4, NO_VECTOR])
    assert widened(tuned, words, G, n_words=2) is tuned  # nothing missing: the same vectors


@pytest.fixture
def vector_artifact(tmp_path):
    words, G = tiny_glove()
    vec = choose(words, G, [], n_words=7)
    tables = FeatureTables({"word=<unk>": 1, "shape=Xx": 2, "doc=no": 3}, {"JOHN": 4}, {"SMITH": 1})
    cfg = network.Config(n_x=tables.n_x, n_a=6, head="softmax", bidirectional=True, n_g=50)
    params = network.init_params(cfg, np.random.default_rng(0))
    return save(tmp_path / "art", params, cfg, tables, {"name": "vec"}, vectors=vec), vec


def test_artifact_round_trip_with_vectors(vector_artifact):
    path, vec = vector_artifact
    art = load(path)
    assert art.vectors.words == vec.words
    np.testing.assert_array_equal(art.vectors.G_q, vec.G_q)
    assert set(art.params) == set(network.param_shapes(art.config))  # the vectors are not parameters
    meta = json.loads((path / "meta.json").read_text())
    assert meta["vectors"]["vectors_license"].startswith("PDDL-1.0")
    assert meta["vectors"]["wrapper_license"] == "Apache-2.0"


def reference_proba(art, sent: list[str], g: np.ndarray, params: dict | None = None) -> np.ndarray:
    """ŷ of one sentence by the training forward (network.forward, float64) on the
    vectors g (T_x, n_g) given here, not looked up: (T_x, n_y)."""
    ids, lengths, _, _ = pad(featurize(art.tables, [sent]))
    params = {k: v.astype(np.float64) for k, v in (params or art.params).items()}
    scores, _ = network.forward(params, ids, lengths, art.config, g=g[:, None, :].astype(np.float64))
    return network.probabilities(scores, art.config)[:, 0]


def test_a_word_outside_the_vocabulary_falls_back_to_its_other_features(vector_artifact):
    """Its g<t> is zero: the same probabilities as a model whose W_ag ignores that token."""
    path, vec = vector_artifact
    art = load(path)
    tagger = Tagger(art)
    sent = ["qwxyzzy", "smith"]
    g = tagger.vectors_of([sent], 2)
    assert not g[0, 0].any() and g[1, 0].any()
    p = tagger.predict_proba([sent])[0]
    row = vec.words.index("smith") + 1
    smith = vec.G_q[row].astype(np.float64) * vec.G_scale[row, 0]  # its stored vector, dequantized
    np.testing.assert_allclose(p, reference_proba(art, sent, np.stack([np.zeros(50), smith])), atol=2e-6)
    # W_ag does read the first position: a vector there would change the answer
    noise = np.random.default_rng(3).normal(size=50)
    assert np.abs(reference_proba(art, sent, np.stack([noise, smith])) - p).max() > 1e-3
    # alone, the unknown word is tagged as by the model with W_ag (both directions) zeroed
    ignoring = {**art.params, "W_ag": np.zeros_like(art.params["W_ag"]),
                "W_ag_bw": np.zeros_like(art.params["W_ag_bw"])}
    np.testing.assert_allclose(tagger.predict_proba([sent[:1]])[0],
                               reference_proba(art, sent[:1], noise[None], ignoring), atol=2e-6)


@pytest.mark.parametrize("mutate,message", [
    (lambda a: a.update(G_q=a["G_q"].astype(np.float32)), "G_q has dtype float32, expected int8"),
    (lambda a: a.update(G_q=a["G_q"][:-1]), "G_q has shape"),
    (lambda a: a.update(G_scale=a["G_scale"] * np.nan), "G_scale must be finite"),
    (lambda a: a.pop("G_scale"), "G_scale is missing"),
    (lambda a: a["G_q"].__setitem__((0, 0), 3), "row 0"),
])
def test_loader_verifies_the_vector_arrays(vector_artifact, mutate, message):
    path, _ = vector_artifact
    rewrite_weights(path, mutate)
    with pytest.raises(ArtifactError, match=message):
        load(path)


def test_loader_refuses_vectors_without_their_words(vector_artifact):
    path, _ = vector_artifact
    meta = json.loads((path / "meta.json").read_text())
    meta["vectors"]["words"] = meta["vectors"]["words"][:-1]
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="G_q has shape"):
        load(path)


def test_vectors_dataclass_index_matches_rows():
    v = Vectors(("a", "b"), np.zeros((3, 2), np.int8), np.zeros((3, 1), np.float32))
    assert v.index == {"a": 1, "b": 2} and v.n_g == 2
