"""`mailbot queue note REF TEXT`: an internal note in the item's history (never mailed)."""

from __future__ import annotations

import argparse

NAME = "note"
HELP = "add an internal note to an item's history (the client never sees it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="the item, e.g. ACME-42 (old refs work)")
    parser.add_argument("text", metavar="TEXT", nargs="+", help="the note")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import emit, session_for
    from mailbot.items.actions import add_note, find_item

    with session_for(args) as (_config, session):
        event = add_note(session, args.ref, " ".join(args.text), actor=args.actor)
        session.flush()
        ref = find_item(session, args.ref).ref
        result = {"ref": ref, "event": event.id, "text": event.detail["text"]}
    emit(args, result, f"note added to {ref}")
    return 0
