"""Centred-difference gradient checks, float64, for every backward (rel. error < 1e-6)."""
import numpy as np
import pytest

from model import layers as L
from model import network

TOL = 1e-6
EPS = 1e-6


def rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def numeric_grad(f, x):
    """d f() / d x by centred differences, perturbing x in place."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + EPS
        fp = f()
        x[i] = old - EPS
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * EPS)
    return g


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_rnn_step_backward(rng):
    m, n_a = 3, 4
    zx, a_prev, W_aa = rng.normal(size=(m, n_a)), rng.normal(size=(m, n_a)), rng.normal(size=(n_a, n_a))
    dout = rng.normal(size=(m, n_a))
    _, cache = L.rnn_step_forward(zx, a_prev, W_aa)
    dz, da_prev, dW_aa = L.rnn_step_backward(dout, cache)

    def f():
        return np.sum(L.rnn_step_forward(zx, a_prev, W_aa)[0] * dout)

    assert rel_error(dz, numeric_grad(f, zx)) < TOL
    assert rel_error(da_prev, numeric_grad(f, a_prev)) < TOL
    assert rel_error(dW_aa, numeric_grad(f, W_aa)) < TOL


def test_rnn_sequence_backward(rng):
    T_x, m, n_a = 5, 3, 4
    zx, W_aa = rng.normal(size=(T_x, m, n_a)), rng.normal(size=(n_a, n_a)) * 0.5
    dout = rng.normal(size=(T_x, m, n_a))
    _, cache = L.rnn_forward(zx, W_aa)
    dzx, grads = L.rnn_backward(dout, cache)

    def f():
        return np.sum(L.rnn_forward(zx, W_aa)[0] * dout)

    assert rel_error(dzx, numeric_grad(f, zx)) < TOL
    assert rel_error(grads["W_aa"], numeric_grad(f, W_aa)) < TOL


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rnn_forward_repeats_the_step(rng, dtype):
    """The in-place step loop (layers.rnn_recurrence, shared with serving) is rnn_step_forward repeated."""
    T_x, m, n_a = 6, 3, 4
    zx, W_aa = rng.normal(size=(T_x, m, n_a)).astype(dtype), rng.normal(size=(n_a, n_a)).astype(dtype)
    a, _ = L.rnn_forward(zx, W_aa)
    a_t = np.zeros((m, n_a), dtype=dtype)
    for t in range(T_x):
        a_t, _ = L.rnn_step_forward(zx[t], a_t, W_aa)
        np.testing.assert_allclose(a[t], a_t, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_dropout_backward(rng):
    x, dout = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    out, cache = L.dropout_forward(x, 0.4, np.random.default_rng(1))
    assert 0 < np.mean(out == 0) < 1 and np.allclose(out[out != 0], x[out != 0] / 0.6)
    dx = L.dropout_backward(dout, cache)

    def f():
        return np.sum(L.dropout_forward(x, 0.4, np.random.default_rng(1))[0] * dout)

    assert rel_error(dx, numeric_grad(f, x)) < TOL
    same, cache0 = L.dropout_forward(x, 0.0)
    assert same is x and L.dropout_backward(dout, cache0) is dout


def test_input_backward_dense_and_columns_agree(rng):
    T_x, m, K, n_a, n_x = 4, 2, 3, 5, 9
    ids = rng.integers(0, n_x, size=(T_x, m, K))
    W_ax = np.asfortranarray(rng.normal(size=(n_a, n_x)))
    b_a = rng.normal(size=(n_a, 1))
    dout = rng.normal(size=(T_x, m, n_a))
    _, cache = L.input_forward(ids, W_ax, b_a)
    grads = L.input_backward(dout, cache)

    def f():
        return np.sum(L.input_forward(ids, W_ax, b_a)[0] * dout)

    assert rel_error(grads["W_ax"], numeric_grad(f, W_ax)) < TOL
    assert rel_error(grads["b_a"], numeric_grad(f, b_a)) < TOL
    cols, dcols = L.input_backward_cols(dout, cache)
    dense = np.zeros_like(W_ax)
    dense[:, cols] = dcols
    np.testing.assert_allclose(dense, grads["W_ax"], rtol=1e-12, atol=1e-12)


def test_affine_backward(rng):
    a, W_ya, b_y = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 1))
    dout = rng.normal(size=(3, 2, 3))
    _, cache = L.affine_forward(a, W_ya, b_y)
    da, grads = L.affine_backward(dout, cache)

    def f():
        return np.sum(L.affine_forward(a, W_ya, b_y)[0] * dout)

    assert rel_error(da, numeric_grad(f, a)) < TOL
    assert rel_error(grads["W_ya"], numeric_grad(f, W_ya)) < TOL
    assert rel_error(grads["b_y"], numeric_grad(f, b_y)) < TOL


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_loss_backward(rng, head):
    T_x, m = 4, 3
    n_y = 3 if head == "softmax" else 1
    scores = rng.normal(size=(T_x, m, n_y))
    y = rng.integers(0, 3, size=(T_x, m))
    mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=np.float64)
    loss = L.softmax_loss if head == "softmax" else L.sigmoid_loss
    yy = y if head == "softmax" else (y > 0).astype(np.float64)
    _, dscores = loss(scores, yy, mask)
    assert rel_error(dscores, numeric_grad(lambda: loss(scores, yy, mask)[0], scores)) < TOL
    assert np.all(dscores[mask == 0] == 0.0)


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_soft_target_loss_backward(rng, head):
    """Distillation's loss: cross-entropy against a target distribution per token; with
    the gold tags as the target it is the usual loss, value and gradient."""
    from model import heads
    h = heads.get(head)
    T_x, m = 4, 3
    scores = rng.normal(size=(T_x, m, h.n_y))
    y = rng.integers(0, 3, size=(T_x, m))
    mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=np.float64)
    q = h.probabilities(rng.normal(size=(T_x, m, h.n_y)))
    _, dscores = h.soft_loss(scores, q, mask)
    assert rel_error(dscores, numeric_grad(lambda: h.soft_loss(scores, q, mask)[0], scores)) < TOL
    assert np.all(dscores[mask == 0] == 0.0)
    gold = np.eye(3)[y] if head == "softmax" else (y > 0).astype(np.float64)[..., None]
    J_soft, d_soft = h.soft_loss(scores, gold, mask)
    J, d = h.loss(scores, y, mask)
    assert J_soft == pytest.approx(J) and np.allclose(d_soft, d)


def valid_paths(T, n_types):
    """Every valid IOB2 tag path of length T over n_types types, by brute force."""
    import itertools
    from model.decode import transitions
    allowed = transitions(n_types)
    return [p for p in itertools.product(range(1 + 2 * n_types), repeat=T)
            if allowed[0, p[0]] and all(allowed[a, b] for a, b in zip(p, p[1:]))]


@pytest.mark.parametrize("n_types", [1, 2])
def test_path_loss_is_the_gold_paths_share_of_the_lattice(rng, n_types):
    """--loss path: J = -log P(gold path) among the valid paths, each weighing the product
    of its tokens' softmax, checked by enumerating them; its gradient by differences."""
    from model import heads
    h = heads.get("softmax", n_types)
    lengths = [4, 2, 3]
    T_x, m = max(lengths), len(lengths)
    mask = (np.arange(T_x)[:, None] < np.array(lengths)[None, :]).astype(np.float64)
    scores = rng.normal(size=(T_x, m, h.n_y)) * 2
    y = np.zeros((T_x, m), dtype=np.int64)
    expected = 0.0
    for j, T in enumerate(lengths):
        paths = valid_paths(T, n_types)
        y[:T, j] = paths[rng.integers(len(paths))]
        p = L.softmax(scores[:T, j])
        weight = {q: np.prod([p[t, q[t]] for t in range(T)]) for q in paths}
        expected -= np.log(weight[tuple(y[:T, j])] / sum(weight.values()))
    J, dscores = h.path_loss(scores, y, mask)
    assert J == pytest.approx(expected / m, rel=1e-10)
    assert rel_error(dscores, numeric_grad(lambda: h.path_loss(scores, y, mask)[0], scores)) < TOL
    assert np.all(dscores[mask == 0] == 0.0)
    with pytest.raises(ValueError, match="no tag lattice"):
        heads.get("sigmoid").path_loss(scores[..., :1], y, mask)


