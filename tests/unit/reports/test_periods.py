"""Period keys and due times: local wall clocks, time zones, DST, year ends."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from mailbot.config_types import ScheduleConfig
from mailbot.reports.periods import (
    PeriodError,
    check_day_period,
    digest_slot,
    reported_week,
    summary_slot,
    summary_slot_for,
    week_period,
    week_start,
    week_window,
)

pytestmark = pytest.mark.no_database

SHANGHAI = ScheduleConfig(timezone="Asia/Shanghai", digest_time="08:30", summary_time="09:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_digest_is_due_at_the_local_time_not_utc() -> None:
    # Friday 27 November 2026, 08:29 and 08:30 in Shanghai (UTC+8).
    before = digest_slot(SHANGHAI, utc(2026, 11, 27, 0, 29))
    due = digest_slot(SHANGHAI, utc(2026, 11, 27, 0, 30))
    assert before is not None and before.period == "2026-11-26"
    assert due is not None and due.period == "2026-11-27"
    assert due.due_at == utc(2026, 11, 27, 0, 30)


def test_one_instant_is_a_different_day_in_another_zone() -> None:
    now = utc(2026, 11, 27, 1, 0)  # Friday 09:00 in Shanghai, Thursday 17:00 in Los Angeles
    la = dataclasses.replace(SHANGHAI, timezone="America/Los_Angeles")
    assert digest_slot(SHANGHAI, now).period == "2026-11-27"  # type: ignore[union-attr]
    assert digest_slot(la, now).period == "2026-11-26"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("days", "now", "period"),
    [
        ("weekdays", utc(2026, 11, 28, 3, 0), "2026-11-27"),  # Saturday: Friday's digest
        ("weekdays", utc(2026, 11, 30, 0, 29), "2026-11-27"),  # Monday before 08:30
        ("weekdays", utc(2026, 11, 30, 0, 30), "2026-11-30"),
        ("daily", utc(2026, 11, 29, 3, 0), "2026-11-29"),  # Sunday
    ],
)
def test_weekdays_skip_the_weekend_and_daily_does_not(
    days: str, now: datetime, period: str
) -> None:
    slot = digest_slot(dataclasses.replace(SHANGHAI, digest_days=days), now)
    assert slot is not None and slot.period == period


def test_the_summary_is_the_latest_weekly_slot_keyed_by_the_week_it_reports_on() -> None:
    monday_0900 = utc(2026, 11, 30, 1, 0)  # Monday of week 49: the report on week 48 is due
    assert summary_slot(SHANGHAI, monday_0900).period == "2026-W48"
    assert summary_slot(SHANGHAI, utc(2026, 11, 30, 0, 59)).period == "2026-W47"
    # Three weeks later, with every run missed: only the latest slot, not a backlog.
    assert summary_slot(SHANGHAI, utc(2026, 12, 23, 5, 0)).period == "2026-W51"
    assert summary_slot_for(SHANGHAI, "2026-W48").due_at == monday_0900


def test_weeks_meet_exactly_in_local_time() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    start, end = week_window("2026-W48", tz)
    assert start == utc(2026, 11, 22, 16, 0)  # Monday 23 November 00:00 in Shanghai
    assert end == utc(2026, 11, 29, 16, 0)
    assert week_window("2026-W49", tz)[0] == end  # no overlap, no gap
    assert week_window("2026-W53", tz)[1] == week_window("2027-W01", tz)[0]
    assert reported_week(date(2026, 11, 30)) == "2026-W48"  # a Monday: the week before
    assert reported_week(date(2026, 12, 4)) == "2026-W48"  # a Friday: the last whole week
    assert reported_week(date(2027, 1, 4)) == "2026-W53"


def test_daylight_saving_keeps_the_wall_clock_time() -> None:
    new_york = dataclasses.replace(SHANGHAI, timezone="America/New_York")
    # US clocks go forward on Sunday 8 March 2026: Monday 09:00 is 14:00 UTC before, 13:00 after.
    assert summary_slot_for(new_york, "2026-W09").due_at == utc(2026, 3, 2, 14, 0)
    assert summary_slot_for(new_york, "2026-W10").due_at == utc(2026, 3, 9, 13, 0)


def test_a_skipped_local_time_falls_due_when_the_clock_jumps() -> None:
    # Berlin, Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 never happens.
    berlin = dataclasses.replace(
        SHANGHAI, timezone="Europe/Berlin", digest_days="daily", digest_time="02:30"
    )
    assert digest_slot(berlin, utc(2026, 3, 29, 0, 59)).period == "2026-03-28"  # type: ignore[union-attr]
    slot = digest_slot(berlin, utc(2026, 3, 29, 1, 30))
    assert slot is not None and slot.period == "2026-03-29"
    assert slot.due_at == utc(2026, 3, 29, 1, 30)  # 03:30 CEST, once


def test_a_repeated_local_time_falls_due_once_at_its_first_occurrence() -> None:
    # Berlin, Sunday 25 October 2026: 02:30 happens twice (CEST, then CET).
    berlin = dataclasses.replace(
        SHANGHAI, timezone="Europe/Berlin", digest_days="daily", digest_time="02:30"
    )
    first = digest_slot(berlin, utc(2026, 10, 25, 0, 30))
    second = digest_slot(berlin, utc(2026, 10, 25, 1, 30))
    assert first is not None and second is not None
    assert first.period == second.period == "2026-10-25"
    assert first.due_at == second.due_at == utc(2026, 10, 25, 0, 30)


def test_iso_weeks_at_the_year_end() -> None:
    assert week_period(date(2026, 12, 31)) == "2026-W53"  # 2026 has 53 ISO weeks
    assert week_period(date(2027, 1, 1)) == "2026-W53"
    assert week_period(date(2027, 1, 4)) == "2027-W01"
    assert week_start("2026-W53") == date(2026, 12, 28)


@pytest.mark.parametrize("bad", ["2026-48", "W48", "2025-W53", "2026-W00"])
def test_a_bad_week_says_how_to_write_it(bad: str) -> None:
    with pytest.raises(PeriodError) as err:
        week_start(bad)
    assert "W" in (err.value.hint or "")


def test_a_bad_day_says_how_to_write_it() -> None:
    assert check_day_period("2026-11-27") == "2026-11-27"
    with pytest.raises(PeriodError, match="not a date"):
        check_day_period("27.11.2026")
