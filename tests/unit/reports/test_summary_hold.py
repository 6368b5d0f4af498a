"""Holding a period's summary before it is made: the schedule leaves it, a release sends it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.reports.scheduler import ReportScheduler
from mailbot.reports.summary import (
    ReportError,
    hold_summary,
    make_summary,
    preview_summary_in,
    release_summary_in,
)
from mailbot.storage.models import Event, OutboxMail, Report
from tests.unit.reports.conftest import HX, NOW, Bot
from tests.unit.reports.test_cli import setup  # noqa: F401

EARLY = NOW - timedelta(days=3)  # Friday of week 48: its report is not made yet


def test_a_held_period_is_left_by_the_schedule_and_sent_on_release(busy_bot: Bot) -> None:
    with busy_bot.db.session() as s:
        held = hold_summary(s, busy_bot.config, HX, EARLY, period="2026-W48", actor="lena")
        assert (held.result, held.period) == ("held", "2026-W48")
        again = hold_summary(s, busy_bot.config, HX, EARLY, period="2026-W48", actor="lena")
        assert again.result == "exists" and again.detail == "held already"
        event = s.scalars(select(Event).where(Event.kind == "summary_held")).one()
        assert event.actor == "lena" and event.detail == {"project": "HX", "period": "2026-W48"}
    made = ReportScheduler(busy_bot.config, busy_bot.db).run_pending(NOW)
    assert {o.scope for o in made if o.kind == "summary"} == {"ACME", "TW"}
    with busy_bot.db.session() as s:
        report = s.scalars(select(Report).where(Report.scope == "HX")).one()
        assert report.state == "held" and report.outbox_id is None
        released = release_summary_in(s, busy_bot.config, HX, NOW, actor="lena")
        assert released.result == "released" and released.outbox_id is not None
        assert s.get(OutboxMail, released.outbox_id).kind == "summary"  # type: ignore[union-attr]
        event = s.scalars(select(Event).where(Event.kind == "summary_released")).one()
        assert event.actor == "lena" and event.detail["period"] == "2026-W48"
        # Released once: a second release and a hold find it sent.
        twice = release_summary_in(s, busy_bot.config, HX, NOW, period="2026-W48", actor="x")
        assert twice.result == "exists"
        with pytest.raises(ReportError, match="already sent"):
            hold_summary(s, busy_bot.config, HX, NOW, period="2026-W48", actor="lena")


def test_a_sent_summary_cannot_be_held(busy_bot: Bot) -> None:
    assert make_summary(busy_bot.db, busy_bot.config, HX, NOW).result == "queued"
    with busy_bot.db.session() as s, pytest.raises(ReportError) as err:
        hold_summary(s, busy_bot.config, HX, NOW, actor="lena")
    assert "cannot be held" in (err.value.hint or "")


def test_the_preview_in_a_session_is_what_would_be_sent(busy_bot: Bot) -> None:
    with busy_bot.db.session() as s:
        summary = preview_summary_in(s, busy_bot.config, HX, NOW)
        assert summary.period == "2026-W48" and not summary.empty
        assert s.scalars(select(Report)).first() is None  # nothing recorded


def test_the_command_holds_and_releases(
    setup: tuple[Bot, str],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot, config = setup
    hold = ["--config", config, "summary", "--hold", "HX", "--actor", "lena"]
    assert main(hold) == 0
    assert "is held for release: mailbot summary --release HX" in capsys.readouterr().out
    assert main(hold) == 0
    assert "is held already" in capsys.readouterr().out
    assert main(["--config", config, "summary", "--release", "HX", "--actor", "lena"]) == 0
    assert "was released to zhang.wei@huaxin.example" in capsys.readouterr().out
    with bot.db.session() as s:
        actors = {e.kind: e.actor for e in s.scalars(select(Event))}
        assert actors["summary_held"] == "lena" and actors["summary_released"] == "lena"
    assert main(hold) == 2
    assert "already sent" in capsys.readouterr().err
