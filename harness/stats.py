"""The one percentile the tests and the bench report."""
from __future__ import annotations

import math


def percentile(values, q: float) -> float:
    """The q-th percentile of values, q in percent (0-100, as numpy.percentile), by
    nearest rank: the smallest value that at least q % of the values do not exceed.
    NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile: q is in percent, 0-100; got {q}")
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)] if ranked else float("nan")
