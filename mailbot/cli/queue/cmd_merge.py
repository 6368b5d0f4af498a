"""`mailbot queue merge REF INTO_REF`: two items about the same thing become one."""

from __future__ import annotations

import argparse

from mailbot.cli.queue.common import add_reason

NAME = "merge"
HELP = "merge an item into another: its messages move, it is marked merged"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the duplicate")
    parser.add_argument("into", metavar="INTO_REF", help="the item that stays")
    add_reason(parser)


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import find_item, merge

    with session_for(args) as (_config, session):
        target = merge(session, args.ref, args.into, actor=args.actor, reason=args.reason)
        source = find_item(session, args.ref)
        result = {"ref": source.ref, "merged_into": target.ref, "status": source.status}
    emit(args, result, f"{source.ref} merged into {target.ref}")
    return 0
