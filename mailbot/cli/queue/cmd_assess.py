"""`mailbot queue assess REF`: record the impact of a change request (puts it under review)."""

from __future__ import annotations

import argparse

NAME = "assess"
HELP = "record a change request's impact: effort, schedule, cost (then request-approval)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the change request, e.g. ACME-42")
    parser.add_argument("--effort", help='e.g. "3 days"')
    parser.add_argument("--schedule", help='e.g. "+1 week" or "go-live moves to 12 March"')
    parser.add_argument("--cost", help='e.g. "EUR 2,400"')
    parser.add_argument("--notes", default="", help="anything the client should know")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.cmd_queue import default_actor
    from mailbot.cli.queue.common import emit, now, session_for
    from mailbot.items.change_control import assess, find_item

    actor = getattr(args, "actor", None) or default_actor()
    with session_for(args) as (_, session):
        item = find_item(session, args.ref)
        assess(
            session,
            item,
            effort=args.effort,
            schedule=args.schedule,
            cost=args.cost,
            notes=args.notes,
            actor=actor,
            now=now(),
        )
        result = {"ref": item.ref, "status": item.status, "impact": item.impact}
    emit(
        args,
        result,
        f"{result['ref']} is {result['status']}; impact recorded.\n"
        f"next: mailbot queue request-approval {result['ref']}",
    )
    return 0
