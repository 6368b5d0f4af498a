"""Waiting for a condition, never for a fixed time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    *,
    every: float = 0.05,
    process: subprocess.Popen[bytes] | None = None,
) -> bool:
    """True as soon as `condition` holds; False if it still does not after `timeout` s,
    or once `process` (the daemon the test waits on) has ended without it."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or (process is not None and process.poll() is not None):
            return condition()
        time.sleep(every)
    return True
