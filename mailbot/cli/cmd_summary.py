"""`mailbot summary`: preview, send or release a project's weekly client progress summary."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mailbot.cli.cmd_queue import default_actor
from mailbot.cli.common import database, load, print_json

if TYPE_CHECKING:
    from mailbot.reports.mail import Outcome

NAME = "summary"
HELP = (
    "preview, send, hold or release a project's weekly progress report to the client "
    "(it covers the last whole week, Monday to Sunday)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--project", metavar="KEY", help="the project, e.g. ACME")
    target.add_argument(
        "--release", metavar="KEY", help="send the summary held for this project (summary_hold)"
    )
    target.add_argument(
        "--hold",
        metavar="KEY",
        help="keep this period's summary of the project back until --release (before it is sent)",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--preview", action="store_true", help="print it; send and record nothing (the default)"
    )
    action.add_argument(
        "--send", action="store_true", help="queue it now and record it for the period"
    )
    parser.add_argument(
        "--period",
        metavar="YYYY-Www",
        help="the ISO week reported on (default: the last whole week)",
    )
    parser.add_argument(
        "--note",
        metavar="TEXT",
        help="with --hold: your own words, first in the report (an empty text removes them)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--actor", help="who holds or releases it, for the audit trail (default: you)"
    )


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mailbot.outgoing.delivery import deliver_outbox
    from mailbot.reports import summary

    config = load(args)
    db = database(config)
    now = datetime.now(UTC)
    project = config.require_project(args.release or args.hold or args.project, summary.ReportError)
    actor = args.actor or default_actor()
    if args.hold:
        with db.session() as session:
            if args.note is not None:
                outcome = summary.set_summary_note(
                    session, config, project, now, args.note, period=args.period, actor=actor
                )
            else:
                outcome = summary.hold_summary(
                    session, config, project, now, period=args.period, actor=actor
                )
        if args.json:
            print_json(outcome.as_dict())
        else:
            print(_describe(outcome))
        return 0
    if args.release or args.send:
        if args.release:
            outcome = summary.release_summary(
                db, config, project, now, period=args.period, actor=actor
            )
        else:
            outcome = summary.make_summary(db, config, project, now, period=args.period)
        if outcome.outbox_id is not None and outcome.result in ("queued", "released"):
            deliver_outbox(db, config)  # a person asked for it now; the daemon would retry
        if args.json:
            print_json(outcome.as_dict())
        else:
            print(_describe(outcome))
        if outcome.result == "skipped" and "no client contacts" in outcome.detail:
            return 1
        return 0
    found = summary.preview_summary(db, config, project, now, period=args.period)
    if args.json:
        subject, rendered = summary.render_summary(config, found)
        print_json({**found.as_dict(), "subject": subject, "text": rendered.text})
        return 0
    if found.empty:
        print(f"nothing to report for {project.key} in {found.period}: no mail would be sent")
        return 0
    subject, rendered = summary.render_summary(config, found)
    sys.stdout.write(
        f"To: {', '.join(found.recipients) or '(no client contacts)'}\n"
        f"Subject: {subject}\nLanguage: {rendered.language_used}\n\n{rendered.text}"
    )
    return 0


def _describe(outcome: Outcome) -> str:
    where = f"summary {outcome.period} for {outcome.scope}"
    if outcome.result == "exists" and outcome.detail == "held already":
        return f"the {where} is held already: mailbot summary --release {outcome.scope}"
    if outcome.result == "exists":
        return f"the {where} was already sent ({outcome.detail}); nothing to do"
    if outcome.result == "skipped":
        return f"the {where} was not sent: {outcome.detail}"
    if outcome.result == "held" and outcome.detail == "note saved":
        return f"your note is in the held {where}: mailbot summary --project {outcome.scope}"
    if outcome.result == "held":
        return f"the {where} is held for release: mailbot summary --release {outcome.scope}"
    return f"the {where} was {outcome.result} to {outcome.detail}"
