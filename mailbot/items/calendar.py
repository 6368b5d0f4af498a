"""A project's working calendar: office hours in its time zone, weekends, public holidays.

What we promise a client ("a first answer within 4 working hours", "a decision within 5
working days") is counted here, on the project's calendar: its time zone
(`projects.timezone`, else `schedules.timezone`), its office hours (`projects.office_hours`,
"09:00-18:00"), Monday to Friday, minus the public holidays of `projects.holidays` (a
country code the `holidays` package knows: CN, TW, HK, DE …) and the team's own
`projects.days_off`; `projects.workdays` are weekend days worked instead (China's 调休).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from mailbot.config import Config
from mailbot.config_types import ProjectConfig

DEFAULT_OFFICE_HOURS = (time(9, 0), time(18, 0))
MAX_DAYS_SEARCHED = 366  # a calendar with no working day in a year is a configuration error


@cache
def _public_holidays(country: str, year: int) -> dict[date, str]:
    return dict(holidays.country_holidays(country, years=year).items())


def parse_office_hours(value: str) -> tuple[time, time]:
    """`"09:00-18:00"` -> (09:00, 18:00); the end after the start."""
    start_text, end_text = value.replace("–", "-").split("-")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    if end <= start:
        raise ValueError(f"office hours end before they start: {value!r}")
    return start, end


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """When the team works, and arithmetic in working hours and working days."""

    timezone: str
    start: time = DEFAULT_OFFICE_HOURS[0]
    end: time = DEFAULT_OFFICE_HOURS[1]
    country: str | None = None  # public holidays of this country (None: weekends only)
    days_off: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # weekend days worked instead

    @classmethod
    def for_project(cls, config: Config, project: ProjectConfig | None) -> WorkCalendar:
        if project is None:
            return cls(config.schedules.timezone)
        start, end = parse_office_hours(project.office_hours)
        return cls(
            timezone=project.timezone or config.schedules.timezone,
            start=start,
            end=end,
            country=project.holidays,
            days_off=frozenset(project.days_off),
            workdays=frozenset(project.workdays),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday or day off on `day`, or None."""
        if day in self.days_off:
            return "day off"
        if self.country is None:
            return None
        return _public_holidays(self.country, day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and self.holiday(day) is None

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no working day within a year: check days_off and holidays")

    def add_working_days(self, start: date, days: int) -> date:
        """The working day `days` working days after `start` (start itself not counted)."""
        current = start
        for _ in range(days):
            current = self.next_working_day(current + timedelta(days=1))
        return current

    def _opening(self, day: date) -> datetime:
        return datetime.combine(day, self.start, tzinfo=self.tz)

    def _closing(self, day: date) -> datetime:
        return datetime.combine(day, self.end, tzinfo=self.tz)

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The local time `hours` office hours after `moment` (aware), on this calendar.

        Mail that arrives at night, on a weekend or on a holiday starts counting when the
        office next opens: 4 working hours from Friday 17:00 is Monday 12:00.
        """
        local = moment.astimezone(self.tz)
        remaining = timedelta(hours=hours)
        day = local.date()
        current = local
        for _ in range(MAX_DAYS_SEARCHED * 2):
            if not self.is_working_day(day) or current >= self._closing(day):
                day = self.next_working_day(day + timedelta(days=1))
                current = self._opening(day)
                continue
            current = max(current, self._opening(day))
            left_today = self._closing(day) - current
            if remaining <= left_today:
                return current + remaining
            remaining -= left_today
            current = self._closing(day)
        raise ValueError("working hours could not be counted: check the calendar")

    def holidays_between(self, first: date, last: date) -> Iterable[tuple[date, str]]:
        """Holidays and days off from `first` to `last` inclusive, in order."""
        day = first
        while day <= last:
            name = self.holiday(day)
            if name is not None:
                yield day, name
            day += timedelta(days=1)
