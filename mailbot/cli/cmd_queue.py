"""`mailbot queue ACTION`: the PM's work queue (list, show and correct items).

Sub-commands are the `mailbot/cli/queue/cmd_*.py` modules, found when the parser is
built; each gets `--json` and `--actor` unless it defines its own.
"""

from __future__ import annotations

import argparse
import getpass
import os

from mailbot.cli import global_options
from mailbot.cli.queue import subcommands

NAME = "queue"
HELP = "the PM's work queue: list, show, reclassify, move, status, assign, note, merge, split"


def default_actor() -> str:
    """Who is acting: $USER, else the login name."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container
        return "unknown"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    for module in subcommands():
        # A HIDDEN action (an old name kept for scripts) works but is not listed.
        listed = {} if getattr(module, "HIDDEN", False) else {"help": module.HELP}
        # "resolve": a module may redefine --json or --actor without an argparse conflict.
        cmd = sub.add_parser(
            module.NAME,
            **listed,
            description=module.HELP,
            conflict_handler="resolve",
            parents=[global_options()],  # --config, -v after the action too
        )
        cmd.add_argument("--json", action="store_true", help="print the result as JSON")
        cmd.add_argument(
            "--actor",
            default=default_actor(),
            help="who is acting, for the audit trail (default: $USER)",
        )
        module.add_arguments(cmd)
        cmd.set_defaults(queue_handler=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args.queue_handler(args) or 0)
