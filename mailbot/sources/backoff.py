"""Reconnect delays: exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Iterator

DEFAULT_BACKOFF_BASE = 1.0  # seconds; the first delay is at most this
DEFAULT_BACKOFF_CAP = 300.0  # seconds; no delay is longer than this


def backoff_delays(
    base: float = DEFAULT_BACKOFF_BASE,
    cap: float = DEFAULT_BACKOFF_CAP,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Endless delays: attempt n waits uniform(0, min(cap, base * 2**n)) seconds.

    Full jitter spreads the reconnects of many clients after a server outage
    instead of having them all retry at the same moments. Start a new
    generator after a successful connection to begin again from `base`.
    """
    if base <= 0 or cap <= 0:
        raise ValueError("base and cap must be positive")
    rng = rng or random.Random()
    ceiling = min(base, cap)
    while True:
        yield rng.uniform(0, ceiling)
        ceiling = min(cap, ceiling * 2)
