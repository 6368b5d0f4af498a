"""The tables people read: `queue list`, `queue show` and `items` at 80 and 160 columns.

Snapshots of the real commands on the three filed items, with the clock frozen and every
time and random id in the database pinned, so that only a change of the output shows.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import mailbot.cli.queue.common
from mailbot.cli.queue.render import event_text
from mailbot.storage.models import Event, Item
from tests.support.queue_bot import Bot
from tests.support.snapshots import Snapshots

SNAPSHOTS = Snapshots(Path(__file__).parents[1] / "snapshots")
FILED_AT = datetime(2026, 12, 2, 9, 5, tzinfo=UTC)
NOW = FILED_AT + timedelta(hours=5)  # the issues are an hour late, the change request is not


def _pinned(text: str, ids: dict[str, str]) -> str:
    """A detail with the Maildir path, UIDs and generated Message-IDs made the same each run."""
    text = re.sub(r'"maildir:[^"]*"', '"maildir:/srv/mail/agency"', text)
    text = re.sub(r'"uid": \d+', '"uid": 4711', text)
    return re.sub(
        r"[0-9a-f]{32}", lambda m: ids.setdefault(m.group(), f"{len(ids) + 1:032x}"), text
    )


def _minutes_after(moment: datetime, base: datetime) -> timedelta:
    return timedelta(minutes=(moment - base).total_seconds() // 60)


@pytest.fixture
def pinned(filed: Bot, monkeypatch: pytest.MonkeyPatch) -> Bot:
    """`filed` with its times moved to FILED_AT (to the minute), ids pinned, the clock at NOW."""
    with filed.session() as s:
        items = list(s.scalars(select(Item)))
        events = list(s.scalars(select(Event).order_by(Event.id)))
        base = min([i.created_at for i in items] + [e.at for e in events])
        ids: dict[str, str] = {}
        for item in items:
            item.created_at = FILED_AT + _minutes_after(item.created_at, base)
            item.updated_at = item.created_at
        for event in events:
            event.at = FILED_AT + _minutes_after(event.at, base)
            event.detail = json.loads(_pinned(json.dumps(event.detail), ids))
    monkeypatch.setattr(mailbot.cli.queue.common, "now", lambda: NOW)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    return filed


COMMANDS = {
    "queue-list": ("queue", "list"),
    "queue-show-ACME-1": ("queue", "show", "ACME-1"),
    "items": ("items",),
}


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_tables_at_a_terminal_width(
    pinned: Bot, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    name: str, width: int,
) -> None:  # fmt: skip
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = pinned.cli(capsys, *COMMANDS[name])
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width, "a line is wider than the terminal"
    SNAPSHOTS.check(f"{name}.{width}.txt", out)


def test_a_cut_client_address_ends_with_an_ellipsis(
    pinned: Bot, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pinned.session() as s:
        item = s.scalars(select(Item).where(Item.ref == "ACME-2")).one()
        item.client_email = "procurement.department.long.name@subsidiary.acme-retail.example"
    monkeypatch.setenv("COLUMNS", "120")
    out = pinned.cli(capsys, "queue", "list")[1]
    [row] = [line for line in out.splitlines() if line.startswith("ACME-2")]
    assert "procurement.department" in row and "…" in row
    assert "acme-retail.example" not in out


def test_an_event_reads_as_words() -> None:
    detail = {
        "item": "ACME-1",
        "new_item": True,
        "route": {"project": "ACME", "item": None, "explanation": ["a", "b"]},
        "notes": [],
        "checks": ["enabled: on", "breaker: no breaker", "noise: no", "rate_limit: 0 of 20"],
    }
    assert event_text(detail) == ("item: ACME-1; new item: yes; route: project ACME; checks: 4")
    assert event_text(None) == ""
