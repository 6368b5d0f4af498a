"""A Maildir bot running the real pipeline with the shipped filing hooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, ProjectConfig, SiteConfig
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import open_database
from mailbot.storage.models import Event, Item, OutboxMail
from tests.support.fake_triage import SubjectTriage
from tests.support.pipeline import make_pipeline

ACME = ProjectConfig(
    key="ACME",
    name="ACME web shop",
    client_domains=("acme.example",),
    pm="pm@agency.example",
    pm_name="Lena Wu",
    vip_addresses=("ceo@acme.example",),
)
HX = ProjectConfig(
    key="HX", name="华信物流", client_domains=("huaxin.example",), language="zh-Hans"
)


class Bot:
    """Mail in through a Maildir, the real pipeline, mail out as .eml files."""

    def __init__(self, tmp_path: Path, *projects: ProjectConfig) -> None:
        self.root = tmp_path / "Maildir"
        ensure_maildir(self.root)
        box = MailboxConfig(name="local", kind="maildir", path=self.root, folders=Folders())
        self.config = Config(
            mailboxes=(box,),
            database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
            projects=projects or (ACME, HX),
            site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
            outbox_dir=tmp_path / "outbox",
        )
        self.db = open_database(self.config.database_url)
        self.n = 0
        self.seen: set[Path] = set()

    def deliver(
        self,
        sender: str,
        subject: str,
        body: str = "Text.",
        *,
        reply_to: int | None = None,
        date: datetime | None = None,
        answering: str | None = None,
    ) -> int:
        """Drop a client mail into the Maildir; returns its number (Message-ID <mN@client>).

        `reply_to=N` answers the client's mail N; `answering` is the Message-ID of our mail
        the client replies to (as a mail program does when the client clicks Reply on it).
        """
        self.n += 1
        msg = EmailMessage(policy=policy.SMTP)
        msg["From"] = sender
        msg["To"] = "team@agency.example"
        msg["Subject"] = subject
        msg["Message-ID"] = f"<m{self.n}@client>"
        msg["Date"] = format_datetime(date or datetime.now(UTC))
        if reply_to is not None:
            msg["In-Reply-To"] = answering or f"<m{reply_to}@client>"
            msg["References"] = f"<m{reply_to}@client>" + (f" {answering}" if answering else "")
        msg.set_content(body)
        (self.root / "new" / f"{self.n}.M{self.n}.host").write_bytes(bytes(msg))
        return self.n

    def run(self) -> list[EmailMessage]:
        """One pass; returns the mails written to the outbox folder since the last pass."""
        make_pipeline(
            self.config,
            self.db,
            triage=SubjectTriage(),
            deliver=lambda: self.send(),
        ).run_once()
        return self.new_mail()

    def send(self) -> None:
        deliver_outbox(self.db, self.config)
        # As if sent an hour ago: a client answering within two minutes looks like a robot
        # to the acknowledgement breaker, and a test's client answers at once.
        with self.db.session() as s:
            s.execute(
                update(OutboxMail)
                .where(OutboxMail.sent_at.is_not(None))
                .values(sent_at=datetime.now(UTC) - timedelta(hours=1))
            )

    def new_mail(self) -> list[EmailMessage]:
        folder = self.config.outbox_dir or Path()
        fresh = sorted(p for p in folder.glob("*.eml") if p not in self.seen)
        self.seen.update(fresh)
        return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in fresh]  # type: ignore[misc]

    def item(self, ref: str) -> Item:
        with self.db.session() as s:
            item = s.scalars(select(Item).where(Item.ref == ref)).one()
            s.expunge(item)
            return item

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [e.detail for e in s.scalars(select(Event).where(Event.kind == kind))]

    def outbox(self, kind: str) -> list[OutboxMail]:
        with self.db.session() as s:
            rows = list(s.scalars(select(OutboxMail).where(OutboxMail.kind == kind)))
            s.expunge_all()
            return rows


def body(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    robot = Bot(tmp_path)
    yield robot
    robot.db.dispose()


def replace(project: ProjectConfig, **changes: Any) -> ProjectConfig:
    return dataclasses.replace(project, **changes)
