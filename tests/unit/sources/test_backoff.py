"""Reconnect delays: exponential growth, full jitter, capped."""

from __future__ import annotations

import itertools
import random

import pytest

from mailbot.sources.backoff import backoff_delays

pytestmark = pytest.mark.no_database


class _Top(random.Random):
    """Always draws the upper bound, exposing the ceiling of each delay."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_ceilings_double_until_the_cap() -> None:
    delays = list(itertools.islice(backoff_delays(base=1, cap=30, rng=_Top()), 8))
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_delays_are_jittered_within_the_ceiling() -> None:
    delays = list(itertools.islice(backoff_delays(base=2, cap=10, rng=random.Random(7)), 200))
    ceilings = [min(10, 2 * 2**n) for n in range(200)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # full jitter: no two alike
    assert max(delays[10:]) > 5  # and it does reach up toward the cap


def test_defaults_stay_under_five_minutes() -> None:
    assert all(0 <= d <= 300 for d in itertools.islice(backoff_delays(), 50))


@pytest.mark.parametrize(("base", "cap"), [(0, 10), (1, 0), (-1, 5)])
def test_rejects_non_positive_settings(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        next(backoff_delays(base=base, cap=cap))
