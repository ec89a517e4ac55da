"""Adam with gradient clipping by global norm, and lazy updates for sparse columns.

A gradient is either a dense array shaped like its parameter, or a
``(cols, dcols)`` pair for the input matrices ``W_ax*`` (n_a, n_x) and the
fine-tuned vectors ``G`` (n_g, V + 1): only the columns a batch touched are
updated, and only their moments decay (lazy Adam), which keeps a step's cost
independent of the vocabulary size.
"""
from __future__ import annotations

import numpy as np


def global_norm(grads) -> float:
    """sqrt of the sum of squares of every gradient (sparse columns counted once)."""
    total = 0.0
    for g in grads.values():
        v = g[1] if isinstance(g, tuple) else g
        total += float(np.vdot(v, v))
    return total ** 0.5


def clip(grads, max_norm: float):
    """Scale all gradients down together when their global norm exceeds max_norm:
    the classic guard against exploding gradients through time."""
    norm = global_norm(grads)
    if norm <= max_norm or norm == 0.0:
        return grads, norm
    s = max_norm / norm
    return {k: ((g[0], g[1] * s) if isinstance(g, tuple) else g * s) for k, g in grads.items()}, norm


def by_column(name: str) -> bool:
    """Whether a parameter is updated column by column (its gradient a (cols, dcols) pair)."""
    return name.startswith("W_ax") or name == "G"


def adam_init(params):
    """First and second moments and step counts (one per column for by_column parameters)."""
    return {"m": {k: np.zeros_like(v) for k, v in params.items()},
            "v": {k: np.zeros_like(v) for k, v in params.items()},
            "t": {k: np.zeros(v.shape[-1] if by_column(k) else 1, dtype=np.int64)
                  for k, v in params.items()}}


def adam_step(params, grads, state, lr: float, beta1=0.9, beta2=0.999, eps=1e-8):
    """Update params in place (columns only for sparse gradients)."""
    for k, g in grads.items():
        p, m, v, t = params[k], state["m"][k], state["v"][k], state["t"][k]
        if isinstance(g, tuple):
            cols, dcols = g
            t[cols] += 1
            mc = beta1 * m[:, cols] + (1 - beta1) * dcols
            vc = beta2 * v[:, cols] + (1 - beta2) * dcols * dcols
            m[:, cols], v[:, cols] = mc, vc
            corr = np.sqrt(1 - beta2 ** t[cols]) / (1 - beta1 ** t[cols])  # (r,)
            p[:, cols] -= (lr * corr).astype(p.dtype) * mc / (np.sqrt(vc) + eps)
        else:
            t += 1
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            corr = np.sqrt(1 - beta2 ** t[0]) / (1 - beta1 ** t[0])
            p -= (lr * corr) * m / (np.sqrt(v) + eps)


def ema_update(avg, params, decay: float, step: int):
    """avg <- d * avg + (1 - d) * params, in place, d = min(decay, (1+step)/(10+step)):
    the averaged weights generalise better than the last step's, like a cheap
    ensemble of checkpoints; the warm-up keeps the random init from lingering."""
    decay = min(decay, (1.0 + step) / (10.0 + step))
    for k, p in params.items():
        avg[k] *= decay
        avg[k] += (1.0 - decay) * p
