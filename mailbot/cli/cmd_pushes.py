"""`mailbot pushes`: what did not reach the team's tracker or chat, and sending it again."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailbot.cli.cmd_queue import default_actor
from mailbot.cli.common import database, load, print_json
from mailbot.connectors.pushes import list_pushes, requeue

NAME = "pushes"
HELP = "pushes to the tracker and chat that failed: list, requeue ID…"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="pushes set aside (and with --waiting, retrying)")
    listing.add_argument("--waiting", action="store_true", help="also those that will retry")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    again = sub.add_parser("requeue", help="send these pushes again now")
    again.add_argument("ids", nargs="+", type=int, metavar="ID", help="as `pushes list` shows")
    again.add_argument("--actor", help="who sends them again, for the audit trail")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    db = database(config)
    now = datetime.now(UTC)
    try:
        with db.session() as session:
            if args.action == "list":
                rows = list_pushes(session, waiting=args.waiting)
                for push in rows:
                    ref = push.payload.get("ref") or push.payload.get("facts", {}).get("ref")
                    row = {
                        "id": push.id,
                        "kind": push.kind,
                        "connector": push.connector,
                        "ref": ref,
                        "state": push.state,
                        "attempts": push.attempts,
                        "error": push.last_error,
                    }
                    if args.json:
                        print_json(row)
                    else:
                        print(
                            f"{push.id}  {push.kind} to {push.connector}  {ref or '-'}  "
                            f"{push.state}, {push.attempts} tries: {push.last_error}"
                        )
                if not rows and not args.json:
                    print("nothing is waiting for the tracker or the chat")
                return 0
            for push_id in requeue(session, args.ids, actor=args.actor or default_actor(), now=now):
                print(f"push {push_id} goes again at the daemon's next turn")
    finally:
        db.dispose()
    return 0
