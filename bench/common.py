"""The test sets, the pinned thread environment and small timing helpers shared by the bench
parts (the repository's paths, servers and percentiles come from ``harness``)."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from harness import DATA, DEFAULT_ARTIFACT
from model.threads import thread_env

CONLL_TEST = DATA / "conll2003" / "test.conll"
WNUT_TEST = DATA / "wnut17" / "test.conll"
PYTHON = sys.executable


def parser(doc: str) -> argparse.ArgumentParser:
    """A scoring bench's command line: its module docstring, --artifact and --json."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", default=str(DEFAULT_ARTIFACT))
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    return p


def pinned_env(threads: int = 1) -> dict[str, str]:
    """The environment with every BLAS/OpenMP pool limited to `threads`."""
    return dict(os.environ, **thread_env(threads))


def median(xs):
    return statistics.median(xs)


def timed(fn) -> float:
    """Seconds one call of fn takes (wall clock)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class BenchError(RuntimeError):
    """A benchmark that must not report numbers (an HTTP error, a mismatch)."""
