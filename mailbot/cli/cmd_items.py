"""`mailbot items`: the filed items, for people and scripts."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from mailbot.cli.common import database, load, print_json
from mailbot.items.views import item_summary
from mailbot.storage.models import Item, StoredMessage

NAME = "items"
HELP = "list filed items (--json for scripts)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--project", help="only this project's items (TRIAGE: unassigned)")


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.queue.common import now as clock
    from mailbot.cli.queue.render import print_items

    config = load(args)
    db = database(config)
    now = clock()
    rows = []
    try:
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
                summary = item_summary(item, config, now)
                rows.append({**summary, "message_ids": members.get(item.id, [])})
    finally:
        db.dispose()
    if args.json:
        for record in rows:
            print_json(record)
    else:
        print_items(rows, now)  # the table of `queue list`, closed items included
    return 0
