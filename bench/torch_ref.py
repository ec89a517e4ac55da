"""The shipped weights in PyTorch: ``nn.EmbeddingBag`` + ``nn.RNN`` + ``nn.Linear``.

Optional: torch is a bench extra (``pip install torch==2.13.0``), never a
runtime dependency. Both sides start from the same padded feature ids
(T_x, m, K) and end at the same probabilities (T_x, m, n_y):

* input projections: ``nn.EmbeddingBag(mode="sum")`` over the table
  ``[W_ax; W_ax_bw]ᵀ`` (n_x, d n_a), plus ``nn.Linear(n_g, d n_a, bias=False)``
  with ``[W_ag; W_ag_bw]`` on the same dense pretrained vectors g (T_x, m, n_g)
  our side gets, plus b_a on real tokens (the same lookup, product and sum as
  ``model.inference``);
* recurrence: one ``nn.RNN(n_a, n_a, nonlinearity="tanh")`` per direction with
  ``weight_hh = W_aa`` and the projections as its input. nn.RNN always applies
  ``weight_ih``, so it is the identity here: one extra (T_x m, n_a) @ (n_a, n_a)
  product per direction that our side does not do (reported separately);
  ``bias_ih = bias_hh = 0`` because b_a is already in the input;
* backward direction: the batch flipped in time; padding then comes first with
  zero input, so the state is exactly 0 until each sentence's last token
  (equivalent to ``pack_padded_sequence``, without its sorting and packing);
* head: ``nn.Linear(d n_a, n_y)`` on the concatenated states, then softmax or sigmoid.
"""
from __future__ import annotations

import numpy as np


def version() -> str | None:
    """torch's version, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


class TorchTagger:
    def __init__(self, params: dict[str, np.ndarray], cfg, threads: int = 1):
        import torch

        torch.set_num_threads(threads)
        self.torch, self.cfg = torch, cfg
        n_a = cfg.n_a
        suffixes = ("", "_bw") if cfg.bidirectional else ("",)
        table = np.concatenate([params["W_ax" + s].T for s in suffixes], axis=1)  # (n_x, d n_a)
        self.bag = torch.nn.EmbeddingBag(table.shape[0], table.shape[1], mode="sum",
                                         _weight=torch.from_numpy(np.ascontiguousarray(table)))
        self.b_a = torch.from_numpy(np.concatenate([params["b_a" + s][:, 0] for s in suffixes]))
        self.rnns = []
        for s in suffixes:
            rnn = torch.nn.RNN(n_a, n_a, nonlinearity="tanh")
            with torch.no_grad():
                rnn.weight_ih_l0.copy_(torch.eye(n_a))
                rnn.weight_hh_l0.copy_(torch.from_numpy(params["W_aa" + s]))
                rnn.bias_ih_l0.zero_()
                rnn.bias_hh_l0.zero_()
            self.rnns.append(rnn)
        self.vec = None
        if getattr(cfg, "n_g", 0):
            self.vec = torch.nn.Linear(cfg.n_g, table.shape[1], bias=False)
            with torch.no_grad():
                self.vec.weight.copy_(torch.from_numpy(np.concatenate([params["W_ag" + s] for s in suffixes])))
        self.head = torch.nn.Linear(table.shape[1], cfg.n_y)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(params["W_ya"]))
            self.head.bias.copy_(torch.from_numpy(params["b_y"][:, 0]))
        self.eye = torch.eye(n_a)

    def probabilities(self, ids: np.ndarray, lengths: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
        """ŷ (T_x, m, n_y) from ids (T_x, m, K), lengths (m,) and vectors g (T_x, m, n_g)."""
        torch = self.torch
        T_x, m, K = ids.shape
        n_a = self.cfg.n_a
        with torch.inference_mode():
            flat = torch.from_numpy(ids.reshape(T_x * m, K).astype(np.int64))
            zx = self.bag(flat).view(T_x, m, -1)  # (T_x, m, d n_a)
            if self.vec is not None:
                zx = zx + self.vec(torch.from_numpy(g))
            valid = torch.arange(T_x)[:, None] < torch.from_numpy(np.asarray(lengths))[None, :]
            zx = (zx + self.b_a) * valid[..., None]
            a, _ = self.rnns[0](zx[..., :n_a])  # (T_x, m, n_a)
            if self.cfg.bidirectional:
                a_bw, _ = self.rnns[1](zx[..., n_a:].flip(0))
                a = torch.cat([a, a_bw.flip(0)], dim=-1)  # (T_x, m, 2 n_a)
            scores = self.head(a)
            p = torch.softmax(scores, -1) if self.cfg.head == "softmax" else torch.sigmoid(scores)
            return p.numpy()

    def identity_input_gemm(self, ids: np.ndarray) -> None:
        """The work nn.RNN does that ours does not: x @ I for each direction."""
        torch = self.torch
        T_x, m, _ = ids.shape
        x = torch.empty(T_x * m, self.cfg.n_a)
        with torch.inference_mode():
            for _ in self.rnns:
                torch.nn.functional.linear(x, self.eye)
