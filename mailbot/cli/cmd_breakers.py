"""`mailbot breakers`: addresses mailbot stopped answering automatically, and clearing them."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailbot.cli.cmd_queue import default_actor
from mailbot.cli.common import database, load, print_json
from mailbot.pipeline.breakers import clear_breaker, list_breakers

NAME = "breakers"
HELP = "addresses whose automatic answers are stopped (a loop, a flood): list, clear ADDRESS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the breakers in force, with why and until when")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    clear = sub.add_parser("clear", help="answer these addresses again from now on")
    clear.add_argument(
        "addresses",
        nargs="+",
        metavar="ADDRESS",
        help="a sender address as `breakers list` shows it",
    )
    clear.add_argument("--actor", help="who clears it, for the audit trail (default: you)")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    db = database(config)
    now = datetime.now(UTC)
    try:
        with db.session() as session:
            if args.action == "list":
                breakers = list_breakers(session, now)
                for b in breakers:
                    row = {
                        "address": b.address,
                        "reason": b.reason,
                        "tripped_at": b.tripped_at.isoformat(),
                        "expires_at": b.expires_at.isoformat(),
                    }
                    if args.json:
                        print_json(row)
                    else:
                        print(f"{b.address}  until {b.expires_at:%Y-%m-%d %H:%M} UTC  {b.reason}")
                if not breakers and not args.json:
                    print("no breaker is on: every client is answered")
                return 0
            actor = args.actor or default_actor()
            for address in args.addresses:
                breaker = clear_breaker(session, address, actor=actor, now=now)
                print(f"{breaker.address} is answered again")
    finally:
        db.dispose()
    return 0
