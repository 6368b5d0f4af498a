"""`mailbot queue assess REF`: record the impact of a change request (puts it under review)."""

from __future__ import annotations

import argparse
import getpass

NAME = "assess"
HELP = "record a change request's impact: effort, schedule, cost (then request-approval)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", help="the change request, e.g. ACME-42")
    parser.add_argument("--effort", help='e.g. "3 days"')
    parser.add_argument("--schedule", help='e.g. "+1 week" or "go-live moves to 12 March"')
    parser.add_argument("--cost", help='e.g. "EUR 2,400"')
    parser.add_argument("--notes", default="", help="anything the client should know")
    parser.add_argument("--actor", help="who assessed it (default: your user name)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from mailbot.change_control import assess, find_item
    from mailbot.cli.common import database, load, print_json

    config = load(args)
    db = database(config)
    actor = args.actor or getpass.getuser()
    with db.session() as session:
        item = find_item(session, args.ref)
        assess(
            session,
            item,
            effort=args.effort,
            schedule=args.schedule,
            cost=args.cost,
            notes=args.notes,
            actor=actor,
        )
        result = {"ref": item.ref, "status": item.status, "impact": item.impact}
    if args.json:
        print_json(result)
    else:
        print(f"{result['ref']} is {result['status']}; impact recorded.")
        print(f"next: mailbot queue request-approval {result['ref']}")
    return 0