def small_batch(rng, n_x=11, K=3):
    lengths = np.array([5, 3, 1])
    T_x = int(lengths.max())
    ids = rng.integers(1, n_x, size=(T_x, len(lengths), K)).astype(np.int32)
    mask = (np.arange(T_x)[:, None] < lengths[None, :]).astype(np.float64)
    ids[mask == 0] = 0
    y = rng.integers(0, 3, size=(T_x, len(lengths))) * mask.astype(int)
    return ids, lengths, mask, y


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_network_backward(rng, head, bidirectional):
    """The whole network, with masks: every parameter's gradient."""
    ids, lengths, mask, y = small_batch(rng)
    cfg = network.Config(n_x=11, n_a=4, head=head, bidirectional=bidirectional)
    params = network.init_params(cfg, rng, dtype=np.float64)
    for k in params:  # non-trivial values everywhere, including biases
        params[k] += rng.normal(scale=0.3, size=params[k].shape)

    def J():
        return network.loss(network.forward(params, ids, lengths, cfg)[0], y, mask, cfg)[0]

    scores, cache = network.forward(params, ids, lengths, cfg)
    _, dscores = network.loss(scores, y, mask, cfg)
    grads = network.backward(dscores, cache, cfg)
    assert set(grads) == set(params)
    for k in params:
        assert rel_error(grads[k], numeric_grad(J, params[k])) < TOL, k


