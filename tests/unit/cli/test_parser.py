"""The `mailbot` argument parser: -v counted wherever it is given."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

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


# --- help for every argument ---------------------------------------------------------------


def without_help(parser: argparse.ArgumentParser, path: str = "mailbot") -> list[str]:
    """Each argument and listed sub-command of `parser` and its sub-parsers without a help text."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if name in listed and not (listed[name] or "").strip():
                    missing.append(f"{path} {name}")
                missing += without_help(sub, f"{path} {name}")
            continue
        if action.default == argparse.SUPPRESS and action.dest in ("config", VERBOSE_AFTER):
            continue  # the global options repeated after the command; helped at the top
        if not (action.help or "").strip():
            name = "/".join(action.option_strings) or action.metavar or action.dest
            missing.append(f"{path} {name}")
    return missing


def test_the_check_names_what_has_no_help() -> None:
    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--good", help="fine")
    parser.add_argument("--bare")
    sub = parser.add_subparsers().add_parser("act", help="")
    sub.add_argument("ref", metavar="REF")
    assert without_help(parser, "x") == ["x --bare", "x act", "x act REF"]


def test_every_argument_of_every_command_has_help() -> None:
    missing = without_help(build_parser())
    assert not missing, "give these a help text:\n" + "\n".join(missing)


def test_run_says_everything_it_does() -> None:
    from mailbot.cli.cmd_run import HELP

    for verb in ("fetch", "store", "triage", "file", "answer"):
        assert verb in HELP, verb


def test_queue_status_lists_the_statuses_an_item_can_move_to() -> None:
    from mailbot.cli.queue.cmd_status import STATUS_HELP
    from mailbot.items.lifecycle import INITIAL, LIFECYCLES

    listed = set(re.findall(r"\w+", STATUS_HELP.partition(";")[2].partition("(")[0]))
    for category, steps in LIFECYCLES.items():
        assert category in listed
        for status in steps:
            assert (status in listed) is (status != INITIAL[category]), status


def test_the_database_not_answering_is_said_in_words_and_exits_to_be_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlalchemy.exc

    import mailbot.pipeline.machine
    from mailbot.cli import EX_TEMPFAIL, main

    class AdminShutdown(Exception):
        sqlstate = "57P01"

    def restarted(*args: object, **kw: object) -> None:
        raise sqlalchemy.exc.OperationalError(
            "SELECT 1", {}, AdminShutdown("terminating connection due to administrator command")
        )

    for sub in ("new", "cur", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    config = tmp_path / "mailbot.toml"
    config.write_text(
        f'[mailbox]\nname = "in"\nkind = "maildir"\npath = "{tmp_path / "Maildir"}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "mb.sqlite3"}"\n'
        f'[outbox]\ndirectory = "{tmp_path / "outbox"}"\n[triage]\nenabled = false\n'
    )
    monkeypatch.setattr(mailbot.pipeline.machine.Pipeline, "run_once", restarted)
    assert main(["--config", str(config), "run", "--once"]) == EX_TEMPFAIL
    err = capsys.readouterr().err
    assert "the database is not answering (terminating connection" in err, err
    assert "Traceback" not in err

    def bug(*args: object, **kw: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(mailbot.pipeline.machine.Pipeline, "run_once", bug)
    with pytest.raises(KeyError):  # a bug keeps its stack trace
        main(["--config", str(config), "run", "--once"])


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`mailbot messages --json | head`: the write fails with a broken pipe; exit 0, no
    traceback (the database check after it must not take that error for its own)."""
    import subprocess
    import sys

    reader_gone = (
        "import mailbot.cli.cmd_parse as command\n"
        "def run(args):\n"
        "    raise BrokenPipeError(32, 'Broken pipe')\n"
        "command.run = run\n"
        "from mailbot.cli import main\n"
        "raise SystemExit(main(['parse', 'any.eml']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", reader_gone], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
