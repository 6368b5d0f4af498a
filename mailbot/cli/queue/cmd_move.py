"""`mailbot queue move REF PROJECT`: file an item under another project, with a new ref."""

from __future__ import annotations

import argparse

from mailbot.cli.queue.common import add_reason

NAME = "move"
HELP = "move an item to another project (renumbered; the old ref still finds it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42 (old refs work)")
    parser.add_argument("project", metavar="PROJECT", help="a project key, or TRIAGE")
    add_reason(parser)


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import move

    with session_for(args) as (config, session):
        old = args.ref.strip().upper()
        item = move(session, config, args.ref, args.project, actor=args.actor, reason=args.reason)
        result = {"ref": item.ref, "old_ref": old, "project": item.project_key}
    emit(args, result, f"{old} is now {item.ref}")
    return 0
