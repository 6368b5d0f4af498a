"""The production pipeline for tests: `mailbot.app.build_pipeline`, with test doubles only
where a test names them (a triage, a delivery, a clock), and `MaildirBot`, which drives it
over a Maildir and reads back what it did."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal, Self

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import build_pipeline
from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, ProjectConfig, SiteConfig
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.outgoing.outbox import SendStats
from mailbot.pipeline.machine import Pipeline
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Event, Item, OutboxMail
from tests.support.databases import PostgresServer
from tests.support.fake_triage import SubjectTriage
from tests.support.prepared import Prepared, prepare_once

SUBJECT_TRIAGE = SubjectTriage()
ACME = ProjectConfig(
    key="ACME", name="ACME web shop", client_domains=("acme.example",), pm="pm@agency.example"
)
SITE = SiteConfig(name="Agency", address="team@agency.example", domain="agency.example")


def make_pipeline(
    config: Config,
    db: Database,
    *,
    triage: Any = None,
    deliver: Callable[[], object] | None = None,
    stop_event: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Pipeline:
    """The pipeline exactly as `mailbot run` wires it; `triage=None` leaves triage off."""
    pipeline = build_pipeline(config, db, stop_event, triage=triage, deliver=deliver)
    if clock is not None:
        pipeline.clock = clock
    return pipeline


def utc_now() -> datetime:
    return datetime.now(UTC)


def _angle(message_id: str) -> str:
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def client_mail(
    sender: str,
    subject: str,
    body: str = "Text.",
    *,
    message_id: str,
    to: str = "team@agency.example",
    date: datetime | None = None,
    reply_to: str | None = None,
    answering: str | None = None,
    extra: str = "",
) -> bytes:
    """A plain-text mail as a client's mail program writes it (UTF-8, headers as given).

    `reply_to` is the Message-ID of the mail it answers (In-Reply-To and References);
    `answering` the Message-ID of our mail the client clicked Reply on, which then stands
    in In-Reply-To. `extra` is raw header lines ("Name: value\\r\\n"), written as they
    stand; `date=None` leaves the Date header out.
    """
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
    head += f"Message-ID: {_angle(message_id)}\r\n"
    if date is not None:
        head += f"Date: {format_datetime(date)}\r\n"
    if reply_to is not None or answering is not None:
        thread = [_angle(m) for m in (reply_to, answering) if m]
        head += f"In-Reply-To: {thread[-1]}\r\nReferences: {' '.join(thread)}\r\n"
    return (
        f"{head}{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}\r\n"
    ).encode()


class MaildirBot:
    """Client mail in through a Maildir, the production pipeline, our mail out as .eml files.

    The config: one Maildir mailbox in `folder`, SQLite at `folder/mb.sqlite3` (on a
    PostgreSQL run, a server database of its own), `projects`, the agency's site and the
    outbox directory `folder/outbox`; any other keyword is a `Config` field to change, or
    pass a whole `config` (say, loaded from a file). Each `run()` is one pass of
    `mailbot run --once` with `triage` (`SubjectTriage`: the category is in the subject)
    and, as its delivery step, `delivery` (default: `send()`, the outbox directory).
    `clock` is the pipeline's clock and the time `send()` delivers at.
    `date` is the Date of delivered mail: "now" reads the clock at each delivery, a
    datetime is the same for all, None leaves the header out. `message_ids` makes the
    Message-ID of the n-th mail delivered.
    """

    def __init__(
        self,
        folder: Path,
        *,
        projects: tuple[ProjectConfig, ...] = (ACME,),
        config: Config | None = None,
        triage: Any = SUBJECT_TRIAGE,
        delivery: Callable[[], object] | None = None,
        clock: Callable[[], datetime] = utc_now,
        date: datetime | Literal["now"] | None = "now",
        message_ids: str = "m{n}@client",
        **overrides: Any,
    ) -> None:
        self.folder = folder
        if config is None:
            box = MailboxConfig(
                name="local", kind="maildir", path=folder / "Maildir", folders=Folders()
            )
            config = Config(
                mailboxes=(box,),
                database_url=f"sqlite:///{folder}/mb.sqlite3",
                projects=projects,
                site=SITE,
                outbox_dir=folder / "outbox",
            )
        self.config = dataclasses.replace(config, **overrides)
        assert self.config.mailboxes[0].path is not None
        self.root = self.config.mailboxes[0].path  # the Maildir
        ensure_maildir(self.root)
        self.db = open_database(self.config.database_url)
        self.triage = triage
        self.delivery = delivery
        self.clock = clock
        self.date = date
        self.message_ids = message_ids
        self.n = 0  # mails delivered
        self.seen = set(self.outbox_files())

    # --- mail in ---------------------------------------------------------------------

    def message_id(self, n: int) -> str:
        """The Message-ID (no brackets) of the n-th mail delivered."""
        return self.message_ids.format(n=n)

    def deliver(
        self,
        sender: str,
        subject: str,
        body: str = "Text.",
        *,
        reply_to: int | str | None = None,
        answering: str | None = None,
        date: datetime | None = None,
        arrived: datetime | None = None,
        extra: str = "",
    ) -> int:
        """Drop a client mail into the Maildir; returns its number n (see `message_id`).

        `reply_to` answers mail number N, or the Message-ID given; `answering` is the
        Message-ID of our mail the client replies to; `date` replaces the bot's Date;
        `arrived` is when the mail reached the mailbox (the file's time); `extra` is raw
        header lines.
        """
        parent = self.message_id(reply_to) if isinstance(reply_to, int) else reply_to
        if date is None and self.date is not None:
            date = self.clock() if self.date == "now" else self.date
        data = client_mail(
            sender,
            subject,
            body,
            message_id=self.message_id(self.n + 1),
            date=date,
            reply_to=parent,
            answering=answering,
            extra=extra,
        )
        return self.deliver_bytes(data, arrived=arrived)

    def deliver_bytes(self, data: bytes, *, arrived: datetime | None = None) -> int:
        """Drop a whole mail into the Maildir as it stands; returns its number."""
        self.n += 1
        path = self.root / "new" / f"{self.n}.M{self.n}.host"
        path.write_bytes(data)
        if arrived is not None:
            os.utime(path, (arrived.timestamp(), arrived.timestamp()))
        return self.n

    # --- the pipeline ----------------------------------------------------------------

    def pipeline(self) -> Pipeline:
        """The production pipeline on this bot's config, database, triage and clock."""
        return make_pipeline(
            self.config,
            self.db,
            triage=self.triage,
            deliver=self.delivery or self.send,
            clock=self.clock,
        )

    def run(self) -> list[EmailMessage]:
        """One pass; returns the mails written to the outbox folder since the last look."""
        self.pipeline().run_once()
        return self.new_mail()

    def send(self, now: datetime | None = None) -> SendStats:
        """Deliver what the outbox has due at `now` (default: the clock) to the folder."""
        return deliver_outbox(self.db, self.config, now=now or self.clock())

    # --- mail out --------------------------------------------------------------------

    def outbox_files(self, kind: str = "*") -> list[Path]:
        """The .eml files written so far (named <id>-<kind>.eml), oldest first."""
        folder = self.config.outbox_dir
        return sorted(folder.glob(f"*-{kind}.eml")) if folder else []

    def new_mail(self) -> list[EmailMessage]:
        """The outbox files written since the last look, parsed."""
        fresh = [p for p in self.outbox_files() if p not in self.seen]
        self.seen.update(fresh)
        return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in fresh]  # type: ignore[misc]

    # --- the database ----------------------------------------------------------------

    def session(self) -> AbstractContextManager[Session]:
        return self.db.session()

    def items(self) -> list[Item]:
        with self.db.session() as s:
            return list(s.scalars(select(Item).order_by(Item.id)))

    def item(self, ref: str, session: Session | None = None) -> Item:
        """The item `ref`: in `session`, or read on its own."""
        if session is not None:
            return session.scalars(select(Item).where(Item.ref == ref)).one()
        with self.db.session() as s:
            return s.scalars(select(Item).where(Item.ref == ref)).one()

    def events(self, kind: str) -> list[dict[str, Any]]:
        """The details of the events of one kind, oldest first."""
        with self.db.session() as s:
            query = select(Event).where(Event.kind == kind).order_by(Event.id)
            return [e.detail for e in s.scalars(query)]

    def decisions(self) -> list[str]:
        """Why each mail was or was not acknowledged (the `answered` events)."""
        return [detail["ack"] for detail in self.events("answered")]

    def outbox(self, kind: str) -> list[OutboxMail]:
        """The outbox rows of one kind, oldest first."""
        with self.db.session() as s:
            query = select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)
            return list(s.scalars(query))

    # --- life ------------------------------------------------------------------------

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- state built once per session (tests/support/prepared.py) --------------------

    @classmethod
    def prepare(
        cls,
        tmp_path_factory: pytest.TempPathFactory,
        name: str,
        fill: Callable[[Self], object],
        server: PostgresServer | None,
    ) -> Prepared:
        """`fill` a new bot once, in a session folder, for `copied` to hand out."""

        def build(folder: Path) -> int:
            with cls(folder) as bot:
                fill(bot)
                return bot.n

        return prepare_once(tmp_path_factory, name, build, server)

    @classmethod
    @contextmanager
    def copied(cls, prepared: Prepared, folder: Path) -> Iterator[Self]:
        """A bot on an untouched copy of `prepared` in `folder` (inside a test)."""
        prepared.copy_to(folder)
        with cls(folder) as bot:
            bot.n = prepared.mails
            yield bot
