"""`mailbot spam`: the mail filed as spam, and a person's word on it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mailbot.cli.cmd_queue import default_actor
from mailbot.cli.common import print_json, session_for
from mailbot.message import clean_text
from mailbot.pipeline.spam import list_spam, mark_not_spam, mark_spam

NAME = "spam"
HELP = "mail filed as spam: list, not-spam ID... (file it after all), mark ID... (it is spam)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="mail called spam, newest first, with the reasons")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for name, text in (
        ("not-spam", "not spam: classify and file it after all (a correction triage learns)"),
        ("mark", "spam: keep it as noise (a correction triage learns)"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("ids", nargs="+", metavar="ID", help="m<number>, as listed")
        action.add_argument("--reason", default="", help="why, for the audit trail")
        action.add_argument("--actor", help="who says so (default: your user name)")


def run(args: argparse.Namespace) -> int:
    with session_for(args) as (_config, session):
        if args.action == "list":
            found = list_spam(session, limit=args.limit)
            for mail in found:
                if args.json:
                    print_json(mail.as_dict())
                    continue
                score = (
                    f"{mail.score:g}/{mail.threshold:g}"
                    if mail.score is not None and mail.threshold is not None
                    else "-"
                )
                reason = clean_text(mail.reasons[0] if mail.reasons else "", limit=60)
                sender = clean_text(mail.sender, limit=30)
                subject = clean_text(mail.subject, limit=40)
                print(
                    f"{mail.key:<7} {mail.arrived_at:%Y-%m-%d %H:%M}  {mail.source:<10} "
                    f"{score:<9} {sender:<30} {subject:<40}  {reason}"
                )
            if not found and not args.json:
                print("no mail is filed as spam")
            return 0
        actor = args.actor or default_actor()
        now = datetime.now(UTC)
        if args.action == "not-spam":
            done = mark_not_spam(session, args.ids, actor=actor, now=now, reason=args.reason)
            print(
                f"{', '.join(done)} not spam: the running daemon (or the next "
                "`mailbot run --once`) classifies and files them"
            )
        else:
            for note in mark_spam(session, args.ids, actor=actor, now=now, reason=args.reason):
                print(note)
    return 0
