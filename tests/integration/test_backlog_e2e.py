"""A first start on an inbox with two weeks of history, on a real Dovecot: every thread is
filed with its clocks from arrival, only recent mail is acknowledged, nobody is silenced,
and every client is in the weekly summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config import Config
from mailbot.config_types import ProjectConfig, SiteConfig
from mailbot.items.sla import due_at
from mailbot.reports.summary import collect_summary, current_period
from mailbot.storage.db import open_database
from mailbot.storage.models import Breaker, Item, OutboxMail, StoredMessage
from tests.servers import DovecotAccount
from tests.support.fake_triage import SubjectTriage
from tests.support.pipeline import make_pipeline

pytestmark = pytest.mark.integration

CLIENTS = [f"client{n}@acme.example" for n in range(12)]
ACME = ProjectConfig(key="ACME", name="ACME web shop", client_domains=("acme.example",))
TOTAL = 300


def mail(n: int, sender: str, arrived: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "team@agency.example"
    msg["Subject"] = f"Problem {n} in the web shop"
    msg["Message-ID"] = f"<b{n}@acme.example>"
    msg["Date"] = format_datetime(arrived)
    msg.set_content(f"Problem {n}: the page shows error {500 + n}.")
    return bytes(msg)


def test_two_weeks_of_history_on_first_start(imap_account: DovecotAccount, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=14)
    step = timedelta(days=14) / TOTAL
    arrivals = [start + step * n for n in range(TOTAL)]
    imap_account.append_many(
        "INBOX",
        [mail(n, CLIENTS[n % len(CLIENTS)], at) for n, at in enumerate(arrivals)],
        times=arrivals,
    )
    config = Config(
        mailboxes=(imap_account.mailbox_config(batch_size=50),),
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
        projects=(ACME,),
        site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
        outbox_dir=tmp_path / "outbox",
    )
    db = open_database(config.database_url)
    make_pipeline(config, db, triage=SubjectTriage()).run_once()
    recent = sum(at > now - timedelta(hours=24) for at in arrivals)
    with db.session() as s:
        items = s.scalars(select(Item).order_by(Item.id)).all()
        assert len(items) == TOTAL  # every new thread of a listed client filed
        arrived = dict(s.execute(select(StoredMessage.message_id, StoredMessage.arrived_at)).all())
        assert arrived["b0@acme.example"] == arrivals[0]  # INTERNALDATE, to the second
        first = items[0]
        assert first.created_at == arrivals[0]  # ages count from arrival ...
        assert due_at(first, config) == arrivals[0] + timedelta(hours=4)  # ... and the SLA
        acks = s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack")).all()
        assert 0 < len(acks) == recent  # only mail younger than max_age_hours is answered
        assert s.scalars(select(Breaker)).all() == []  # no client silenced
        summary = collect_summary(s, config, ACME, period=current_period(config, now), now=now)
        assert sorted(summary.recipients) == sorted(CLIENTS)
    db.dispose()
