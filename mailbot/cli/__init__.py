"""The `mailbot` command: a thin layer over importable functions.

Each sub-command is a module `mailbot/cli/cmd_<name>.py` defining
`NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from types import ModuleType

from mailbot import __version__
from mailbot.errors import MailbotError

EX_TEMPFAIL = 75  # sysexits.h: try again later (cron and systemd may)

log = logging.getLogger("mailbot.cli")

VERBOSE_HELP = "log mailbot's DEBUG lines; -vv also the libraries' (SQL, IMAP, HTTP)"
VERBOSE_AFTER = "verbose_after_command"


def _commands(only: str | None = None) -> list[ModuleType]:
    """The sub-command modules; `only`: that command's alone (`mailbot run` imports no
    other command's libraries, and its start-up is the shorter for it)."""
    names = sorted(i.name for i in pkgutil.iter_modules(__path__) if i.name.startswith("cmd_"))
    if only is not None:
        names = [n for n in names if n == "cmd_" + only.replace("-", "_")]
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def named_command(argv: list[str]) -> str | None:
    """The command `argv` names (its first word that is no option or option's value)."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with `command`, of that one alone (when it is one)."""
    parser = argparse.ArgumentParser(prog="mailbot", description="Triage a shared client inbox.")
    parser.add_argument("--version", action="version", version=f"mailbot {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $MAILBOT_CONFIG, else ./mailbot.toml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (command is not None and _commands(command)) or _commands():
        cmd = sub.add_parser(
            module.NAME, help=module.HELP, description=module.HELP, parents=[global_options()]
        )
        module.add_arguments(cmd)
        cmd.set_defaults(handler=module.run)
    return parser


def global_options() -> argparse.ArgumentParser:
    """--config and -v accepted after the command too (`mailbot check-config --config x`).

    SUPPRESS keeps a value given before the command when none is given after it. A -v after
    the command is counted apart (a sub-command parses into a namespace of its own) and
    added to those before it by `main`: `mailbot -v run -v` is -vv.
    """
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file")
    options.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest=VERBOSE_AFTER,
        default=argparse.SUPPRESS,
        help=VERBOSE_HELP,
    )
    return options


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments, with `verbose` the number of -v before and after the command."""
    args = parser.parse_args(argv)
    args.verbose = getattr(args, "verbose", 0) + getattr(args, VERBOSE_AFTER, 0)
    if hasattr(args, VERBOSE_AFTER):
        delattr(args, VERBOSE_AFTER)
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(named_command(sys.argv[1:] if argv is None else argv))
    args = parse_args(parser, argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except MailbotError as err:
        print(f"mailbot: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`mailbot items --json | head`): not an error. Point stdout
        # at /dev/null so Python's own flush at exit does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    # Last, as BrokenPipeError is an Exception too: the database gone is said in words;
    # anything else is a bug and keeps its stack trace.
    except Exception as err:
        from mailbot.storage.db import database_unavailable

        if not database_unavailable(err):
            raise
        cause = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        print(
            f"mailbot: the database is not answering ({cause}); nothing was lost: run the "
            "command again once it answers (check the database server, or the disk of the "
            "SQLite file)",
            file=sys.stderr,
        )
        return EX_TEMPFAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
