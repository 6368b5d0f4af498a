"""A month of weekly reports with an injected clock: mailbot starts watching on a Thursday,
then four reports follow, one per ISO week; items move between the sections as the team
works, and a milestone slips from on track to due soon to late."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

from sqlalchemy import select

from mailbot.items import progress
from mailbot.reports.scheduler import ReportScheduler
from mailbot.storage.models import OutboxMail, Report
from tests.unit.reports.conftest import ACME, SCHEDULES, Bot


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def acme_reports(bot: Bot) -> list[tuple[str, str]]:
    """(subject, plain text) of every ACME report queued so far, oldest first."""
    with bot.db.session() as s:
        rows = s.scalars(
            select(OutboxMail).where(OutboxMail.kind == "summary").order_by(OutboxMail.id)
        ).all()
        found = []
        for row in rows:
            mail = message_from_bytes(row.raw, policy=policy.default)
            if "ACME" in str(mail["Subject"]):
                text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
                found.append((str(mail["Subject"]), text))
        return found


def section(text: str, heading: str) -> str:
    """The lines under one heading of the report, up to the next blank line."""
    if f"\n{heading}:\n" not in text:
        return ""
    return text.split(f"\n{heading}:\n", 1)[1].split("\n\n", 1)[0]


def test_a_month_of_weekly_reports(bot: Bot) -> None:
    uat = date(2026, 12, 9)  # a Wednesday in week 50
    acme = dataclasses.replace(ACME, client_addresses=(), milestones=(*ACME.milestones[:1],))
    bot.config = dataclasses.replace(bot.config, projects=(acme,))
    scheduler = ReportScheduler(bot.config, bot.db)
    thursday = date(2026, 11, 19)  # week 47

    # Thursday 19 November, 10:00: mailbot starts. Nothing is due from before that.
    bot.deliver("Anna Keller <anna@acme.example>", "Checkout fails with error 500")
    bot.run()
    bot.watching_since(shanghai(thursday, 10))
    bot.pin("ACME-1", shanghai(thursday, 11))
    assert scheduler.run_pending(shanghai(thursday, 12)) == []  # not Monday's, not today's 08:30
    friday_digest = scheduler.run_pending(shanghai(date(2026, 11, 20), 8, 30))
    assert [(o.kind, o.period) for o in friday_digest] == [("digest", "2026-11-20")]
    with bot.db.session() as s:
        progress.set_milestone(s, bot.config, "ACME", "UAT", due=uat, actor="lena")

    # Monday 23 November: the first report, on week 47 from Thursday on.
    scheduler.run_pending(shanghai(date(2026, 11, 23), 9))
    [(subject, text)] = acme_reports(bot)
    assert subject == "ACME web shop: progress report, week 47 (16–22 November 2026)"
    assert "we have tracked your requests here since Thu 19 Nov." in text  # the first one
    assert "ACME-1" in section(text, "In progress")
    assert "New this week: 1 request from you (ACME-1)." in text
    assert "UAT: Wed 9 Dec" in section(text, "Milestones")
    assert "Overall: on track." in text

    # Week 48: the fix starts, with a date; we ask the client for a test account.
    bot.move("ACME-1", "in_progress", at=shanghai(date(2026, 11, 24), 10))
    bot.set("ACME-1", target_date=date(2026, 12, 2))
    bot.deliver("Tom Berg <tom@acme.example>", "Please change the logo on the invoice")
    bot.run()
    bot.pin("ACME-2", shanghai(date(2026, 11, 25), 9))
    with bot.db.session() as s:
        progress.set_waiting(
            s, "ACME-2", "the logo as SVG", needed_by=date(2026, 12, 1), actor="lena"
        )
    scheduler.run_pending(shanghai(date(2026, 11, 30), 9))
    subject, text = acme_reports(bot)[-1]
    assert "week 48 (23–29 November 2026)" in subject
    assert "This first report" not in text
    assert "ACME-1  Checkout fails with error 500: being fixed, expected by Wed 2 Dec" in text
    assert "ACME-2  Please change the logo on the invoice: the logo as SVG, by Tue 1 Dec" in (
        section(text, "Waiting on you")
    )
    assert "expected done by Wed 2 Dec" in section(text, "Next week")
    assert "New this week: 1 request from you (ACME-2)." in text

    # Week 49: ACME-1 is fixed; the logo did not come; UAT is next week.
    bot.move("ACME-1", "resolved", at=shanghai(date(2026, 12, 3), 15))
    scheduler.run_pending(shanghai(date(2026, 12, 7), 9))
    subject, text = acme_reports(bot)[-1]
    assert "week 49 (30 November – 6 December 2026)" in subject
    assert section(text, "Done this week") == "  - ACME-1  Checkout fails with error 500"
    assert "ACME-1" not in section(text, "In progress")
    assert 'Milestone "UAT" on Wed 9 Dec' in section(text, "Next week")
    assert "UAT: Wed 9 Dec" in section(text, "Milestones")
    risks = section(text, "Risks and urgent items")
    assert "ACME-2: we needed the logo as SVG by Tue 1 Dec" in risks
    assert "New this week" not in text

    # Week 50: the logo arrives (the client's reply ends the wait); UAT passes undone.
    bot.deliver("Tom Berg <tom@acme.example>", "Re: [ACME-2] Please change the logo", "Here it is.")
    bot.run()
    scheduler.run_pending(shanghai(date(2026, 12, 14), 9))
    subject, text = acme_reports(bot)[-1]
    assert "week 50 (7–13 December 2026)" in subject
    assert 'Overall: delayed (milestone "UAT" is past its date).' in text
    assert "UAT: planned for Wed 9 Dec, not reached yet" in section(text, "Milestones")
    assert "Waiting on you" not in text
    assert "ACME-2" in section(text, "In progress")

    # Four reports, one per week, each once.
    with bot.db.session() as s:
        periods = s.scalars(
            select(Report.period).where(Report.kind == "summary").order_by(Report.period)
        ).all()
    assert periods == ["2026-W47", "2026-W48", "2026-W49", "2026-W50"]
    assert len(acme_reports(bot)) == 4


def test_the_first_scheduled_report_waits_for_the_pm(bot: Bot) -> None:
    bot.config = dataclasses.replace(
        bot.config,
        projects=(ACME,),
        schedules=dataclasses.replace(SCHEDULES, summary_hold_first=True),
    )
    bot.deliver("Anna Keller <anna@acme.example>", "Checkout fails with error 500")
    bot.run()
    scheduler = ReportScheduler(bot.config, bot.db)
    first = scheduler.run_pending(shanghai(date(2026, 11, 23), 9))
    assert [(o.scope, o.result) for o in first if o.kind == "summary"] == [("ACME", "held")]
    second = scheduler.run_pending(shanghai(date(2026, 11, 30), 9))
    assert [(o.scope, o.result) for o in second if o.kind == "summary"] == [("ACME", "queued")]
