"""A Maildir bot running the real pipeline with the shipped filing hooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from mailbot.config_types import AuthPolicy, ProjectConfig
from mailbot.outgoing.outbox import SendStats
from mailbot.storage.models import OutboxMail
from tests.support.pipeline import MaildirBot

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


MX = "mx.agency.example"  # our mail server, whose Authentication-Results are trusted


def authenticated(sender: str, result: str = "pass") -> str:
    """The header our server writes after checking the sender's domain (DMARC)."""
    domain = sender.rpartition("@")[2].rstrip(">")
    return f"Authentication-Results: {MX}; dmarc={result} header.from={domain}\r\n"


class Bot(MaildirBot):
    """ACME and HX behind our server, which checks senders; what is sent looks sent an
    hour ago."""

    def __init__(self, tmp_path: Path, *projects: ProjectConfig) -> None:
        super().__init__(
            tmp_path,
            projects=projects or (ACME, HX),
            authentication=AuthPolicy(trusted_authserv_ids=(MX,)),
        )

    def deliver(self, sender: str, *args: Any, dmarc: str = "pass", **kwargs: Any) -> int:
        """A client mail as our server hands it over: with its DMARC result (`dmarc=""`:
        a mail nobody checked)."""
        stamp = authenticated(sender, dmarc) if dmarc else ""
        kwargs["extra"] = stamp + kwargs.get("extra", "")
        return super().deliver(sender, *args, **kwargs)

    def send(self, now: datetime | None = None) -> SendStats:
        stats = super().send(now)
        # As if sent an hour ago: a client answering within two minutes looks like a robot
        # to the acknowledgement breaker, and a test's client answers at once.
        with self.db.session() as s:
            s.execute(
                update(OutboxMail)
                .where(OutboxMail.sent_at.is_not(None))
                .values(sent_at=datetime.now(UTC) - timedelta(hours=1))
            )
        return stats


def body(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with Bot(tmp_path) as robot:
        yield robot


def replace(project: ProjectConfig, **changes: Any) -> ProjectConfig:
    return dataclasses.replace(project, **changes)
