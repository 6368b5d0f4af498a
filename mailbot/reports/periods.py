"""Report periods: which local day or ISO week a report belongs to, and when it is due.

All arithmetic is on the wall clock of the configured time zone: "08:30 on
weekdays" stays 08:30 across daylight-saving changes. A local time that does not
exist (skipped by a spring-forward) is taken as the instant the clocks jump to;
a local time that happens twice (fall-back) is the first of the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.config_types import WEEKDAYS, ScheduleConfig
from mailbot.errors import MailbotError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOOKBACK_DAYS = 8  # a weekly slot is always found within the last eight local days


class PeriodError(MailbotError):
    """A period key given on the command line cannot be read."""

    code = "MB900"


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled occurrence: its period key and the UTC instant it falls due."""

    period: str
    due_at: datetime  # aware, UTC
    local_date: date


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time; gaps move forward, repeats take the first."""
    # PEP 495, fold=0: a skipped time is read with the offset from before the jump, which
    # lands just after it (02:30 -> 03:30); a repeated time is its first occurrence.
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def day_period(day: date) -> str:
    """The digest period key: the local date, e.g. `2026-11-27`."""
    return day.isoformat()


def week_period(day: date) -> str:
    """The summary period key: the ISO week of a local date, e.g. `2026-W48`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(period: str) -> date:
    """The Monday of an ISO week key such as `2026-W48`."""
    match = _WEEK.match(period.strip())
    if not match:
        raise PeriodError(
            f"{period!r} is not a week", "write the ISO week as YYYY-Www, e.g. 2026-W48"
        )
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise PeriodError(
            f"{period!r} is not a week of that year", "ISO weeks run from W01 to W52 or W53"
        ) from None


def check_day_period(period: str) -> str:
    """A digest period key (YYYY-MM-DD), validated."""
    try:
        if not _DAY.match(period.strip()):
            raise ValueError
        return date.fromisoformat(period.strip()).isoformat()
    except ValueError:
        raise PeriodError(
            f"{period!r} is not a date", "write the digest day as YYYY-MM-DD, e.g. 2026-11-27"
        ) from None


def _digest_day(day: date, schedules: ScheduleConfig) -> bool:
    return schedules.digest_days == "daily" or day.weekday() < 5


def digest_slot(schedules: ScheduleConfig, now: datetime) -> Slot | None:
    """The latest digest occurrence at or before `now` (None only if none in a week)."""
    tz = ZoneInfo(schedules.timezone)
    at = parse_hhmm(schedules.digest_time)
    today = now.astimezone(tz).date()
    for back in range(LOOKBACK_DAYS):
        day = today - timedelta(days=back)
        if not _digest_day(day, schedules):
            continue
        due = local_instant(day, at, tz)
        if due <= now:
            return Slot(day_period(day), due, day)
    return None


def reported_week(day: date) -> str:
    """The week a report sent on `day` is about: the last whole ISO week before it."""
    return week_period(day - timedelta(days=day.weekday() + 1))


def week_window(period: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 of an ISO week, on the wall clock of `tz`, as UTC.

    Consecutive weeks meet exactly: nothing is reported twice, nothing falls between.
    """
    monday = week_start(period)
    return (
        local_instant(monday, time(0, 0), tz),
        local_instant(monday + timedelta(days=7), time(0, 0), tz),
    )


def summary_slot(schedules: ScheduleConfig, now: datetime) -> Slot:
    """The latest weekly summary occurrence at or before `now`; its period is the week it
    reports on (the last whole week before it)."""
    tz = ZoneInfo(schedules.timezone)
    at = parse_hhmm(schedules.summary_time)
    weekday = WEEKDAYS.index(schedules.summary_day)
    today = now.astimezone(tz).date()
    for back in range(LOOKBACK_DAYS):
        day = today - timedelta(days=back)
        if day.weekday() == weekday and (due := local_instant(day, at, tz)) <= now:
            return Slot(reported_week(day), due, day)
    raise AssertionError("a weekday recurs within eight days")  # pragma: no cover


def summary_slot_for(schedules: ScheduleConfig, period: str) -> Slot:
    """When the report on a given ISO week is scheduled: in the week after it."""
    monday = week_start(period) + timedelta(days=7)
    day = monday + timedelta(days=WEEKDAYS.index(schedules.summary_day))
    due = local_instant(day, parse_hhmm(schedules.summary_time), ZoneInfo(schedules.timezone))
    return Slot(period, due, day)


def digest_slot_for(schedules: ScheduleConfig, period: str) -> Slot:
    """The digest occurrence on a given local day."""
    day = date.fromisoformat(check_day_period(period))
    due = local_instant(day, parse_hhmm(schedules.digest_time), ZoneInfo(schedules.timezone))
    return Slot(day_period(day), due, day)


def local_date(schedules: ScheduleConfig, now: datetime) -> date:
    return now.astimezone(ZoneInfo(schedules.timezone)).date()
