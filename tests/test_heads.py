"""The head policies of model/heads.py: one definition per head, validated in the config."""
import numpy as np
import pytest

from model import heads, network


def test_unknown_head_is_refused_by_the_config():
    with pytest.raises(ValueError, match="unknown head 'crf'"):
        network.Config(n_x=5, head="crf")


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
    # softmax with a threshold: in a name at or above it; a new name where B-PER > I-PER
    sm = np.array([[0.1, 0.6, 0.3], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3], [0.9, 0.05, 0.05], [0.5, 0.1, 0.4]])
    assert softmax.decode(sm, 0.5) == [1, 2, 1, 0, 1]
    assert softmax.decode(sm, 0.95) == [0, 0, 0, 0, 0]
    assert softmax.decode(sm, 0.5, p_name=np.array([0.9, 0.1, 0.9, 0.9, 0.1])) == [1, 0, 1, 2, 0]
