"""`mailbot failed`: what did not go through, why, and sending it round again."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from mailbot.cli.cmd_queue import default_actor
from mailbot.cli.common import print_json, session_for
from mailbot.pipeline.failures import list_failures, requeue, show_failure

NAME = "failed"
HELP = "messages and outgoing mail that failed: list, show ID, requeue ID..."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every failure, retrying or set aside")
    listing.add_argument("--set-aside", action="store_true", help="only what waits for a person")
    listing.add_argument(
        "--project",
        action="append",
        metavar="KEY",
        help="only the failures of this project (repeat; TRIAGE: mail filed to none)",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = sub.add_parser("show", help="one failure with its error and history")
    show.add_argument("id", metavar="ID", help="m<number> (a message) or o<number> (outgoing)")
    show.add_argument("--json", action="store_true", help="as JSON")
    again = sub.add_parser("requeue", help="try again from the step that failed")
    again.add_argument("ids", nargs="+", metavar="ID", help="m<number> or o<number>, as listed")
    again.add_argument("--actor", help="who asks, for the audit trail (default: your user name)")


def run(args: argparse.Namespace) -> int:
    with session_for(args) as (_config, session):
        if args.action == "list":
            projects = [p.strip().upper() for p in args.project] if args.project else None
            failures = list_failures(session, set_aside_only=args.set_aside, projects=projects)
            for f in failures:
                if args.json:
                    print_json(f.as_dict())
                    continue
                when = "set aside" if f.set_aside else f"retry {_short(f.next_attempt_at)}"
                print(
                    f"{f.key:<7} {f.where:<9} {when:<18} {f.attempts:>2}×  "
                    f"{_one_line(f.error, 60):<60}  {_one_line(f.about, 50)}"
                )
            if not failures and not args.json:
                print("nothing has failed")
        elif args.action == "show":
            detail = show_failure(session, args.id)
            if args.json:
                print_json({**detail.failure.as_dict(), "history": detail.history})
                return 0
            f = detail.failure
            print(f"{f.key}  {f.kind}  {f.about}  (project: {f.project or 'none'})")
            print(f"failed at: {f.where}   attempts: {f.attempts}")
            print(
                "set aside: waits for a person"
                if f.set_aside
                else f"next try: {_short(f.next_attempt_at)}"
            )
            print(f"error: {f.error}")
            if f.kind == "message":
                print(f"original: mailbot messages --raw {f.id} > original.eml")
            for event in detail.history:
                print(
                    f"  {event['at']}  {event['kind']:<13} "
                    f"{json.dumps(event['detail'], ensure_ascii=False)[:120]}"
                )
            print(f"to try again: mailbot failed requeue {f.key}")
        else:
            actor = args.actor or default_actor()
            done = requeue(session, args.ids, actor=actor, now=datetime.now(UTC))
            print(
                f"requeued {', '.join(done)}: the running daemon (or the next "
                "`mailbot run --once`) takes them from the step that failed"
            )
    return 0


def _short(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
