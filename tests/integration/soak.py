"""`@soak`: a long version of a test that runs only when asked for, with `pytest -m soak`.

The default suite runs the short version of each such test; `-m soak` (or any marker
expression naming soak) runs the long ones too.
"""

from __future__ import annotations

import pytest

soak = pytest.mark.soak
only_when_asked = pytest.mark.skipif(
    "'soak' not in (config.getoption('markexpr') or '')",
    reason="a soak run: select it with pytest -m soak",
)


def soak_test(function):  # type: ignore[no-untyped-def]
    """Mark a test as a soak run, skipped unless the marker expression names soak."""
    return soak(only_when_asked(function))
