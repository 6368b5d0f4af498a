"""`mailbot queue assign REF WHO`: give an item to a person ("-" for nobody)."""

from __future__ import annotations

import argparse

from mailbot.cli.queue.common import add_reason

NAME = "assign"
HELP = "assign an item to a person ('-' unassigns)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42 (old refs work)")
    parser.add_argument("who", metavar="WHO", help="a name or address; '-' for nobody")
    add_reason(parser)


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import assign

    with session_for(args) as (_config, session):
        item = assign(session, args.ref, args.who, actor=args.actor, reason=args.reason)
        result = {"ref": item.ref, "assignee": item.assignee}
    emit(args, result, f"{item.ref} is assigned to {item.assignee or 'nobody'}")
    return 0
