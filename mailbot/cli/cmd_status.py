"""`mailbot status`: what this installation is doing, from the database alone (no servers)."""

from __future__ import annotations

import argparse

NAME = "status"
HELP = "answer mode, last fetch, queue, outbox and breakers at a glance (reads the database only)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the lines as JSON")


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mailbot.cli.cmd_doctor import render_table
    from mailbot.cli.common import database, load, print_json
    from mailbot.items.views import QueueFilter, list_items
    from mailbot.ops.checks import PASS, WARN, Check
    from mailbot.ops.health import (
        check_answer_mode,
        check_breakers,
        check_fetches,
        check_outbox,
    )

    config = load(args)
    now = datetime.now(UTC)
    db = database(config)
    try:
        checks = check_answer_mode(config, now)
        checks += check_fetches(config, db, now)
        with db.session() as session:
            open_items = list_items(session, config, QueueFilter(), now)
        review = sum(item.needs_review for item in open_items)
        escalated = sum(item.escalate for item in open_items)
        checks.append(
            Check(
                "queue",
                "items",
                WARN if review or escalated else PASS,
                f"{len(open_items)} open, {review} to review, {escalated} escalated",
                "see them with `mailbot queue list --needs-review` or in the web workspace",
            )
        )
        checks += check_outbox(db, now)
        checks += check_breakers(db, now)
    finally:
        db.dispose()
    if args.json:
        for check in checks:
            print_json(check.to_dict())
    else:
        print(render_table(checks))
    return 0
