"""Adam with sparse columns, clipping by global norm, weight averaging."""
import numpy as np

from model import optim


def test_clip_scales_all_gradients_together():
    grads = {"W_aa": np.full((2, 2), 3.0), "W_ax": (np.array([1, 4]), np.full((2, 2), 4.0))}
    clipped, norm = optim.clip(grads, 1.0)
    assert norm == np.sqrt(4 * 9 + 4 * 16)
    assert np.isclose(optim.global_norm(clipped), 1.0)
    np.testing.assert_array_equal(clipped["W_ax"][0], [1, 4])
    same, _ = optim.clip(grads, 100.0)
    assert same is grads


def test_sparse_step_touches_only_its_columns_and_matches_dense_on_them():
    rng = np.random.default_rng(0)
    W = np.asfortranarray(rng.normal(size=(3, 6)))
    dense_p, sparse_p = {"W_ax": W.copy(order="F")}, {"W_ax": W.copy(order="F")}
    sd, ss = optim.adam_init(dense_p), optim.adam_init(sparse_p)
    cols, dcols = np.array([1, 4]), rng.normal(size=(3, 2))
    g = np.zeros_like(W)
    g[:, cols] = dcols
    optim.adam_step(dense_p, {"W_ax": g}, sd, lr=0.1)
    optim.adam_step(sparse_p, {"W_ax": (cols, dcols)}, ss, lr=0.1)
    np.testing.assert_allclose(sparse_p["W_ax"][:, cols], dense_p["W_ax"][:, cols])
    untouched = [0, 2, 3, 5]
    np.testing.assert_array_equal(sparse_p["W_ax"][:, untouched], W[:, untouched])
    assert ss["t"]["W_ax"].tolist() == [0, 1, 0, 0, 1, 0]


def test_ema_warms_up_then_averages():
    avg, p = {"w": np.zeros(2)}, {"w": np.ones(2)}
    optim.ema_update(avg, p, 0.999, step=0)  # warm-up decay (1+0)/(10+0) = 0.1
    np.testing.assert_allclose(avg["w"], 0.9)
    optim.ema_update(avg, p, 0.5, step=10**6)
    np.testing.assert_allclose(avg["w"], 0.95)
