"""`mailbot queue target REF DATE`: when the team expects an item done ("none" clears it)."""

from __future__ import annotations

import argparse

NAME = "target"
HELP = "set the date the team expects an item done (shown in the weekly report); 'none' clears"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42")
    parser.add_argument("date", metavar="DATE", help="YYYY-MM-DD, or 'none' to clear it")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import parse_day
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.progress import set_target

    target = None if args.date.lower() in ("none", "-", "") else parse_day(args.date, "DATE")
    with session_for(args) as (_config, session):
        item = set_target(session, args.ref, target, actor=args.actor)
        result = {"ref": item.ref, "target_date": target.isoformat() if target else None}
    emit(args, result, f"{item.ref}: expected done {target.isoformat() if target else '(no date)'}")
    return 0
