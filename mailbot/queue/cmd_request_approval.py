"""`mailbot queue request-approval REF`: ask the client, by email, to approve a change."""

from __future__ import annotations

import argparse
import getpass

NAME = "request-approval"
HELP = "mail the client the assessed change request and ask them to approve or reject it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", help="the assessed change request, e.g. ACME-42")
    parser.add_argument("--actor", help="who asks (default: your user name)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mailbot.change_control import find_item, request_approval
    from mailbot.cli.common import database, load, print_json

    config = load(args)
    db = database(config)
    actor = args.actor or getpass.getuser()
    with db.session() as session:
        item = find_item(session, args.ref)
        outbox = request_approval(session, config, item, actor=actor, now=datetime.now(UTC))
        result = {
            "ref": item.ref,
            "status": item.status,
            "queued": outbox.message_id if outbox else None,
            "to": item.client_email,
        }
    if args.json:
        print_json(result)
    elif result["queued"]:
        print(f"{result['ref']}: approval request to {result['to']} queued; the daemon sends it.")
    else:
        print(f"{result['ref']}: this approval request was queued before; nothing new to send.")
    return 0
