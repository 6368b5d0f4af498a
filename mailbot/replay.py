"""`mailbot replay`: what mailbot would do with an archive of mail, changing nothing.

The archive (a Maildir or an mbox file) is only read. Its messages are
copied into a throw-away Maildir next to a throw-away SQLite database and
outbox folder; the real pipeline (`build_pipeline(...).run_once()`) runs there
with the real config's projects, site, acknowledgements and triage, but never
its database, mailboxes or SMTP server. Nothing is sent.

PM-corrected labels (a header `X-Mailbot-Label`, or a CSV of
`message_id,label`) turn the report into an evaluation: a confusion table and
the accuracy.
"""

from __future__ import annotations

import csv
import logging
import mailbox
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from email import message_from_bytes
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig
from mailbot.errors import MailbotError
from mailbot.storage.store import sha256_of

log = logging.getLogger("mailbot.replay")

LABEL_HEADER = "X-Mailbot-Label"
LABELS = ("issue", "change_request", "feedback", "none")
REPLAY_MAILBOX = "replay"


class ReplayError(MailbotError):
    code = "MB700"


@dataclass(frozen=True, slots=True)
class ArchivedMail:
    """One message of the archive: where it was, its bytes and its label if it has one."""

    source: str  # file name (Maildir) or "mbox#N"
    data: bytes
    label: str | None = None


@dataclass
class ReplayRow:
    """What happened to one archived message in the dry run."""

    source: str
    message_id: str | None
    subject: str | None
    outcome: str  # "filed", "noise", "failed", "duplicate"
    category: str | None = None
    confidence: float | None = None
    project: str | None = None
    item: str | None = None
    new_item: bool = False
    ack: bool = False
    ack_language: str | None = None
    ack_reason: str | None = None
    label: str | None = None
    error: str | None = None


@dataclass
class ReplayReport:
    rows: list[ReplayRow] = field(default_factory=list)

    @property
    def labelled(self) -> list[ReplayRow]:
        return [r for r in self.rows if r.label is not None and r.outcome != "duplicate"]

    def totals(self) -> dict[str, Any]:
        rows = [r for r in self.rows if r.outcome != "duplicate"]
        return {
            "messages": len(self.rows),
            "duplicates": len(self.rows) - len(rows),
            "failed": sum(r.outcome == "failed" for r in rows),
            "categories": dict(Counter(r.category or "-" for r in rows if r.outcome != "failed")),
            "new_items": sum(r.new_item for r in rows),
            "follow_ups": sum(r.outcome == "filed" and not r.new_item for r in rows),
            "acknowledgements": sum(r.ack for r in rows),
            "ack_languages": dict(Counter(r.ack_language or "?" for r in rows if r.ack)),
        }

    def confusion(self) -> dict[str, dict[str, int]]:
        """Rows: the true label; columns: the predicted category ("-" when none)."""
        table: dict[str, dict[str, int]] = {}
        for row in self.labelled:
            assert row.label is not None
            cells = table.setdefault(row.label, {})
            predicted = row.category or "-"
            cells[predicted] = cells.get(predicted, 0) + 1
        return table

    def accuracy(self) -> float | None:
        rows = self.labelled
        return sum(r.category == r.label for r in rows) / len(rows) if rows else None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "messages": [asdict(r) for r in self.rows],
            "totals": self.totals(),
        }
        if self.labelled:
            result["evaluation"] = {
                "labelled": len(self.labelled),
                "accuracy": self.accuracy(),
                "confusion": self.confusion(),
            }
        return result


# --- reading the archive (read-only) ---------------------------------------------------------


def read_maildir(root: Path) -> list[ArchivedMail]:
    """Every message in new/ and cur/ of a Maildir, oldest file name first."""
    if not (root / "cur").is_dir() and not (root / "new").is_dir():
        raise ReplayError(
            f"{root} is not a Maildir (it has no cur/ or new/ folder)",
            "point --maildir at the folder that contains cur/ and new/",
        )
    paths = sorted(
        (p for sub in ("new", "cur") if (root / sub).is_dir() for p in (root / sub).iterdir()),
        key=lambda p: p.name,
    )
    return [_archived(p.name, p.read_bytes()) for p in paths if p.is_file()]


def read_mbox(path: Path) -> list[ArchivedMail]:
    """Every message of an mbox file, in file order."""
    if not path.is_file():
        raise ReplayError(f"{path} is not a file", "point --mbox at an mbox file")
    # create=False: a missing file is an error, never an empty new mbox.
    box = mailbox.mbox(str(path), create=False)
    try:
        return [_archived(f"mbox#{i + 1}", box.get_bytes(key)) for i, key in enumerate(box.keys())]
    finally:
        box.close()


def _archived(source: str, data: bytes) -> ArchivedMail:
    label = BytesHeaderParser(policy=default_policy).parsebytes(data).get(LABEL_HEADER)
    return ArchivedMail(source, data, _label(str(label), source) if label else None)


