"""`mailbot queue waiting REF "what we need" [--by DATE]`: the item waits on the client."""

from __future__ import annotations

import argparse

NAME = "waiting"
HELP = (
    "mark an item as waiting on the client (a question asked, material needed), by when; "
    "the weekly report lists it under 'waiting on you'; a reply from the client ends it"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42")
    parser.add_argument(
        "note", metavar="WHAT", nargs="?", default="", help="what the client is asked for"
    )
    parser.add_argument("--by", metavar="DATE", help="the date we need it by, YYYY-MM-DD")
    parser.add_argument(
        "--done", action="store_true", help="no longer waiting (the answer came another way)"
    )


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import parse_day
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import find_item
    from mailbot.items.progress import clear_waiting, set_waiting

    with session_for(args) as (_config, session):
        if args.done:
            item = find_item(session, args.ref)
            ended = clear_waiting(session, item, actor=args.actor, why="marked done")
            text = (
                f"{item.ref} no longer waits on the client"
                if ended
                else (f"{item.ref} was not waiting on the client")
            )
            result = {"ref": item.ref, "waiting": False}
        else:
            by = parse_day(args.by, "--by") if args.by else None
            item = set_waiting(session, args.ref, args.note, needed_by=by, actor=args.actor)
            when = f" by {by.isoformat()}" if by else ""
            text = f"{item.ref} waits on the client for: {item.waiting_note}{when}"
            result = {
                "ref": item.ref,
                "waiting": True,
                "note": item.waiting_note,
                "needed_by": by.isoformat() if by else None,
            }
    emit(args, result, text)
    return 0
