"""`mailbot items`: the filed items, for people and scripts."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from sqlalchemy import select

from mailbot.cli.common import database, load, print_json
from mailbot.items.views import item_summary
from mailbot.message import clean_text
from mailbot.storage.models import Item, StoredMessage

NAME = "items"
HELP = "list filed items (--json for scripts)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--project", help="only this project's items (TRIAGE: unassigned)")


def run(args: argparse.Namespace) -> int:
    config = load(args)
    db = database(config)
    now = datetime.now(UTC)
    with db.session() as session:
        query = select(Item).order_by(Item.id)
        if args.project:
            query = query.where(Item.project_key == args.project)
        items = list(session.scalars(query))
        members: dict[int, list[str]] = {}
        for item_id, message_id in session.execute(
            select(StoredMessage.item_id, StoredMessage.message_id)
            .where(StoredMessage.item_id.in_([i.id for i in items]))
            .order_by(StoredMessage.id)
        ):
            members.setdefault(item_id, []).append(message_id)
        for item in items:
            record = {**item_summary(item, config, now), "message_ids": members.get(item.id, [])}
            if args.json:
                print_json(record)
            else:
                flags = ("!" if item.escalate else " ") + ("?" if item.needs_review else " ")
                print(
                    f"{item.ref:<12} {flags} {item.category:<15} {item.status:<13} "
                    f"{clean_text(item.client_email or '-')[:28]:<28} {clean_text(item.title)[:50]}"
                )
    return 0
