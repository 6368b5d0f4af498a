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

from mailbot.config_types import ProjectConfig
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


class Bot(MaildirBot):
    """ACME and HX; what is sent looks sent an hour ago."""

    def __init__(self, tmp_path: Path, *projects: ProjectConfig) -> None:
        super().__init__(tmp_path, projects=projects or (ACME, HX))

    def send(self, now: datetime | None = None) -> None:
        super().send(now)
        # As if sent an hour ago: a client answering within two minutes looks like a robot
        # to the acknowledgement breaker, and a test's client answers at once.
        with self.db.session() as s:
            s.execute(
                update(OutboxMail)
                .where(OutboxMail.sent_at.is_not(None))
                .values(sent_at=datetime.now(UTC) - timedelta(hours=1))
            )


def body(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with Bot(tmp_path) as robot:
        yield robot


def replace(project: ProjectConfig, **changes: Any) -> ProjectConfig:
    return dataclasses.replace(project, **changes)
