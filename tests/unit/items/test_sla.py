"""SLA math with an injected clock, and the filing hook that records the first human response."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import MailboxConfig, ProjectConfig, SiteConfig, SlaConfig
from mailbot.items.sla import due_at, is_overdue, overdue, sla_state
from mailbot.parse import parse_bytes
from mailbot.pipeline.file import FilingContext
from mailbot.pipeline.hooks.sla import make_hook
from mailbot.pipeline.route import Route
from mailbot.storage.db import open_database
from mailbot.storage.models import Blob, Event, Item, OutboxMail, StoredMessage

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
CONFIG = Config(
    mailboxes=(MailboxConfig(name="x", kind="maildir", path=Path("/nonexistent")),),
    site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
    projects=(ProjectConfig(key="ACME", name="ACME", pm="pm@acme-pm.example"),),
    sla=SlaConfig(issue_hours=4, change_request_hours=24, feedback_hours=48),
)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    db = open_database(f"sqlite:///{tmp_path}/sla.sqlite3")
    try:
        with db.session() as s:
            yield s
    finally:
        db.dispose()


def make(session: Session, n: int, category: str = "issue", **fields: object) -> Item:
    status = {"issue": "new", "change_request": "submitted", "feedback": "received"}[category]
    values: dict[str, object] = {"status": status, "created_at": T0, **fields}
    item = Item(ref=f"ACME-{n}", project_key="ACME", number=n, category=category, title="t")
    for key, value in values.items():
        setattr(item, key, value)
    session.add(item)
    session.flush()
    return item


def item(category: str = "issue", **fields: object) -> Item:
    """An item that never touches a database: the SLA decisions read only its fields."""
    status = {"issue": "new", "change_request": "submitted", "feedback": "received"}
    values: dict[str, object] = {"status": status.get(category, "new"), "created_at": T0}
    values |= {"first_response_at": None, "merged_into_id": None, **fields}
    built = Item(ref="ACME-1", project_key="ACME", number=1, category=category, title="t")
    for key, value in values.items():
        setattr(built, key, value)
    return built


def test_due_time_is_wall_clock_hours_per_category() -> None:
    assert due_at(item(), CONFIG) == T0 + timedelta(hours=4)
    assert due_at(item("change_request"), CONFIG) == T0 + timedelta(hours=24)
    # Friday 17:00 + 48 h is Sunday 17:00: weekends count (wall-clock hours).
    friday = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert due_at(item("feedback", created_at=friday), CONFIG) == datetime(
        2026, 11, 29, 17, 0, tzinfo=UTC
    )
    assert due_at(item("none"), CONFIG) is None  # noise has no SLA


@pytest.mark.parametrize(
    ("fields", "hours_later", "state", "late"),
    [
        ({}, 1, "due", False),
        ({}, 4, "due", False),  # due at the hour, late only after it
        ({}, 5, "breached", True),
        ({"first_response_at": T0 + timedelta(hours=6)}, 9, "met", False),
        ({"status": "closed"}, 9, "closed", False),
        ({"status": "merged", "merged_into_id": 7}, 9, "closed", False),
        ({"status": "in_progress", "merged_into_id": 7}, 9, "closed", False),
        ({"category": "none"}, 99, "none", False),
    ],
)
def test_the_sla_state_of_one_item(
    fields: dict[str, object], hours_later: int, state: str, late: bool
) -> None:
    one = item(**fields)
    now = T0 + timedelta(hours=hours_later)
    assert sla_state(one, CONFIG, now) == state
    assert is_overdue(one, CONFIG, now) is late


def test_a_naive_time_read_from_sqlite_counts_as_utc() -> None:
    naive = item(created_at=T0.replace(tzinfo=None))
    assert due_at(naive, CONFIG) == T0 + timedelta(hours=4)
    assert is_overdue(naive, CONFIG, (T0 + timedelta(hours=5)).replace(tzinfo=None))


def test_overdue_only_after_the_due_time(session: Session) -> None:
    item = make(session, 1)
    assert overdue(session, CONFIG, T0 + timedelta(hours=4)) == []  # due, not yet late
    assert overdue(session, CONFIG, T0 + timedelta(hours=4, seconds=1)) == [item]
    assert sla_state(item, CONFIG, T0 + timedelta(hours=1)) == "due"
    assert sla_state(item, CONFIG, T0 + timedelta(hours=5)) == "breached"


def test_answered_finished_and_merged_items_are_never_overdue(session: Session) -> None:
    late = T0 + timedelta(days=10)
    answered = make(session, 1, first_response_at=T0 + timedelta(hours=1))
    closed = make(session, 2, status="closed")
    target = make(session, 3, first_response_at=T0)
    merged = make(session, 4, merged_into_id=target.id, status="merged")
    waiting = make(session, 5, "change_request", status="under_review")
    assert overdue(session, CONFIG, late) == [waiting]
    assert sla_state(answered, CONFIG, late) == "met"
    assert sla_state(closed, CONFIG, late) == "closed"
    assert not is_overdue(merged, CONFIG, late)


def test_overdue_lists_the_most_overdue_first(session: Session) -> None:
    newer = make(session, 1, created_at=T0 + timedelta(hours=2))
    older = make(session, 2)
    assert overdue(session, CONFIG, T0 + timedelta(hours=7)) == [older, newer]


def test_stored_times_come_back_aware_and_naive_ones_are_refused(session: Session) -> None:
    make(session, 1, created_at=T0.astimezone(timezone(timedelta(hours=8))))
    session.expire_all()
    item = session.scalars(select(Item)).one()  # read back: SQLite keeps no zone
    assert item.created_at.tzinfo is not None and item.created_at == T0
    assert due_at(item, CONFIG) == T0 + timedelta(hours=4)
    with pytest.raises(StatementError, match="naive datetime"):
        make(session, 2, created_at=T0.replace(tzinfo=None))


# --- the filing hook -------------------------------------------------------------------------


def reply(sender: str, *, extra: str = "", message_id: str = "r1@agency.example") -> bytes:
    return (
        f"From: {sender}\r\nTo: anna@acme.example\r\nSubject: Re: Checkout fails\r\n"
        f"Message-ID: <{message_id}>\r\nIn-Reply-To: <m1@client>\r\n{extra}"
        "Date: Mon, 23 Nov 2026 10:30:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nWe are on it.\r\n"
    ).encode()


def run_hook(session: Session, raw: bytes, *, new_item: bool = False) -> tuple[Item, str | None]:
    item = session.scalars(select(Item)).first() or make(session, 1)
    message = parse_bytes(raw)
    row = StoredMessage(
        sha256=hashlib.sha256(raw).hexdigest(), account="x", folder="INBOX", item_id=item.id
    )
    session.add(Blob(sha256=row.sha256, size=len(raw), data=raw))
    session.add(row)
    session.flush()
    hook = make_hook(CONFIG)
    assert hook is not None
    route = Route("ACME", None, "thread", ("thread",))
    ctx = FilingContext(CONFIG, row, message, None, item, route, new_item)
    return item, hook(session, ctx)


@pytest.mark.parametrize(
    "sender",
    ["Lena <team@agency.example>", "colleague@agency.example", "pm@acme-pm.example"],
)
def test_a_person_on_our_side_answering_is_the_first_response(
    session: Session, sender: str
) -> None:
    item, note = run_hook(session, reply(sender))
    assert note is not None and "first human response" in note
    assert item.first_response_at == datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    [event] = session.scalars(select(Event).where(Event.kind == "first_response"))
    assert event.item_id == item.id and event.detail["how"] == "answered in the thread"


def test_only_the_first_answer_counts(session: Session) -> None:
    item, _ = run_hook(session, reply("colleague@agency.example"))
    first = item.first_response_at
    _, note = run_hook(session, reply("pm@acme-pm.example", message_id="r2@agency.example"))
    assert note is None and item.first_response_at == first


@pytest.mark.parametrize(
    ("sender", "extra", "new_item"),
    [
        ("anna@acme.example", "", False),  # the client writing again
        ("team@agency.example", "Auto-Submitted: auto-replied\r\n", False),  # our robot
        ("colleague@agency.example", "", True),  # a new mail of ours is not an answer
    ],
)
def test_what_is_not_a_human_response(
    session: Session, sender: str, extra: str, new_item: bool
) -> None:
    item, note = run_hook(session, reply(sender, extra=extra), new_item=new_item)
    assert note is None and item.first_response_at is None


def test_our_own_outbox_mail_coming_back_never_counts(session: Session) -> None:
    session.add(
        OutboxMail(
            kind="ack",
            dedupe_key="ack:x",
            message_id="mailbot.abc@agency.example",
            mail_from="team@agency.example",
            subject="Re: x",
            raw=b"",
        )
    )
    item, note = run_hook(
        session, reply("team@agency.example", message_id="mailbot.abc@agency.example")
    )
    assert note is None and item.first_response_at is None


def test_who_is_ours() -> None:
    assert CONFIG.is_own_address("TEAM@agency.example")
    assert CONFIG.is_own_address("pm@acme-pm.example")
    assert not CONFIG.is_own_address("anna@acme.example")
    assert not CONFIG.is_own_address("x@notagency.example")  # a suffix is not the domain


def test_overdue_in_sql_is_the_same_as_item_by_item(session: Session) -> None:
    from mailbot.items.sla import overdue_condition

    cases = [
        ("issue", {}),
        ("issue", {"created_at": T0 + timedelta(hours=20)}),  # not late yet
        ("issue", {"first_response_at": T0 + timedelta(hours=1)}),  # answered
        ("issue", {"status": "resolved"}),  # finished
        ("change_request", {}),
        ("change_request", {"created_at": T0 + timedelta(hours=5)}),
        ("feedback", {}),  # 48 h: not late at T0 + 24 h
        ("feedback", {"created_at": T0 - timedelta(days=3)}),
    ]
    made = [make(session, n, category, **fields) for n, (category, fields) in enumerate(cases, 1)]
    for hours in (1, 5, 24, 30, 50, 100):
        now = T0 + timedelta(hours=hours)
        in_python = {i.ref for i in made if is_overdue(i, CONFIG, now)}
        in_sql = set(
            session.scalars(select(Item.ref).where(overdue_condition(CONFIG.sla, now))).all()
        )
        assert in_sql == in_python, hours
    assert in_python  # the cases do reach overdue
