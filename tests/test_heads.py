"""The head policies of model/heads.py: one definition per head, validated in the config."""
import numpy as np
import pytest

from model import heads, network


def test_unknown_head_is_refused_by_the_config():
    with pytest.raises(ValueError) as e:
        network.Config(n_x=5, head="crf")
    assert str(e.value) == "unknown head 'crf' (known: softmax, sigmoid)"


@pytest.mark.parametrize("bias, message", [
    ("0.5", "entity_bias must be a number, not '0.5'"), ([1], "entity_bias must be a number, not [1]"),
    (True, "entity_bias must be a number, not True"), (float("nan"), "entity_bias must be from -10 to 10, not nan"),
    (11, "entity_bias must be from -10 to 10, not 11")])
def test_a_bad_entity_bias_is_refused_by_the_config(bias, message):
    with pytest.raises(ValueError) as e:
        network.Config(n_x=5, entity_bias=bias)
    assert str(e.value) == message
    with pytest.raises(ValueError, match="the sigmoid head decodes by a threshold: it takes no entity bias"):
        network.Config(n_x=5, head="sigmoid", entity_bias=0.5)


def test_an_entity_bias_moves_viterbi_only_and_is_stored_only_when_set():
    sm = np.array([[0.5, 0.3, 0.2], [0.6, 0.1, 0.3], [0.9, 0.05, 0.05]])  # a weak name, not taken at 0
    plain, biased = network.Config(n_x=5), network.Config(n_x=5, entity_bias=1.0)
    assert plain.head_policy is heads.get("softmax") and "entity_bias" not in plain.to_json()
    assert biased.to_json()["entity_bias"] == 1.0 and network.Config(**biased.to_json()) == biased
    assert plain.head_policy.decode(sm) == [0, 0, 0] and biased.head_policy.decode(sm) == [1, 2, 0]
    for t in (0.2, 0.5):  # a caller's threshold reads the scores, which the bias does not touch
        assert biased.head_policy.decode(sm, t) == plain.head_policy.decode(sm, t)
    np.testing.assert_array_equal(biased.head_policy.posteriors(sm, [0, 3]), plain.head_policy.posteriors(sm, [0, 3]))


@pytest.mark.parametrize("name", list(heads.HEADS))
def test_shapes_agree_with_n_y(name):
    head = heads.get(name)
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4, 2, head.n_y))
    y = rng.integers(0, 3, size=(4, 2))
    probs = head.probabilities(scores)
    J, dscores = head.loss(scores, y, np.ones((4, 2)))
    assert probs.shape == dscores.shape == scores.shape and np.isfinite(J)
    assert network.Config(n_x=5, head=name).n_y == head.n_y
    assert len(head.decode(probs[:, 0])) == len(head.name_scores(probs[:, 0])) == 4


def test_threshold_policy():
    probs = np.array([[0.9], [0.5], [0.4999], [0.7]])
    sigmoid, softmax = heads.get("sigmoid"), heads.get("softmax")
    assert sigmoid.takes_threshold and softmax.takes_threshold  # softmax too since #11
    assert sigmoid.decode(probs) == sigmoid.decode(probs, heads.DEFAULT_THRESHOLD) == [1, 2, 0, 1]
    assert sigmoid.decode(probs, 0.8) == [1, 0, 0, 0]
    # softmax with a threshold: in a name when the lattice's marginal of B-PER + I-PER is at
    # least it; a new name where its marginal B-PER > I-PER. The last token's 0.4 of I-PER
    # follows an O, so the lattice gives it little: 0.21, no name (the raw 0.5 would be one)
    sm = np.array([[0.1, 0.6, 0.3], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3], [0.9, 0.05, 0.05], [0.5, 0.1, 0.4]])
    assert softmax.decode(sm, 0.5) == [1, 2, 1, 0, 0]
    assert softmax.decode(sm, 0.95) == [1, 0, 0, 0, 0]  # the first token's marginal: 0.956
    assert softmax.decode(sm, 0.5, p_name=np.array([0.9, 0.1, 0.9, 0.9, 0.1])) == [1, 0, 1, 1, 0]


@pytest.mark.parametrize("name", list(heads.HEADS))
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_a_batch_decodes_as_its_sentences_one_by_one(name, threshold):
    """decode_many over sentences laid end to end gives each sentence's own decode,
    with the head's own name scores or a caller's (p_name)."""
    head = heads.get(name)
    rng = np.random.default_rng(4)
    lengths = [3, 1, 4, 2]
    probs = head.probabilities(rng.normal(0, 2, size=(sum(lengths), 1, head.n_y)))[:, 0]
    bounds = np.cumsum([0] + lengths).tolist()
    for p_name in (None, rng.random(sum(lengths))):
        alone = [head.decode(probs[s:e], threshold, None if p_name is None else p_name[s:e])
                 for s, e in zip(bounds[:-1], bounds[1:])]
        assert head.decode_many(probs, bounds, threshold, p_name) == alone
        assert len(alone) == 4 and [len(t) for t in alone] == lengths
    if threshold is not None:  # a caller's name scores are the ones compared with the threshold
        assert head.decode(probs[:3], threshold, np.array([0.9, 0.1, 0.9])) == [1, 0, 1]