def test_network_backward_with_dropout(rng):
    """Dropout masks are fixed by the seed, so the network stays differentiable."""
    ids, lengths, mask, y = small_batch(rng)
    cfg = network.Config(n_x=11, n_a=4, head="softmax", bidirectional=True)
    params = network.init_params(cfg, rng, dtype=np.float64)

    def J():
        scores = network.forward(params, ids, lengths, cfg, 0.3, np.random.default_rng(7))[0]
        return network.loss(scores, y, mask, cfg)[0]

    scores, cache = network.forward(params, ids, lengths, cfg, 0.3, np.random.default_rng(7))
    grads = network.backward(network.loss(scores, y, mask, cfg)[1], cache, cfg)
    for k in ("W_aa", "W_ya", "W_ax_bw"):
        assert rel_error(grads[k], numeric_grad(J, params[k])) < TOL, k


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_changes_neither_loss_nor_gradients(rng, bidirectional):
    """One sentence alone and the same sentence padded inside a longer batch give
    the same loss and the same gradients."""
    cfg = network.Config(n_x=11, n_a=4, head="softmax", bidirectional=bidirectional)
    params = network.init_params(cfg, rng, dtype=np.float64)
    ids, lengths, mask, y = small_batch(rng)

    def run(cols):
        sub_len = lengths[cols]
        T = int(sub_len.max())
        scores, cache = network.forward(params, ids[:T, cols], sub_len, cfg)
        J, ds = network.loss(scores, y[:T, cols], mask[:T, cols], cfg)
        return J, network.backward(ds, cache, cfg)

    J_alone, g_alone = run([1])  # length 3, no padding
    # the same sentence, padded to length 5, next to a copy of sentence 0 whose loss we remove
    J_pair, g_pair = run([1, 0])
    J_other, g_other = run([0])
    assert np.isclose(J_alone, 2 * J_pair - J_other)  # J is a mean over m sentences
    for k in params:
        np.testing.assert_allclose(g_alone[k], 2 * g_pair[k] - g_other[k], atol=1e-12)
    # and padded steps' ids are irrelevant: scramble them
    ids2 = ids.copy()
    ids2[mask == 0] = rng.integers(1, 11, size=ids2[mask == 0].shape)
    s1, c1 = network.forward(params, ids, lengths, cfg)
    s2, c2 = network.forward(params, ids2, lengths, cfg)
    np.testing.assert_allclose(s1[mask == 1], s2[mask == 1])
    g1 = network.backward(network.loss(s1, y, mask, cfg)[1], c1, cfg)
    g2 = network.backward(network.loss(s2, y, mask, cfg)[1], c2, cfg)
    for k in params:
        np.testing.assert_allclose(g1[k], g2[k], atol=1e-12)


def test_vector_backward(rng):
    """W_ag g<t>: the dense part of W_ax x<t>; dg only when asked (fine-tuning)."""
    T_x, m, n_g, n_a = 4, 3, 5, 6
    g, W_ag = rng.normal(size=(T_x, m, n_g)), rng.normal(size=(n_a, n_g))
    dout = rng.normal(size=(T_x, m, n_a))
    _, cache = L.vector_forward(g, W_ag)

    def f():
        return np.sum(L.vector_forward(g, W_ag)[0] * dout)

    assert set(L.vector_backward(dout, cache)) == {"W_ag"}
    grads = L.vector_backward(dout, cache, dg=True)
    assert rel_error(grads["W_ag"], numeric_grad(f, W_ag)) < TOL
    assert rel_error(grads["g"], numeric_grad(f, g)) < TOL


