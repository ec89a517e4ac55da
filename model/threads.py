"""One BLAS/OpenMP thread per process: the matrices are small, and the service's
workers, the bulk command's processes and the bench fill the cores with processes.
The pools size themselves when NumPy loads, so set this before the first import of
numpy. Standard library only (importing it loads no NumPy)."""
from __future__ import annotations

import os
from collections.abc import MutableMapping

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_env(threads: int = 1) -> dict[str, str]:
    """The variables that limit every BLAS/OpenMP pool to `threads`."""
    return {v: str(threads) for v in THREAD_VARS}


def pin_threads(threads: int = 1, override: bool = False, env: MutableMapping[str, str] = os.environ) -> None:
    """Limit the pools in `env` (this process's environment by default) to `threads`;
    without `override`, a value the user set is kept."""
    for var, value in thread_env(threads).items():
        if override:
            env[var] = value
        else:
            env.setdefault(var, value)
