"""The fast inference path gives the probabilities of network.forward + network.probabilities."""
from __future__ import annotations

import numpy as np
import pytest

from model import inference, network
from model.artifact import Artifact, load
from model.features import GROUPS, build_tables, featurize, pad
from model.tagger import Tagger
from harness import DEFAULT_ARTIFACT, SEED_TOKENS

TOL = 1e-5
HEADS = [("softmax", True), ("softmax", False), ("sigmoid", True), ("sigmoid", False)]


def reference(params, ids, lengths, cfg, g=None):
    scores, _ = network.forward(params, ids, lengths, cfg, g=g)
    return network.probabilities(scores, cfg)


def random_batch(rng, n_x, T_x, m):
    """ids (T_x, m, K) padded with 0 beyond varied lengths (one full, one of 1)."""
    lengths = rng.integers(1, T_x + 1, size=m)
    lengths[0], lengths[-1] = T_x, 1
    ids = rng.integers(1, n_x, size=(T_x, m, len(GROUPS))).astype(np.int32)
    ids[np.arange(T_x)[:, None] >= lengths[None, :]] = 0
    return ids, lengths


def max_diff_on_tokens(a, b, lengths):
    valid = np.arange(a.shape[0])[:, None] < np.asarray(lengths)[None, :]  # (T_x, m)
    return float(np.abs(a - b)[valid].max())


@pytest.mark.parametrize("head,bi", HEADS)
@pytest.mark.parametrize("T_x,m", [(1, 1), (9, 1), (7, 5), (13, 300)])
def test_inference_forward_matches_network(head, bi, T_x, m):
    rng = np.random.default_rng(T_x * 1000 + m)
    cfg = network.Config(n_x=97, n_a=16, head=head, bidirectional=bi)
    params = network.init_params(cfg, rng)
    params = {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in params.items()}  # non-zero biases
    ids, lengths = random_batch(rng, cfg.n_x, T_x, m)
    got = inference.probabilities(inference.prepare(params, cfg), ids, lengths)
    want = reference(params, ids, lengths, cfg)
    assert got.shape == want.shape and got.dtype == np.float32
    assert max_diff_on_tokens(got, want, lengths) < TOL


@pytest.mark.parametrize("bi", [True, False])
@pytest.mark.parametrize("T_x,m", [(1, 1), (7, 5), (13, 300)])
def test_inference_forward_with_vectors_matches_network(bi, T_x, m):
    """W_ag g<t> joins the looked-up columns; g is zero on padding, as Tagger pads it."""
    rng = np.random.default_rng(T_x * 7 + m)
    cfg = network.Config(n_x=97, n_a=16, head="softmax", bidirectional=bi, n_g=50)
    params = network.init_params(cfg, rng)
    params = {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in params.items()}
    ids, lengths = random_batch(rng, cfg.n_x, T_x, m)
    valid = (np.arange(T_x)[:, None] < lengths[None, :])[..., None]
    g = (rng.normal(size=(T_x, m, 50)) * valid).astype(np.float32)
    got = inference.probabilities(inference.prepare(params, cfg), ids, lengths, g)
    scores, _ = network.forward(params, ids, lengths, cfg, g=g)
    assert max_diff_on_tokens(got, network.probabilities(scores, cfg), lengths) < TOL


@pytest.mark.parametrize("N,chunk", [(1, 4), (4, 4), (11, 4), (300, 128)])
def test_lookup_sum_across_chunk_boundaries(N, chunk):
    rng = np.random.default_rng(N)
    table = rng.normal(size=(50, 6)).astype(np.float32)
    ids = rng.integers(0, 50, size=(N, 5))
    want = table[ids].sum(axis=1)
    np.testing.assert_allclose(inference.lookup_sum(table, ids, chunk), want, atol=1e-5)


@pytest.mark.parametrize("bi", [True, False])
def test_folded_feature_groups_give_the_same_probabilities(bi):
    """The groups of 2, 3 and 5 ids are summed ahead of time into one block of rows."""
    rng = np.random.default_rng(3)
    sizes = [40, 2, 5, 3, 49, 30, 31, 32, 33, 34, 35, 36, 37]
    assert len(sizes) == len(GROUPS)
    bounds = np.cumsum([1] + sizes)
    groups = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    cfg = network.Config(n_x=int(bounds[-1]), n_a=8, bidirectional=bi)
    params = {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32)
              for k, v in network.init_params(cfg, rng).items()}
    w = inference.prepare(params, cfg, groups, max_rows=80)
    assert [tuple(c) for c, _ in w.folds] == [(1, 3, 2)]  # 3 * 4 * 6 = 72 rows
    T_x, m = 6, 4
    ids = np.stack([rng.choice(g, size=(T_x, m)) for g in groups], axis=-1).astype(np.int32)
    lengths = np.array([6, 3, 1, 5])
    ids[np.arange(T_x)[:, None] >= lengths[None, :]] = 0
    got = inference.probabilities(w, ids, lengths)
    assert max_diff_on_tokens(got, reference(params, ids, lengths, cfg), lengths) < TOL


def test_fold_plan():
    assert inference.fold_plan([9891, 105, 56, 636, 2873, 56, 625, 2742, 4931, 11, 7, 5, 3], 4096) == \
        [(12, 11, 10, 9), (2, 5)]
    assert inference.fold_plan([100, 100], 50) == []
    assert inference.fold_plan([3], 4096) == []


SENTENCES = [
    SEED_TOKENS,
    "Yesterday , Ms. Angela Merkel met President Obama in Berlin .".split(),
    ["Smith"],
    "the quick brown fox jumps over the lazy dog again and again until John Doe said stop".split(),
    "Anna Novak called .".split(),
    "Greta Rossi".split(),
    "Peter".split(),
]


