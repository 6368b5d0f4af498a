"""The report scheduler inside the daemon: call `run_pending(now)` about once a minute.

The jobs are defined with the `schedule` library (`every().monday.at("09:00")`), which
also checks the times. Whether a job is due is worked out here, from the `now` the
caller passes and the configured time zone: `schedule` reads the system clock and
needs pytz for time zones, and tests must be able to say "it is Monday 09:00 in
Shanghai" without waiting for it.

Each call makes the latest period's reports that do not exist yet, and nothing else:
a missed period is not made up later (only the latest one is), and the `Report`
table's unique key makes every period's report exactly once, whichever daemon or
restart gets there first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import schedule

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.reports import digest, summary
from mailbot.reports.mail import Outcome, aware
from mailbot.reports.periods import digest_slot, summary_slot
from mailbot.storage.db import Database
from mailbot.storage.store import watching_since

log = logging.getLogger("mailbot.reports")

WEEKDAY_JOBS = ("monday", "tuesday", "wednesday", "thursday", "friday")


class ReportScheduler:
    """Makes the PM digests and client summaries when they are due."""

    def __init__(self, config: Config, db: Database, *, clock: type[datetime] = datetime) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.jobs = schedule.Scheduler()
        self._define_jobs()
        self._reported: set[tuple[str, str, str, str]] = set()  # (kind, scope, period, result)
        self._failures: set[tuple[str, str]] = set()

    def _define_jobs(self) -> None:
        sched = self.config.schedules
        days = WEEKDAY_JOBS if sched.digest_days == "weekdays" else ("day",)
        for day in days:
            getattr(self.jobs.every(), day).at(sched.digest_time).do(self._noop).tag("digest")
        weekly = getattr(self.jobs.every(), sched.summary_day).at(sched.summary_time)
        weekly.do(self._noop).tag("summary")

    @staticmethod
    def _noop() -> None:
        """Jobs are never run by `schedule` itself; see the module docstring."""

    def describe(self) -> list[str]:
        """The jobs in words, for `mailbot check-config` and the logs."""
        tz = self.config.schedules.timezone
        # Not repr(job): its "next run" is computed from the system clock and zone.
        return [
            f"{sorted(job.tags)[0]}: every {job.start_day or 'day'} at {job.at_time:%H:%M} ({tz})"
            for job in self.jobs.get_jobs()
        ]

    def run_pending(self, now: datetime | None = None) -> list[Outcome]:
        """Make every report due at `now` (aware; default the clock) that is not made yet."""
        if not self.config.schedules.enabled:
            return []
        now = now or self.clock.now(UTC)
        if now.tzinfo is None:
            raise ValueError("run_pending needs an aware datetime, e.g. datetime.now(UTC)")
        now = now.astimezone(UTC)
        with self.db.session() as session:
            watching = watching_since(session)
        if watching is None:
            return []  # no mailbox fetched yet: there is nothing to report on
        # Only slots after mailbot started watching: a first start on a Thursday sends
        # nothing until the next digest time and the next weekly report day.
        start = aware(watching)
        outcomes: list[Outcome] = []
        slot = digest_slot(self.config.schedules, now)
        if slot is not None and slot.due_at >= start:
            outcomes += self._guard(
                "digest", lambda: digest.make_digests(self.db, self.config, now, period=slot.period)
            )
        weekly = summary_slot(self.config.schedules, now)
        # In observe mode a summary waits for the PM like any held one: nothing automatic
        # goes to clients.
        hold = self.config.schedules.summary_hold or self.config.acknowledgements.observing(now)
        for project in self.config.projects if weekly.due_at >= start else ():

            def make(p: ProjectConfig = project) -> list[Outcome]:
                return [
                    summary.make_summary(
                        self.db,
                        self.config,
                        p,
                        now,
                        period=weekly.period,
                        hold=hold,
                        scheduled=True,
                    )
                ]

            outcomes += self._guard(f"summary {project.key}", make)
        for outcome in outcomes:
            self._log(outcome)
        return [o for o in outcomes if o.result != "exists"]

    def _guard(self, what: str, make: Callable[[], list[Outcome]]) -> list[Outcome]:
        # One failing report (a database hiccup, a broken template) must not stop the
        # others or the daemon; the next minute tries again. The trace is logged once per
        # distinct error, not every minute.
        try:
            return make()
        except Exception as err:
            key = (what, str(err))
            if key in self._failures:
                log.debug("%s report still failing: %s", what, err)
            else:
                self._failures.add(key)
                log.exception("%s report failed: %s (retrying every minute)", what, err)
            return []

    def _log(self, outcome: Outcome) -> None:
        key = (outcome.kind, outcome.scope, outcome.period, outcome.result)
        if outcome.result == "exists" or key in self._reported:
            return  # said once per period is enough, not every minute
        self._reported.add(key)
        level = logging.WARNING if outcome.result in ("failed",) else logging.INFO
        if outcome.result == "skipped" and "no client contacts" in outcome.detail:
            level = logging.WARNING
        log.log(
            level,
            "%s %s for %s: %s%s",
            outcome.kind,
            outcome.period,
            outcome.scope,
            outcome.result,
            f" ({outcome.detail})" if outcome.detail else "",
        )