def test_sigmoid_loss_is_binary_cross_entropy_on_names_in_the_scores_dtype():
    """The sigmoid head's target is 1 for B-PER and I-PER, 0 for O; J and dscores keep
    the scores' dtype."""
    head = heads.get("sigmoid")
    scores = np.array([[[0.5]], [[-1.0]], [[2.0]]], dtype=np.float32)  # (T_x=3, m=1, 1)
    y = np.array([[0], [1], [2]])  # O, B-PER, I-PER
    J, dscores = head.loss(scores, y, np.ones((3, 1), dtype=np.float32))
    p = 1 / (1 + np.exp(-scores[:, 0, 0].astype(np.float64)))
    target = np.array([0.0, 1.0, 1.0])
    assert J == pytest.approx(-(target * np.log(p) + (1 - target) * np.log(1 - p)).sum(), rel=1e-6)
    np.testing.assert_allclose(dscores[:, 0, 0], p - target, rtol=1e-6)
    assert dscores.dtype == np.float32


@pytest.mark.parametrize("n_types", [2, 3])
def test_the_softmax_head_over_several_types(n_types):
    """O, then B and I of each type. (Built directly as well as through get, whose answers
    are cached: a test must see the constructor run.)"""
    from model.decode import transitions
    assert heads.get("softmax").n_y == 3 and heads.Softmax().n_y == 3 and heads.Softmax().n_types == 1
    for head in (heads.Softmax(n_types), heads.get("softmax", n_types)):
        assert (head.n_types, head.n_y) == (n_types, 1 + 2 * n_types)
        assert np.array_equal(head.allowed, transitions(n_types))
    probs = np.random.default_rng(n_types).dirichlet(np.ones(1 + 2 * n_types), size=4)
    np.testing.assert_allclose(heads.Softmax(n_types).name_scores(probs), 1 - probs[:, 0])  # every type's B and I
    one = probs[:, :3] / probs[:, :3].sum(1, keepdims=True)
    np.testing.assert_allclose(heads.Softmax().name_scores(one), one[:, 1] + one[:, 2])


@pytest.mark.parametrize("n_types", [2, 3])
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_a_typed_batch_decodes_as_typed_viterbi_or_threshold_per_sentence(n_types, threshold):
    """decode_many over sentences of a head of several types: constrained Viterbi over
    every type, or the typed threshold on the name scores of the lattice's marginals (or
    a caller's), sentence by sentence, each sentence its own lattice."""
    from model.decode import best_path_typed, lattice_marginals, threshold_tags_typed, transitions
    head, n_y = heads.Softmax(n_types), 1 + 2 * n_types
    rng = np.random.default_rng(6)
    lengths = [3, 1, 5, 2]
    probs = rng.dirichlet(np.full(n_y, 0.5), size=sum(lengths))
    probs[0, 0] = 1e-40  # floored at 1e-30 before the log
    bounds = np.cumsum([0] + lengths).tolist()
    post = head.posteriors(probs, bounds)
    for s, e in zip(bounds[:-1], bounds[1:]):
        np.testing.assert_allclose(post[s:e], lattice_marginals(probs[s:e], [0, e - s], transitions(n_types)))
    for p_name in (None, rng.random(sum(lengths))):
        got = head.decode_many(probs, bounds, threshold, p_name)
        p = 1 - post[:, 0] if p_name is None else p_name
        want = [best_path_typed(np.log(np.maximum(probs[s:e], 1e-30)), transitions(n_types)) if threshold is None
                else threshold_tags_typed(p[s:e], threshold, post[s:e]) for s, e in zip(bounds[:-1], bounds[1:])]
        assert got == want and [len(t) for t in got] == lengths


@pytest.mark.parametrize("name", list(heads.HEADS))
@pytest.mark.parametrize("threshold", [None, 0.2, 0.5, 0.8])
def test_a_label_never_contradicts_its_score(name, threshold):
    """One answer per token: with a threshold, in an entity exactly when the name score is
    at least it; under the default decoding, ``agreeing`` moves the scores the best path
    contradicts to the 0.5 line and leaves every other score as it was."""
    from model.decode import BELOW_HALF, agreeing
    head = heads.get(name)
    rng = np.random.default_rng(8)
    lengths = [6, 1, 9, 4, 12]
    bounds = np.cumsum([0] + lengths).tolist()
    probs = head.probabilities(rng.normal(0, 2, size=(sum(lengths), 1, head.n_y)))[:, 0]
    for p_name in (head.name_scores(head.posteriors(probs, bounds)), rng.random(sum(lengths))):
        tags = head.decode_many(probs, bounds, threshold, p_name)
        inside = np.concatenate(tags) > 0
        if threshold is not None:
            assert np.array_equal(inside, p_name >= threshold)
            continue
        s = agreeing(p_name, tags)
        assert np.array_equal(inside, s >= 0.5)
        moved = s != p_name
        assert np.all(s[moved & inside] == 0.5) and np.all(s[moved & ~inside] == BELOW_HALF)
        assert not np.any(moved & inside & (p_name >= 0.5)) and not np.any(moved & ~inside & (p_name <= BELOW_HALF))


@pytest.mark.parametrize("name,n_types", [("softmax", 1), ("softmax", 4), ("sigmoid", 1)])
def test_outside_is_a_y_hat_that_decodes_as_no_entity_and_scores_zero(name, n_types):
    head = heads.get(name, n_types)
    o = head.outside()
    assert o.shape == (head.n_y,)
    probs = np.stack([o, o, o])
    assert head.decode(probs) == [0, 0, 0]
    assert np.allclose(head.name_scores(head.posteriors(probs, [0, 3])), 0.0)