@pytest.mark.parametrize("head,bi", HEADS)
def test_tagger_network_proba_matches_network(head, bi):
    """Through Tagger.network_proba (what predict_proba runs after its reading rules): featurize, sort, several padded batches."""
    rng = np.random.default_rng(7)
    tables = build_tables(SENTENCES, list(range(len(SENTENCES))), {}, {}, min_word=1, min_feature=1)
    cfg = network.Config(n_x=tables.n_x, n_a=12, head=head, bidirectional=bi)
    params = network.init_params(cfg, rng)
    params = {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in params.items()}
    tagger = Tagger(Artifact(params, cfg, tables, {}), batch_size=3)
    got = tagger.network_proba(SENTENCES)
    for sent, p in zip(SENTENCES, got):
        ids, lengths, _, _ = pad(featurize(tables, [sent]))
        want = reference(params, ids, lengths, cfg)[:, 0]
        assert p.shape == (len(sent), cfg.n_y)
        assert float(np.abs(p - want).max()) < TOL


def test_shipped_model_same_probabilities_as_network():
    art = load(DEFAULT_ARTIFACT)
    tagger = Tagger(art)
    got = tagger.network_proba(SENTENCES)
    ids, lengths, _, _ = pad(featurize(tagger.tables, SENTENCES))
    g = tagger.vectors_of(SENTENCES, ids.shape[0])  # the shipped model has pretrained vectors
    assert (g is not None) == (tagger.config.n_g > 0)
    want = reference(tagger.params, ids, lengths, tagger.config, g)
    for j, p in enumerate(got):
        assert float(np.abs(p - want[: lengths[j], j]).max()) < TOL


def test_weights_are_laid_out_once_and_contiguous():
    tagger = Tagger(load(DEFAULT_ARTIFACT))
    w = tagger.weights
    n_a, d = tagger.config.n_a, 2 if tagger.config.bidirectional else 1
    assert w.table.shape[0] >= tagger.config.n_x and w.table.shape[1] == d * n_a
    assert w.table.flags.c_contiguous
    assert w.W_aaT.shape == (d, n_a, n_a) and w.W_aaT.flags.c_contiguous
    assert all(a.dtype == np.float32 for a in w[:5])


def chars_model(bi=True, n_g=0, seed=11):
    """A random model with the character cell over SENTENCES' tables and characters."""
    from model.features import with_chars

    rng = np.random.default_rng(seed)
    tables = with_chars(build_tables(SENTENCES, list(range(len(SENTENCES))), {}, {}, min_word=1, min_feature=1),
                        SENTENCES, 2)  # the rarer characters are <unk>
    cfg = network.Config(n_x=tables.n_x, n_a=12, bidirectional=bi, n_g=n_g, n_c=5, n_ch=tables.n_ch)
    params = {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in network.init_params(cfg, rng).items()}
    return params, cfg, tables


@pytest.mark.parametrize("bi", [True, False])
def test_char_states_match_network(bi):
    """inference.char_states (both character cells at once) is network.chars_forward per form."""
    from model.features import char_batch

    params, cfg, tables = chars_model(bi)
    batch = char_batch(tables, SENTENCES, max(map(len, SENTENCES)))
    h, _ = network.chars_forward(params, batch)  # (T_x, m, 2 n_c)
    states = inference.char_states(inference.prepare(params, cfg), batch.ids, batch.lengths)  # (U, 2 n_c)
    assert states.shape == (batch.ids.shape[1], 2 * cfg.n_c) and not states[0].any()
    np.testing.assert_allclose(states[batch.index], h, atol=TOL)


@pytest.mark.parametrize("bi", [True, False])
def test_tagger_with_chars_cached_and_uncached_match_network(bi):
    """With the character cell: Tagger.network_proba (several batches, each word form's
    state from the per-form cache once seen) gives network.forward's probabilities,
    the same with the cache as without, and the same again once the cache is warm."""
    from model.features import char_batch

    params, cfg, tables = chars_model(bi)
    cached = Tagger(Artifact(params, cfg, tables, {}), batch_size=3)
    uncached = Tagger(Artifact(params, cfg, tables, {}), batch_size=3, char_cache=0)
    first = cached.network_proba(SENTENCES)
    n_forms = len({w for s in SENTENCES for w in s})
    assert len(cached.char_cache) == n_forms and len(uncached.char_cache) == 0
    again = cached.network_proba(SENTENCES)  # every state from the cache now
    plain = uncached.network_proba(SENTENCES)
    for sent, p1, p2, p3 in zip(SENTENCES, first, again, plain):
        ids, lengths, _, _ = pad(featurize(tables, [sent]))
        scores, _ = network.forward(params, ids, lengths, cfg, chars=char_batch(tables, [sent], ids.shape[0]))
        want = network.probabilities(scores, cfg)[:, 0]
        for p in (p1, p2, p3):
            assert float(np.abs(p - want).max()) < TOL
        np.testing.assert_allclose(p1, p2, atol=1e-6)
        np.testing.assert_allclose(p1, p3, atol=1e-6)


def test_form_cache_is_bounded_least_recently_used():
    from model.tagger import FormCache

    cache = FormCache(2)
    cache.put_many(["a", "b"], np.eye(2, dtype=np.float32))
    assert cache.get_many(["a"])[0] is not None  # "a" is now the most recent
    cache.put_many(["c"], np.ones((1, 2), np.float32))
    assert [v is not None for v in cache.get_many(["a", "b", "c"])] == [True, False, True]
    off = FormCache(0)
    off.put_many(["a"], np.ones((1, 2), np.float32))
    assert len(off) == 0