def test_table_backward(rng):
    """g<t> = G[:, r<t>]: dG scatter-adds dg<t> into the looked-up columns (a row used
    twice gets both gradients; unused columns none), dense and sparse forms agree."""
    T_x, m, n_g, n_rows = 4, 3, 5, 9
    rows = rng.integers(0, n_rows - 2, size=(T_x, m))  # the last two columns unused
    rows[0, 0] = rows[1, 2] = 3  # and one used twice at least
    G = np.asfortranarray(rng.normal(size=(n_g, n_rows)))
    dout = rng.normal(size=(T_x, m, n_g))
    g, cache = L.table_forward(rows, G)
    np.testing.assert_array_equal(g[1, 2], G[:, 3])
    dG = L.table_backward(dout, cache)["G"]

    def f():
        return np.sum(L.table_forward(rows, G)[0] * dout)

    assert rel_error(dG, numeric_grad(f, G)) < TOL
    assert not dG[:, -2:].any()
    cols, dcols = L.table_backward(dout, cache, sparse=True)["G"]
    np.testing.assert_array_equal(cols, np.unique(rows))
    np.testing.assert_allclose(dcols, dG[:, cols], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_network_backward_with_vectors(rng, bidirectional):
    """The whole network with g<t> in x<t>: every gradient, W_ag (and W_ag_bw) included,
    and dg (both directions summed, in token order); padded steps carry zero vectors,
    as the tagger pads them."""
    ids, lengths, mask, y = small_batch(rng)
    cfg = network.Config(n_x=11, n_a=4, head="softmax", bidirectional=bidirectional, n_g=3)
    params = network.init_params(cfg, rng, dtype=np.float64)
    for k in params:
        params[k] += rng.normal(scale=0.3, size=params[k].shape)
    g = rng.normal(size=ids.shape[:2] + (3,)) * mask[..., None]

    def J():
        return network.loss(network.forward(params, ids, lengths, cfg, g=g)[0], y, mask, cfg)[0]

    scores, cache = network.forward(params, ids, lengths, cfg, g=g)
    dscores = network.loss(scores, y, mask, cfg)[1]
    grads = network.backward(dscores, cache, cfg)
    assert set(grads) == set(params) and "W_ag" in params
    for k in params:
        assert rel_error(grads[k], numeric_grad(J, params[k])) < TOL, k
    with_dg = network.backward(dscores, cache, cfg, dg=True)
    assert set(with_dg) == set(params) | {"g"}
    assert rel_error(with_dg["g"], numeric_grad(J, g)) < TOL


@pytest.mark.parametrize("bidirectional", [False, True])
def test_fine_tuned_vectors_backward(rng, bidirectional):
    """Fine-tuning: the loss through the table lookup g<t> = G[:, r<t>] and the whole
    network, its gradient wrt the table G as training computes it (network.backward's
    dg, then layers.table_backward), against centred differences."""
    ids, lengths, mask, y = small_batch(rng)
    n_g, n_rows = 3, 7
    cfg = network.Config(n_x=11, n_a=4, head="softmax", bidirectional=bidirectional, n_g=n_g)
    params = network.init_params(cfg, rng, dtype=np.float64)
    G = np.asfortranarray(rng.normal(size=(n_g, n_rows)))
    rows = rng.integers(1, n_rows, size=ids.shape[:2]) * mask.astype(int)  # padding: row 0

    def J():
        g = L.table_forward(rows, G)[0]
        return network.loss(network.forward(params, ids, lengths, cfg, g=g)[0], y, mask, cfg)[0]

    g, look = L.table_forward(rows, G)
    scores, cache = network.forward(params, ids, lengths, cfg, g=g)
    dg = network.backward(network.loss(scores, y, mask, cfg)[1], cache, cfg, dg=True)["g"]
    dG = L.table_backward(dg, look)["G"]
    assert rel_error(dG, numeric_grad(J, G)) < TOL


def char_words(rng, n_ch=7):
    """Character ids (L, U) of five words, one of no characters (padding's form), padded with 0."""
    lengths = np.array([0, 4, 1, 6, 3])
    L_w = int(lengths.max())
    ids = rng.integers(1, n_ch, size=(L_w, len(lengths))).astype(np.int32)
    ids[np.arange(L_w)[:, None] >= lengths[None, :]] = 0
    return ids, lengths


def test_char_backward(rng):
    """The character cell alone: each word's final state, its BPTT by hand against
    centred differences; a word of no characters has the zero state, and what the
    padding after a word holds changes nothing."""
    n_ch, n_c = 7, 3
    ids, lengths = char_words(rng, n_ch)
    W_cx = np.asfortranarray(rng.normal(size=(n_c, n_ch)))
    W_cc, b_c = rng.normal(size=(n_c, n_c)) * 0.5, rng.normal(size=(n_c, 1))
    dout = rng.normal(size=(len(lengths), n_c))
    c, cache = L.char_forward(ids, lengths, W_cx, W_cc, b_c)
    assert c.shape == (5, n_c) and not c[0].any()
    grads = L.char_backward(dout, cache)

    def f():
        return np.sum(L.char_forward(ids, lengths, W_cx, W_cc, b_c)[0] * dout)

    for name, p in (("W_cx", W_cx), ("W_cc", W_cc), ("b_c", b_c)):
        assert rel_error(grads[name], numeric_grad(f, p)) < TOL, name
    one = L.char_forward(ids[:4, 1:2], lengths[1:2], W_cx, W_cc, b_c)[0]  # word 1 alone, unpadded
    np.testing.assert_allclose(one[0], c[1], atol=1e-12)
    scrambled = ids.copy()
    pad_steps = np.arange(ids.shape[0])[:, None] >= lengths[None, :]
    scrambled[pad_steps] = rng.integers(1, n_ch, size=int(pad_steps.sum()))
    np.testing.assert_array_equal(L.char_forward(scrambled, lengths, W_cx, W_cc, b_c)[0], c)


def char_batch_for(rng, ids, n_ch=7):
    """A features.CharBatch for small_batch's tokens: 6 word forms, tokens share them."""
    from model.features import CharBatch

    cids, clens = char_words(rng, n_ch)
    cids = np.concatenate([cids, cids[:, 1:2]], axis=1)  # a sixth form, spelled like the second
    clens = np.r_[clens, clens[1]]
    index = rng.integers(1, len(clens), size=ids.shape[:2])
    index[ids[..., 0] == 0] = 0  # padding: form 0
    return CharBatch(cids, clens, index)


@pytest.mark.parametrize("bidirectional,n_g", [(False, 0), (True, 0), (True, 3)])
def test_network_backward_with_chars(rng, bidirectional, n_g):
    """The whole network with the character cell's h<t> in x<t>: every gradient, both
    character cells and W_ah (and W_ah_bw) included, with and without vectors."""
    ids, lengths, mask, y = small_batch(rng)
    cfg = network.Config(n_x=11, n_a=4, head="softmax", bidirectional=bidirectional, n_g=n_g, n_c=3, n_ch=7)
    params = network.init_params(cfg, rng, dtype=np.float64)
    for k in params:
        params[k] += rng.normal(scale=0.3, size=params[k].shape)
    chars = char_batch_for(rng, ids)
    g = rng.normal(size=ids.shape[:2] + (n_g,)) * mask[..., None] if n_g else None

    def J():
        return network.loss(network.forward(params, ids, lengths, cfg, g=g, chars=chars)[0], y, mask, cfg)[0]

    scores, cache = network.forward(params, ids, lengths, cfg, g=g, chars=chars)
    grads = network.backward(network.loss(scores, y, mask, cfg)[1], cache, cfg)
    assert set(grads) == set(params) and {"W_cx_bw", "W_cc", "W_ah"} <= set(params)
    roundoff = 10 * abs(J()) * np.finfo(float).eps / EPS  # centred differences' own error, J ~ 4.5 here
    for k in params:
        num = numeric_grad(J, params[k])
        assert rel_error(grads[k], num) < TOL or np.abs(grads[k] - num).max() < roundoff, k


def test_chars_off_draws_the_same_initial_weights(rng):
    """The character cell's parameters are drawn after every other: without it, the
    same seed gives the same weights as a model that never had the option."""
    plain = network.init_params(network.Config(n_x=11, n_a=4, n_g=3), np.random.default_rng(5))
    chars = network.init_params(network.Config(n_x=11, n_a=4, n_g=3, n_c=2, n_ch=6), np.random.default_rng(5))
    assert list(chars)[: len(plain)] == list(plain)
    for k, p in plain.items():
        np.testing.assert_array_equal(chars[k], p)
