"""`mailbot queue list`: the items waiting for the team, filtered, as a table or JSON."""

from __future__ import annotations

import argparse

NAME = "list"
TABLE_LIMIT = 100  # a table longer than this scrolls off any terminal; JSON lists all
HELP = "list open items (filters: project, category, status, review, escalated, age, search, SLA)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", help="only this project (TRIAGE: not yet assigned)")
    parser.add_argument(
        "--category", choices=("issue", "change_request", "feedback"), help="only this category"
    )
    parser.add_argument("--status", help="only items in this status (closed ones too)")
    parser.add_argument("--needs-review", action="store_true", help="triage was not sure")
    parser.add_argument("--escalated", action="store_true", help="escalated items only")
    parser.add_argument(
        "--sender",
        choices=("unverified", "suspicious"),
        help="items with mail from a sender nothing proves (unverified), or who is possibly "
        "someone else (suspicious: failed or look-alike)",
    )
    parser.add_argument(
        "--unassigned", action="store_true", help="items not yet filed to a project (TRIAGE)"
    )
    parser.add_argument("--older-than", metavar="AGE", help="created before AGE ago: 12h, 3d, 2w")
    parser.add_argument("--search", metavar="TEXT", help="in titles and the messages' new text")
    parser.add_argument(
        "--overdue", action="store_true", help="first-response SLA breached, nobody answered yet"
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help=f"show N items (the table: {TABLE_LIMIT} unless given; 0: all)",
    )
    parser.add_argument("--page", type=int, default=1, metavar="P", help="the P-th N items")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--open", action="store_true", help="open items only (the default)")
    state.add_argument("--all", action="store_true", help="closed and merged items too")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import now, session_for
    from mailbot.items.actions import ActionError
    from mailbot.items.views import (
        QueueFilter,
        count_items,
        item_summary,
        list_items,
        parse_age,
    )

    filters = QueueFilter(
        project=args.project,
        category=args.category,
        status=args.status,
        needs_review=args.needs_review,
        escalated=args.escalated,
        unassigned=args.unassigned,
        older_than=parse_age(args.older_than) if args.older_than else None,
        search=args.search,
        overdue=args.overdue,
        include_closed=args.all,
        sender=args.sender,
    )
    if (args.limit is not None and args.limit < 0) or args.page < 1:
        raise ActionError(
            "--limit and --page must be positive", "e.g. --limit 50 --page 2; --limit 0 shows all"
        )
    limit = args.limit if args.limit is not None else (None if args.json else TABLE_LIMIT)
    limit = limit or None  # 0: all
    offset = (args.page - 1) * limit if limit else 0
    moment = now()
    with session_for(args) as (config, session):
        items = list_items(session, config, filters, moment, limit=limit, offset=offset)
        rows = [item_summary(i, config, moment) for i in items]
        total = count_items(session, config, filters, moment) if limit else len(rows)
    if args.json:
        from mailbot.cli.common import print_json

        print_json(rows)
        return 0
    from mailbot.cli.queue.render import print_items

    print_items(rows, moment)
    if limit and total > offset + len(rows):
        shown = f"{offset + 1}-{offset + len(rows)}" if rows else "none"
        print(
            f"{shown} of {total} shown: --page {args.page + 1} for the next {limit}, "
            "--limit 0 for all"
        )
    return 0
