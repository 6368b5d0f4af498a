"""`mailbot doctor`'s table."""

from __future__ import annotations

import pytest

from mailbot.cli.cmd_doctor import render_table
from mailbot.ops.checks import PASS, WARN, Check

pytestmark = pytest.mark.no_database


def test_the_last_line_counts_in_words() -> None:
    ok = Check("config", "config", PASS, "fine")
    warn = Check("smtp", "delivery", WARN, "no [smtp]", "configure [smtp]")
    assert render_table([ok, warn]).endswith("\n1 passed, 1 warning, 0 failed")
    assert render_table([warn, warn]).endswith("\n0 passed, 2 warnings, 0 failed")
