"""`mailbot queue reclassify REF CATEGORY`: correct triage; the correction trains the model."""

from __future__ import annotations

import argparse

from mailbot.cli.queue.common import add_reason

NAME = "reclassify"
HELP = "change an item's category (status restarts; recorded as a training correction)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42 (old refs work)")
    parser.add_argument(
        "category",
        choices=("issue", "change_request", "feedback"),
        help="the right category; the status starts again at its first",
    )
    add_reason(parser)


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import reclassify

    with session_for(args) as (config, session):
        item = reclassify(
            session, config, args.ref, args.category, actor=args.actor, reason=args.reason
        )
        result = {"ref": item.ref, "category": item.category, "status": item.status}
    emit(args, result, f"{item.ref} is now {item.category} ({item.status})")
    return 0
