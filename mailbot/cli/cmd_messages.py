"""`mailbot messages`: what is stored, for people and scripts."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from mailbot.cli.common import database, load, print_json
from mailbot.errors import MailbotError
from mailbot.message import clean_text
from mailbot.storage.models import Blob, MessageState, StoredMessage

NAME = "messages"
HELP = "list stored messages (--json for scripts), or write one original with --raw ID"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--state", choices=MessageState.ALL, help="only messages in this state")
    parser.add_argument("--limit", type=int, default=0, help="at most this many (newest first)")
    parser.add_argument(
        "--raw", type=int, metavar="ID", help="write the original bytes of message ID to stdout"
    )


def message_dict(row: StoredMessage) -> dict[str, object]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "from": row.from_email,
        "subject": row.subject,
        "date": row.sent_at.isoformat() if row.sent_at else None,
        "state": row.state,
        "error": row.error,
        "attempts": row.attempts,
        "sha256": row.sha256,
        "account": row.account,
        "folder": row.folder,
        "category": row.category,
        "confidence": row.confidence,
        "needs_review": row.needs_review,
        "escalate": row.escalate,
        "language": row.language,
        "model_version": row.model_version,
        "verdict": row.verdict,
        "item_id": row.item_id,
        "route": row.route,
        "signals": row.signals,
        "defects": row.defects,
        "new_text": row.new_text,
    }


def run(args: argparse.Namespace) -> int:
    config = load(args)
    db = database(config)
    with db.session() as session:
        if args.raw is not None:
            row = session.get(StoredMessage, args.raw)
            if row is None:
                raise MailbotError(
                    f"no message with id {args.raw}", "list them with mailbot messages"
                )
            blob = session.get(Blob, row.sha256)
            assert blob is not None
            sys.stdout.buffer.write(blob.data)
            return 0
        query = select(StoredMessage).order_by(StoredMessage.id.desc())
        if args.state:
            query = query.where(StoredMessage.state == args.state)
        if args.limit:
            query = query.limit(args.limit)
        rows = list(session.scalars(query))
        for row in reversed(rows):
            if args.json:
                print_json(message_dict(row))
            else:
                print(
                    f"{row.id:>6}  {row.state:<9}  {clean_text(row.from_email or '-')[:30]:<30}  "
                    f"{clean_text(row.subject or '')[:60]}"
                )
    return 0