def _label(value: str, where: str) -> str:
    label = value.strip().lower().replace("-", "_").replace(" ", "_")
    if label not in LABELS:
        raise ReplayError(
            f"{where}: label {value!r} is not one of {', '.join(LABELS)}",
            "fix the label (X-Mailbot-Label header or --labels file)",
        )
    return label


def read_labels(path: Path) -> dict[str, str]:
    """A CSV of message_id,label (a header row is allowed); Message-IDs with or without <>."""
    labels: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, line in enumerate(csv.reader(handle), start=1):
                if not line or not line[0].strip() or line[0].strip().lower() == "message_id":
                    continue
                if len(line) < 2:
                    raise ReplayError(
                        f"{path}:{number}: expected message_id,label", "fix that line"
                    )
                labels[_bare_id(line[0])] = _label(line[1], f"{path}:{number}")
    except OSError as err:
        raise ReplayError(
            f"cannot read {path}: {err.strerror}", "check the --labels path"
        ) from None
    return labels


def _bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def apply_labels(mails: list[ArchivedMail], labels: dict[str, str]) -> list[ArchivedMail]:
    """Labels from the CSV win over the header; matched by Message-ID."""
    if not labels:
        return mails
    result = []
    for mail in mails:
        mid = message_from_bytes(mail.data).get("Message-ID")
        label = labels.get(_bare_id(str(mid))) if mid else None
        result.append(replace(mail, label=label) if label else mail)
    return result


# --- the dry run -------------------------------------------------------------------------------


def dry_run_config(config: Config, workdir: Path) -> Config:
    """The real config with its mailboxes, database and sending swapped for throw-away ones."""
    inbox = workdir / "inbox"
    box = MailboxConfig(name=REPLAY_MAILBOX, kind="maildir", path=inbox, folders=Folders())
    return replace(
        config,
        mailboxes=(box,),
        database_url=f"sqlite:///{workdir / 'replay.sqlite3'}",
        smtp=None,
        outbox_dir=workdir / "outbox",
        schedules=replace(config.schedules, enabled=False),  # no digests or summaries either
    )


def replay(mails: list[ArchivedMail], config: Config) -> ReplayReport:
    """Run the pipeline over `mails` in a temporary workspace and report what it did."""
    from mailbot.app import build_pipeline
    from mailbot.sources.maildir import ensure_maildir
    from mailbot.storage.db import open_database

    with tempfile.TemporaryDirectory(prefix="mailbot-replay-") as tmp:
        workdir = Path(tmp)
        dry = dry_run_config(config, workdir)
        inbox = workdir / "inbox"
        ensure_maildir(inbox)
        for i, mail in enumerate(mails):
            # Sortable unique names, so the Maildir source sees the archive's order.
            (inbox / "new" / f"{i:08d}.replay").write_bytes(mail.data)
        db = open_database(dry.database_url)
        try:
            build_pipeline(dry, db).run_once()
            return ReplayReport(_collect(db, mails))
        finally:
            db.dispose()


def _collect(db: Any, mails: list[ArchivedMail]) -> list[ReplayRow]:
    from mailbot.storage.models import Event, Item, OutboxMail, StoredMessage

    rows = []
    seen: set[str] = set()
    with db.session() as session:
        for mail in mails:
            digest = sha256_of(mail.data)
            stored = session.scalar(select(StoredMessage).where(StoredMessage.sha256 == digest))
            if digest in seen:  # the same bytes twice: mailbot stores and answers them once
                rows.append(ReplayRow(mail.source, None, None, "duplicate", label=mail.label))
                continue
            if stored is None:
                rows.append(ReplayRow(mail.source, None, None, "failed", error="not stored"))
                continue
            seen.add(digest)
            row = ReplayRow(
                mail.source,
                stored.message_id,
                stored.subject,
                "failed" if stored.error else "filed",
                category=stored.category,
                confidence=stored.confidence,
                label=mail.label,
                error=stored.error,
            )
            events = session.scalars(
                select(Event).where(Event.message_pk == stored.id).order_by(Event.id)
            ).all()
            for event in events:
                if event.kind == "noise":
                    row.outcome = "noise"
                    row.ack_reason = "noise is never answered"
                elif event.kind == "filed":
                    row.new_item = bool(event.detail.get("new_item"))
                elif event.kind == "answered" and row.outcome != "noise":
                    row.ack_reason = str(event.detail.get("ack", ""))
            if stored.item_id is not None:
                item = session.get(Item, stored.item_id)
                if item is not None:
                    row.item, row.project = item.ref, item.project_key
            ack = session.scalar(
                select(OutboxMail).where(
                    OutboxMail.message_pk == stored.id, OutboxMail.kind == "ack"
                )
            )
            if ack is not None:
                row.ack = True
                row.ack_language = message_from_bytes(ack.raw).get("Content-Language")
            rows.append(row)
    return rows
