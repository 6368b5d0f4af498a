"""`explain`: every stage's decision for one mail, without keeping anything.

The mail goes through the real stages — parse, classify, route and file with the filing
hooks, answer — in one database transaction that is rolled back at the end, so what is
shown is what `mailbot run` would do with it now, against the items already filed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mailbot.config import Config
from mailbot.pipeline.file import Acknowledger, FilingHook
from mailbot.pipeline.stages import (
    StageError,
    answer_one,
    file_one,
    parse_stored,
    record_parsed,
    verdict_fields,
)
from mailbot.pipeline.trust import TrustChecks, apply, record
from mailbot.storage.db import Database
from mailbot.storage.models import Blob, Event, Item, MessageState, OutboxMail, StoredMessage

if TYPE_CHECKING:
    from mailbot.triage import Triage


@dataclass
class Explanation:
    """What each stage decided, in order; `stopped` names the stage that could not go on."""

    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"stages": self.stages, "stopped": self.stopped}


def explain(
    config: Config,
    db: Database,
    data: bytes,
    *,
    triage: Triage | None,
    acknowledger: Acknowledger | None,
    hooks: Sequence[FilingHook],
    trust: TrustChecks | None = None,
) -> Explanation:
    result = Explanation()
    try:
        message = parse_stored(data)
    except StageError as err:
        result.stages["parse"] = {"ok": False, "error": err.message}
        result.stopped = "parse"
        return result
    result.stages["parse"] = {
        "ok": True,
        "message_id": message.message_id,
        "from": str(message.from_) if message.from_ else None,
        "subject": message.subject,
        "body_source": message.body_source,
        "new_text": message.new_text[:500],
        "signals": list(message.signals.reasons),
        "defects": list(message.defects),
    }
    verdict = triage.classify(message) if triage is not None else None
    sha = hashlib.sha256(data).hexdigest()
    with db.scratch() as session:
        existing = session.scalar(select(StoredMessage).where(StoredMessage.sha256 == sha))
        if existing is not None:
            # Stored already: what mailbot decided then, as recorded with the message.
            result.stages["store"] = {
                "duplicate_of": existing.id,
                "note": "these exact bytes are stored already: shown is what was decided then",
                "state": existing.state,
            }
            result.stages["classify"] = {
                **(existing.verdict or {"category": None}),
                "sender": existing.sender_check,
                "spam": existing.spam_check,
            }
            item = session.get(Item, existing.item_id) if existing.item_id else None
            result.stages["route"] = dict(existing.route or {"step": "noise", "explanation": []})
            result.stages["file"] = {
                "item": item.ref if item else None,
                "status": item.status if item else None,
                "notes": _events(session, existing.id, "filed", "notes"),
            }
            answered = session.scalars(
                select(Event).where(Event.message_pk == existing.id, Event.kind == "answered")
            ).first()
            result.stages["answer"] = {
                "decision": answered.detail.get("ack") if answered else None,
                "checks": answered.detail.get("checks", []) if answered else [],
            }
            return result
        session.add(Blob(sha256=sha, size=len(data), data=data))
        row = StoredMessage(
            sha256=sha, account="explain", folder="-", state=MessageState.CLASSIFIED, attempts=0
        )
        record_parsed(row, message)
        checked = trust.check(session, row, data, message) if trust is not None else None
        if checked is not None:
            record(row, checked)
            verdict = apply(verdict, checked, message)
        result.stages["classify"] = {
            **(verdict.to_dict() if verdict else {"category": None, "note": "triage is off"}),
            "sender": checked.sender.to_dict() if checked else None,
            "spam": checked.spam.to_dict() if checked else None,
        }
        if verdict is not None:
            for key, value in verdict_fields(verdict).items():
                setattr(row, key, value)
        session.add(row)
        session.flush()
        filed_as = file_one(session, config, row, message, hooks)
        item = session.get(Item, row.item_id) if row.item_id else None
        result.stages["route"] = dict(row.route or {"step": "noise", "explanation": []})
        result.stages["file"] = {
            "outcome": filed_as,
            "item": item.ref if item else None,
            "new_item": bool((row.route or {}).get("new_item")),
            "status": item.status if item else None,
            "notes": _events(session, row.id, "filed", "notes"),
        }
        decision = answer_one(session, row, message, acknowledger)
        queued = session.scalars(
            select(OutboxMail).where(OutboxMail.message_pk == row.id).order_by(OutboxMail.id)
        ).all()
        result.stages["answer"] = {
            "decision": decision,
            "checks": _events(session, row.id, "answered", "checks"),
            "mail": [{"kind": o.kind, "to": list(o.rcpt_to), "subject": o.subject} for o in queued],
        }
    return result


def _events(session: Any, message_pk: int, kind: str, key: str) -> list[Any]:
    found = session.scalars(
        select(Event).where(Event.message_pk == message_pk, Event.kind == kind)
    ).all()
    return [note for e in found for note in e.detail.get(key, [])]
