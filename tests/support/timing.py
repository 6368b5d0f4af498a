"""Timing in tests that guard against super-linear work: CPU time, the best of a few runs.

The CPU time of the test's own thread, not the wall clock: tests run side by side on every
core, and a busy machine can keep any one run waiting for seconds; a pattern that backtracks
burns the CPU every time. Speed itself is measured by benchmarks/, not by tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def cpu_seconds(work: Callable[[], Any]) -> float:
    """The CPU seconds `work()` takes in this thread."""
    start = time.thread_time()
    work()
    return time.thread_time() - start


def best_of(work: Callable[[], Any], runs: int = 3) -> float:
    """The fewest CPU seconds `work()` took in this thread in `runs` runs."""
    return min(cpu_seconds(work) for _ in range(runs))
