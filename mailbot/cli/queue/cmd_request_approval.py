"""`mailbot queue request-approval REF`: ask the client, by email, to approve a change."""

from __future__ import annotations

import argparse

NAME = "request-approval"
HELP = "mail the client the assessed change request and ask them to approve or reject it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the assessed change request, e.g. ACME-42")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.cmd_queue import default_actor
    from mailbot.cli.queue.common import emit, now, session_for
    from mailbot.items.change_control import find_item, request_approval

    actor = getattr(args, "actor", None) or default_actor()
    with session_for(args) as (config, session):
        item = find_item(session, args.ref)
        outbox = request_approval(session, config, item, actor=actor, now=now())
        result = {
            "ref": item.ref,
            "status": item.status,
            "queued": outbox.message_id if outbox else None,
            "to": item.client_email,
        }
    if result["queued"]:
        text = f"{result['ref']}: approval request to {result['to']} queued; the daemon sends it."
    else:
        text = f"{result['ref']}: this approval request was queued before; nothing new to send."
    emit(args, result, text)
    return 0
