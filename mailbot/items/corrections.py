"""Corrections teach the model: a PM's reclassification becomes a labelled training example.

Only category corrections are examples for the classifier; project moves are kept
in the database (and in the audit trail) but say nothing about the category.
When one message was corrected more than once, the latest correction wins.

The export is the JSONL training format of `mailbot model train`:

    {"text": "<subject>\\n<new text>", "label": "change_request", "lang": "en",
     "source": "correction", "id": "correction-<message number>"}

The id is stable per message, so the hash-based train/dev/test split of a message
never changes between exports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.items.lifecycle import LIFECYCLES
from mailbot.storage.models import Correction

if TYPE_CHECKING:
    from mailbot.triage.data import Record

SOURCE = "correction"


def latest_category_corrections(session: Session) -> list[Correction]:
    """The newest category correction per message (or per correction without a message)."""
    rows = session.scalars(
        select(Correction).where(Correction.field == "category").order_by(Correction.id)
    )
    latest: dict[object, Correction] = {}
    for row in rows:
        if row.new_value not in LIFECYCLES or not row.text.strip():
            continue  # not a category the classifier learns, or nothing to learn from
        key = row.message_pk if row.message_pk is not None else f"c{row.id}"
        latest[key] = row
    return sorted(latest.values(), key=lambda c: c.id)


def _example_id(row: Correction) -> str:
    return f"{SOURCE}-{row.message_pk}" if row.message_pk is not None else f"{SOURCE}-c{row.id}"


def correction_examples(session: Session) -> Iterator[dict[str, Any]]:
    """One training example (a dict in the JSONL format) per corrected message."""
    for row in latest_category_corrections(session):
        yield {
            "text": row.text,
            "label": row.new_value,
            "lang": row.language or "",
            "source": SOURCE,
            "id": _example_id(row),
        }


def write_corrections(session: Session, out: IO[str]) -> int:
    """Write the examples as JSONL to an open text file; returns how many."""
    count = 0
    for example in correction_examples(session):
        out.write(json.dumps(example, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_corrections(session: Session, path: Path) -> int:
    """Write every category correction to `path` as JSONL (replacing it); returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        count = write_corrections(session, handle)
    tmp.replace(path)  # a crash never leaves half a training file behind
    return count


def correction_records(session: Session) -> list[Record]:
    """The corrections as `mailbot.triage.data.Record`s, to add to training data in memory."""
    from mailbot.triage.data import Record

    return [
        Record(
            id=example["id"],
            label=example["label"],
            subject="",
            body=example["text"],
            lang=example["lang"],
            source=f"{SOURCE}:{example['id']}",
        )
        for example in correction_examples(session)
    ]
