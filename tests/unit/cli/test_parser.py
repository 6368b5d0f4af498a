"""The `mailbot` argument parser: -v counted wherever it is given."""

from __future__ import annotations

import argparse
import logging

import pytest

from mailbot.cli import VERBOSE_AFTER, build_parser, parse_args
from mailbot.cli.common import log_as_asked
from tests.support.logging_state import kept_logging  # noqa: F401
from tests.support.queue_bot import Bot


def verbose(*argv: str) -> int:
    return parse_args(build_parser(), list(argv)).verbose


def test_verbose_is_counted_before_and_after_the_command() -> None:
    assert verbose("status") == 0
    assert verbose("-v", "status") == 1
    assert verbose("-vv", "status") == 2
    assert verbose("status", "--verbose") == 1
    assert verbose("status", "-vv") == 2
    assert verbose("-v", "status", "-v") == 2
    assert verbose("queue", "list", "-vv") == 2
    assert verbose("-v", "queue", "list") == 1
    assert not hasattr(parse_args(build_parser(), ["-v", "queue", "list", "-v"]), VERBOSE_AFTER)


@pytest.mark.usefixtures("kept_logging")
@pytest.mark.parametrize(
    ("count", "mailbot", "library"), [(0, False, False), (1, True, False), (2, True, True)]
)
def test_each_v_lets_more_debug_lines_out(count: int, mailbot: bool, library: bool) -> None:
    log_as_asked(argparse.Namespace(verbose=count), "INFO")
    assert logging.getLogger("mailbot.cli").isEnabledFor(logging.DEBUG) is mailbot
    assert logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.DEBUG) is library
    assert logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("kept_logging")
def test_vv_shows_the_sql_and_v_does_not(bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = bot.cli(capsys, "queue", "list", "-v")
    assert code == 0 and "sqlalchemy" not in err
    code, _out, err = bot.cli(capsys, "-v", "queue", "list", "-v")
    assert code == 0 and "sqlalchemy.engine.Engine: SELECT" in err
