"""`mailbot queue status REF STATUS [--notify]`: move an item on, optionally telling the client."""

from __future__ import annotations

import argparse

from mailbot.items.lifecycle import LIFECYCLES

NAME = "status"
HELP = "change an item's status; --notify mails the client in their language"


def _status_help() -> str:
    """Every status an item can be moved to, by category, in lifecycle order."""
    parts = []
    for category, steps in LIFECYCLES.items():
        reachable = [s for s in steps if any(s in after for after in steps.values())]
        parts.append(f"{category}: {', '.join(reachable)}")
    return f"the new status; {'; '.join(parts)} (the current status decides which come next)"


STATUS_HELP = _status_help()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42 (old refs work)")
    parser.add_argument("status", metavar="STATUS", help=STATUS_HELP)
    parser.add_argument(
        "--notify",
        action="store_true",
        help="mail the client a status update in their thread (counts as the first response)",
    )
    parser.add_argument("--note", help="why; with --notify it is also shown to the client")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import database, load
    from mailbot.cli.queue.common import emit, now
    from mailbot.items.actions import set_status

    config = load(args)
    db = database(config)
    try:
        with db.session() as session:
            change = set_status(
                session,
                config,
                args.ref,
                args.status,
                actor=args.actor,
                note=args.note,
                notify=args.notify,
                now=now(),
            )
            result = {
                "ref": change.item.ref,
                "status": change.item.status,
                "event": change.event.id,
                "notified": change.outbox.message_id if change.outbox else None,
            }
        sent = 0
        if change.outbox is not None:
            # Committed: hand the mail to the transport now rather than at the daemon's next
            # cycle. It still goes through the outbox, so it is sent once.
            from mailbot.outgoing.delivery import deliver_outbox

            sent = deliver_outbox(db, config).sent
    finally:
        db.dispose()
    result["delivered_now"] = sent
    text = f"{result['ref']} is now {result['status']}"
    if result["notified"]:
        text += f"; status mail {result['notified']} " + ("sent" if sent else "queued")
    emit(args, result, text)
    return 0
