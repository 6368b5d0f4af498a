"""`mailbot queue split MESSAGE`: one message of an item becomes an item of its own."""

from __future__ import annotations

import argparse

from mailbot.cli.queue.common import add_reason

NAME = "split"
HELP = "make one message of an item a new item in the same project"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "message", metavar="MESSAGE_ID", help="message number from `queue show`, or its Message-ID"
    )
    add_reason(parser)


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import split

    with session_for(args) as (_config, session):
        item = split(session, args.message, actor=args.actor, reason=args.reason)
        result = {"ref": item.ref, "category": item.category, "status": item.status}
    emit(args, result, f"message {args.message} is now {item.ref}")
    return 0
