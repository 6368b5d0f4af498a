"""Timing in tests that guard against super-linear work: the best of a few runs.

A busy machine can stall any one run for a second; a pattern that backtracks is slow every time.
Speed itself is measured by benchmarks/, not by tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of(work: Callable[[], Any], runs: int = 3) -> float:
    """The fewest seconds `work()` took in `runs` runs."""
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        took.append(time.perf_counter() - start)
    return min(took)
