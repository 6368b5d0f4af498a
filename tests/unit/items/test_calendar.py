"""Working hours and days on a project's calendar: office hours, weekends, public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.items.calendar import WorkCalendar, parse_office_hours

pytestmark = pytest.mark.no_database

SHANGHAI = WorkCalendar("Asia/Shanghai", country="CN")
TAIPEI = WorkCalendar("Asia/Taipei", country="TW")
HONG_KONG = WorkCalendar("Asia/Hong_Kong", country="HK")


def local(cal: WorkCalendar, *args: int) -> datetime:
    return datetime(*args, tzinfo=cal.tz)  # type: ignore[misc]


def test_hours_inside_one_working_day() -> None:
    start = local(SHANGHAI, 2026, 12, 2, 10, 0)  # a Wednesday
    assert SHANGHAI.add_working_hours(start, 4) == local(SHANGHAI, 2026, 12, 2, 14, 0)


def test_hours_carry_over_the_night_and_the_weekend() -> None:
    friday_late = local(SHANGHAI, 2026, 12, 4, 17, 0)
    assert SHANGHAI.add_working_hours(friday_late, 4) == local(SHANGHAI, 2026, 12, 7, 12, 0)
    saturday = local(SHANGHAI, 2026, 12, 5, 11, 0)
    assert SHANGHAI.add_working_hours(saturday, 1) == local(SHANGHAI, 2026, 12, 7, 10, 0)


def test_a_utc_moment_is_counted_on_the_local_clock() -> None:
    # 23:30 UTC on Tuesday is 07:30 on Wednesday in Shanghai: counting starts at 09:00.
    start = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert SHANGHAI.add_working_hours(start, 2) == local(SHANGHAI, 2026, 12, 2, 11, 0)


def test_national_day_golden_week_is_skipped() -> None:
    # 国庆 2026: 1–7 October are holidays in the calendar the package ships.
    before = local(SHANGHAI, 2026, 9, 30, 16, 0)
    assert SHANGHAI.add_working_hours(before, 4) == local(SHANGHAI, 2026, 10, 8, 11, 0)
    assert SHANGHAI.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_spring_festival_is_skipped() -> None:
    # 春节 2027: 5–10 February.
    eve = local(SHANGHAI, 2027, 2, 4, 17, 30)
    assert SHANGHAI.add_working_hours(eve, 1) == local(SHANGHAI, 2027, 2, 11, 9, 30)
    assert SHANGHAI.holiday(date(2027, 2, 8)) is not None


def test_a_taiwan_holiday_is_skipped_but_not_in_shanghai() -> None:
    # 228 Peace Memorial Day is observed on Friday 27 February 2026 in Taiwan.
    thursday = local(TAIPEI, 2026, 2, 26, 17, 0)
    assert TAIPEI.add_working_hours(thursday, 2) == local(TAIPEI, 2026, 3, 2, 10, 0)
    assert SHANGHAI.is_working_day(date(2026, 2, 27))
    assert not TAIPEI.is_working_day(date(2026, 2, 27))


def test_hong_kong_keeps_its_own_holidays() -> None:
    assert not HONG_KONG.is_working_day(date(2026, 12, 25))  # Christmas Day
    assert SHANGHAI.is_working_day(date(2026, 12, 25))


def test_own_days_off_and_makeup_workdays() -> None:
    cal = WorkCalendar(
        "Asia/Shanghai",
        country="CN",
        days_off=frozenset({date(2026, 12, 31)}),
        workdays=frozenset({date(2026, 12, 27)}),  # a Sunday worked instead
    )
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 27))
    assert cal.add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 4)  # 31st off, 1 Jan


def test_office_hours_of_a_project() -> None:
    assert parse_office_hours("08:30-17:30") == (time(8, 30), time(17, 30))
    with pytest.raises(ValueError):
        parse_office_hours("18:00-09:00")
    project = ProjectConfig(
        key="HX", name="华信", timezone="Asia/Shanghai", office_hours="10:00-12:00", holidays="CN"
    )
    cal = WorkCalendar.for_project(Config(mailboxes=()), project)
    start = local(cal, 2026, 12, 2, 11, 0)
    assert cal.add_working_hours(start, 3) == local(cal, 2026, 12, 3, 12, 0)
