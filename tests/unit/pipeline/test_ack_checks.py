"""The acknowledgement checks that need no database, one decision each, as pure tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailbot.config import Config
from mailbot.config_types import AckConfig, ProjectConfig, SiteConfig
from mailbot.parse import parse_bytes
from mailbot.pipeline.answer import ACK_CHECKS, AckInput
from mailbot.pipeline.route import Route
from mailbot.triage.verdict import Verdict

pytestmark = pytest.mark.no_database

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ACME = ProjectConfig(key="ACME", name="ACME", client_domains=("acme.example",))
CONFIG = Config(
    mailboxes=(),
    projects=(ACME,),
    site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
)


def verdict(category: str) -> Verdict:
    return Verdict(category, 0.9, False, False, (), "en", {}, "test")


def ack_input(
    sender: str = "anna@acme.example",
    *,
    category: str = "issue",
    project: str | None = "ACME",
    step: str = "domain",
    new_item: bool = True,
    arrived: timedelta = timedelta(minutes=5),
    config: Config = CONFIG,
) -> AckInput:
    raw = f"From: {sender}\r\nSubject: Help\r\nMessage-ID: <x@y>\r\n\r\nThe shop is down.\r\n"
    return AckInput(
        session=None,  # type: ignore[arg-type]  # these checks never ask the database
        config=config,
        message=parse_bytes(raw.encode()),
        verdict=verdict(category),
        route=Route(project, None, step, ()),
        new_item=new_item,
        now=NOW,
        arrived_at=NOW - arrived,
        tripped=[],
    )


def decide(name: str, **kw: Any) -> str | None:
    return ACK_CHECKS[name](ack_input(**kw)).decision


@pytest.mark.parametrize(
    ("check", "kw", "refuses"),
    [
        ("enabled", {}, False),
        ("enabled", {"config": replace(CONFIG, acknowledgements=AckConfig(enabled=False))}, True),
        ("sender_address", {}, False),
        ("noise", {}, False),
        ("noise", {"category": "none"}, True),
        ("robot_address", {"sender": "noreply@acme.example"}, True),
        ("robot_address", {"sender": "mailer-daemon@acme.example"}, True),
        ("robot_address", {"sender": "notifications+build@acme.example"}, True),
        ("robot_address", {"sender": "nora@acme.example"}, False),
        ("own_address", {"sender": "team@agency.example"}, True),
        ("own_address", {"sender": "colleague@agency.example"}, True),
        ("own_address", {}, False),
        ("max_age", {"arrived": timedelta(hours=23)}, False),
        ("max_age", {"arrived": timedelta(hours=25)}, True),
        ("follow_up", {"new_item": False}, True),
        ("follow_up", {"new_item": True}, False),
        ("known_sender", {}, False),
        ("known_sender", {"project": None, "step": "unassigned"}, True),
        ("known_sender", {"sender": "x@stranger.example", "step": "keywords"}, True),
        ("known_sender", {"sender": "x@stranger.example", "step": "alias"}, True),
        ("known_sender", {"sender": "boss@sub.acme.example", "step": "keywords"}, False),
    ],
)
def test_each_check_decides_one_thing(check: str, kw: dict[str, Any], refuses: bool) -> None:
    assert (decide(check, **kw) is not None) == refuses


def test_each_check_says_why_in_plain_words() -> None:
    reason = decide("max_age", arrived=timedelta(days=3))
    assert reason is not None and "arrived 72 h ago" in reason and "max_age_hours" in reason
    reason = decide("known_sender", sender="x@stranger.example", step="keywords")
    assert (
        reason
        == "x@stranger.example is not a listed client of ACME (filed by keywords): not answered"
    )
