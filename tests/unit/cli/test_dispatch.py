"""The command line imports the named command alone: its start-up carries no other's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailbot.cli import build_parser, named_command


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", "--once"], "run"),
        (["--config", "x.toml", "-v", "queue", "list"], "queue"),
        (["--config=x.toml", "status"], "status"),
        (["-vv", "--config", "run"], None),  # "run" is the config's path here
        (["--version"], None),
        ([], None),
    ],
)
def test_the_command_named(argv: list[str], named: str | None) -> None:
    assert named_command(argv) == named


def test_a_parser_for_one_command_or_for_all() -> None:
    def commands(command: str | None) -> set[str]:
        sub = next(a for a in build_parser(command)._actions if a.dest == "command")
        return set(sub.choices)  # type: ignore[arg-type]

    every = commands(None)
    assert {"run", "queue", "web", "check-config"} <= every
    assert commands("run") == {"run"}
    assert commands("check-config") == {"check-config"}
    assert commands("no-such-command") == every  # argparse says what the choices are


def test_run_imports_no_other_command() -> None:
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from mailbot.cli import main\n"
            "try:\n"
            "    main(['run', '--help'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('mailbot.cli.cmd_')))\n"
            "print('sqlalchemy.orm' in sys.modules)\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    modules, orm = shown.stdout.strip().splitlines()[-2:]
    assert modules == "['mailbot.cli.cmd_run']"
    assert orm == "False"  # the database layer is imported once triage ahead has started
