"""`mailbot digest`: preview or send today's PM digest."""

from __future__ import annotations

import argparse
import sys

from mailbot.cli.common import database, load, print_json

NAME = "digest"
HELP = "preview or send today's PM digest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--preview", action="store_true", help="print it; send and record nothing (the default)"
    )
    action.add_argument("--send", action="store_true", help="queue it now and record it for today")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mailbot.outgoing.delivery import deliver_outbox
    from mailbot.reports import digest

    config = load(args)
    db = database(config)
    now = datetime.now(UTC)
    if not digest.digest_recipients(config):
        print(
            "nobody gets a digest: set pm for a project, or schedules.digest_to",
            file=sys.stderr,
        )
        return 1
    if args.send:
        outcomes = digest.make_digests(db, config, now)
        if any(o.result == "queued" for o in outcomes):
            deliver_outbox(db, config)
        for outcome in outcomes:
            if args.json:
                print_json(outcome.as_dict())
            elif outcome.result == "exists":
                print(f"the digest {outcome.period} for {outcome.scope} was already sent")
            elif outcome.result == "failed":
                print(f"the digest for {outcome.scope} failed: {outcome.detail}")
            else:
                print(f"the digest {outcome.period} was queued for {outcome.scope}")
        return 1 if any(o.result == "failed" for o in outcomes) else 0
    for found in digest.preview_digests(db, config, now):
        subject, rendered = digest.render_digest(config, found)
        if args.json:
            print_json({**found.as_dict(), "subject": subject, "text": rendered.text})
        else:
            sys.stdout.write(f"To: {found.recipient}\nSubject: {subject}\n\n{rendered.text}\n")
    return 0
