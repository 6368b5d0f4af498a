"""`mailbot queue show REF`: an item, its messages with verdicts and routes, its history."""

from __future__ import annotations

import argparse

NAME = "show"
HELP = "show one item: messages, triage reasons, routing and the audit trail"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="REF", help="item reference, e.g. ACME-42 (old refs work)")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import now, session_for
    from mailbot.items.actions import find_item
    from mailbot.items.views import item_detail

    moment = now()
    with session_for(args) as (config, session):
        detail = item_detail(session, config, find_item(session, args.ref), moment)
    if args.json:
        from mailbot.cli.common import print_json

        print_json(detail)
    else:
        from mailbot.cli.queue.render import print_detail

        print_detail(detail, now=moment)
    return 0
