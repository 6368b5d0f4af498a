"""A month unattended, under an injected clock, in minutes of real time.

The production pipeline and report schedule run tick by tick over simulated weeks: clients
of three projects (English, Simplified and Traditional Chinese) write during office hours,
some mails are urgent, some change requests, a robot repeats itself until a breaker stops
our answers and ends after its cool-down, the PM digest falls due every weekday and the
weekly report every Monday; in the month's run the IMAP mailbox's credential is renewed every
day as an OAuth token is (the new one in the password file, the server taking only it and
dropping the session). Every tick drains the Maildir, works the stages, runs the schedule and
delivers the outbox, at the tick's time.

Asserted: every mail stored once and taken to an end, each digest and each weekly report
made and delivered once per period and none skipped, the breaker tripped and ended as often as
the robot set it off, and this process's resident memory and open file descriptors flat
(at most 10% growth from the end of the first week to the end).

The default run covers 9 days in hourly ticks; `pytest -m soak` 31 days in 15-minute ticks.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from mailbot.reports.scheduler import ReportScheduler
from mailbot.sources.imap import ImapSource
from mailbot.storage.models import (
    Cursor,
    Event,
    MessageState,
    OutboxMail,
    OutboxState,
    Report,
    StoredMessage,
)
from tests.integration.soak import soak_test
from tests.integration.watching import Watching
from tests.servers import DovecotAccount
from tests.support.pipeline import MaildirBot
from tests.unit.reports.conftest import ACME, HX, SCHEDULES, TW

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 5, 0, 0, tzinfo=SHANGHAI).astimezone(UTC)  # a Monday, 00:00
CLIENTS = {
    ACME.key: ("Anna Keller <anna@acme.example>", "en"),
    HX.key: ("张伟 <zhang@huaxin.example>", "zh-Hans"),
    TW.key: ("陳美玲 <chen@formosa.example>", "zh-Hant"),
}
SUBJECTS = {
    "en": ("Checkout fails with error {n}", "Please change the banner on page {n}", "Thanks {n}"),
    "zh-Hans": ("订单页面报错 {n}", "需求变更：首页第{n}块", "谢谢 {n}"),
    "zh-Hant": ("結帳失敗 {n}", "需求變更：首頁第{n}區", "謝謝 {n}"),
}
ROBOT = "Autoresponder <robot@acme.example>"
ROBOT_DAYS = (2, 5)  # the robot repeats itself on these days, after the breaker's cool-down


@dataclass
class Footprint:
    """Resident memory and open file descriptors of this process over the run."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (day, rss KB, fds)

    def take(self, day: float) -> None:
        """This process and its children (the parse helper): resident KB and open fds."""
        pids = [os.getpid(), *_children(os.getpid())]
        rss_kb = sum(_rss_kb(pid) for pid in pids)
        fds = sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)
        self.samples.append((day, rss_kb, fds))

    def growth(self, after_day: float) -> tuple[float, float]:
        """(RSS growth, fd growth) from the first sample at or after `after_day` to the last."""
        base = next(s for s in self.samples if s[0] >= after_day)
        last = self.samples[-1]
        return last[1] / base[1] - 1, last[2] / base[2] - 1


class SimulatedClock(datetime):
    """The month's clock, for the parts that take a datetime class (the acknowledger)."""

    current = START

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return cls.current.astimezone(tz) if tz else cls.current.replace(tzinfo=None)


def _imap_mail(day: int) -> bytes:
    return (
        f"From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\nSubject: Day {day}\r\n"
        f"Message-ID: <imap-day-{day}@acme.example>\r\n\r\nStill there on day {day}.\r\n"
    ).encode()


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == parent:
                found.append(int(entry))
    return found


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _month(
    tmp_path: Path,
    *,
    days: int,
    tick: timedelta,
    warm_days: float,
    imap: DovecotAccount | None = None,
) -> None:
    """The month; with `imap`, an IMAP watcher in this process too, its IDLE renewed each
    second all along (its mail one a simulated day), so its sockets count in the footprint."""
    now = SimulatedClock.current = START
    projects = tuple(
        replace(p, milestones=(), client_addresses=(CLIENTS[p.key][0].split("<")[1][:-1],))
        for p in (ACME, HX, TW)
    )
    bot = MaildirBot(tmp_path, projects=projects, clock=lambda: now, date=None, schedules=SCHEDULES)
    bot.config = replace(
        bot.config,
        acknowledgements=replace(bot.config.acknowledgements, max_per_sender_per_hour=1000),
    )
    pipeline = bot.pipeline()
    pipeline.acknowledger.clock = SimulatedClock  # type: ignore[union-attr]
    pipeline.run_once()
    with bot.db.session() as s:  # mailbot started watching at the month's first moment
        s.execute(update(Cursor).values(started_at=START))
    scheduler = ReportScheduler(bot.config, bot.db)
    footprint = Footprint()
    watching = contextlib.ExitStack()
    watcher: Watching | None = None
    idles = [0]
    if imap is not None:
        idle_once = ImapSource._idle_once

        def counted(source: ImapSource, span: float) -> bool:
            idles[0] += 1
            return idle_once(source, span)

        watching.enter_context(patch.object(ImapSource, "_idle_once", counted))
        box = imap.mailbox_config(idle=True, idle_recheck=1)
        (tmp_path / "imap").mkdir()
        watcher = watching.enter_context(Watching(box, tmp_path / "imap"))
    delivered: Counter[str] = Counter()
    robot_bursts = 0
    renewals = 0
    n = 0
    try:
        end = START + timedelta(days=days)
        while now < end:
            local = now.astimezone(SHANGHAI)
            day = (now - START) / timedelta(days=1)
            # Office hours on weekdays: each client writes every other hour.
            if local.weekday() < 5 and 9 <= local.hour < 18 and local.minute < tick.seconds / 60:
                for key, (sender, language) in CLIENTS.items():
                    if (local.hour + len(key)) % 2 == 0:
                        n += 1
                        subject = SUBJECTS[language][n % 3].format(n=n)
                        bot.deliver(sender, subject, f"Mail {n}.", arrived=now)
                        delivered[key] += 1
            if int(day) in ROBOT_DAYS and local.hour == 10 and local.minute < tick.seconds / 60:
                robot_bursts += 1
                for _ in range(6):  # the same mail again and again: a loop, not a client
                    n += 1
                    bot.deliver(
                        ROBOT, "Automatic reply: received", "Your mail was received.", arrived=now
                    )
            pipeline.run_once()
            scheduler.run_pending(now)
            # The outbox stamps its rows with the wall clock, not the pipeline's: deliver at
            # the later of the two so what is queued is due.
            bot.send(max(now, datetime.now(UTC)))
            if local.hour == 0 and local.minute < tick.seconds / 60:
                footprint.take(day)
                if imap is not None:
                    # The mailbox's credential is renewed daily, as an OAuth token is:
                    # mailbot reads the new one at its next login, after the server dropped
                    # the session (Dovecot here checks a password, not a token).
                    imap = imap.renewed()
                    renewals += 1
                    imap.append("INBOX", _imap_mail(int(day)))
            now += tick
            SimulatedClock.current = now
        footprint.take(days)
        _assert_month(bot, n, robot_bursts, days)
        if watcher is not None:
            assert watcher.until(lambda: watcher.stored() == days), watcher.log()
            assert idles[0] >= 30, (idles, watcher.log())  # IDLE renewed all month long
            # A login with each renewed token (the first one's too), none refused for good.
            assert watcher.text().count("connected to") >= renewals + 1, watcher.log()
    finally:
        watching.close()
        bot.close()
    rss, fds = footprint.growth(warm_days)
    (tmp_path / "footprint.txt").write_text(
        "\n".join(f"day {d:.0f}: {kb} KB resident, {n} fds" for d, kb, n in footprint.samples)
        + f"\nfrom day {warm_days}: memory {rss:+.1%}, file descriptors {fds:+.1%}\n"
    )
    assert rss <= 0.10, f"resident memory grew {rss:.0%}: {footprint.samples}"
    assert fds <= 0.10, f"open file descriptors grew {fds:.0%}: {footprint.samples}"


def _assert_month(bot: MaildirBot, mails: int, robot_bursts: int, days: int) -> None:
    client_mails = mails - 6 * robot_bursts
    with bot.db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == mails
        states = Counter(s.scalars(select(StoredMessage.state)))
        assert set(states) == {MessageState.ANSWERED}, states
        outbox = s.scalars(select(OutboxMail)).all()
        reports = s.execute(select(Report.kind, Report.scope, Report.period, Report.outbox_id))
        reports = reports.all()
        trips = s.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "breaker_tripped")
        )
    assert {o.state for o in outbox} == {OutboxState.SENT}
    assert all(o.claimed_by is None for o in outbox)
    kinds = Counter(o.kind for o in outbox)
    acks = [o for o in outbox if o.kind == "ack"]
    assert len(acks) == len({o.message_pk for o in acks}) == client_mails, kinds
    # The PM digest: every weekday, once for each PM, made and sent once.
    weekdays = {
        str(day)
        for d in range(days)
        if (day := (START + timedelta(days=d)).astimezone(SHANGHAI).date()).weekday() < 5
    }
    pms = {p.pm for p in (ACME, HX, TW)}
    digests = [(scope, period) for kind, scope, period, _ in reports if kind == "digest"]
    assert sorted(digests) == sorted((pm, day) for pm in pms for day in weekdays), digests
    assert kinds["digest"] == len(digests)
    # The weekly report: every week that began after mailbot started, once per project; the
    # week before it started at most once (it has nothing to say for a quiet project).
    summaries = Counter((scope, period) for kind, scope, period, _ in reports if kind == "summary")
    first_week = (START - timedelta(days=7)).astimezone(SHANGHAI).isocalendar()
    first = f"{first_week.year}-W{first_week.week:02d}"
    full_weeks = (days - 1) // 7
    later = [key for key in summaries if key[1] != first]
    assert len(later) == 3 * full_weeks and set(summaries.values()) == {1}, summaries
    assert kinds["summary"] == len(summaries), kinds
    made = [outbox_id for *_, outbox_id in reports]
    assert None not in made and len(set(made)) == len(made)  # each report one mail of its own
    # The robot: a breaker for each burst, the PM told once each, none of its mails answered.
    assert trips == robot_bursts == kinds["breaker"], (trips, kinds)
    assert len(bot.outbox_files()) == len(outbox)  # every mail written once


def test_nine_days_unattended(tmp_path: Path) -> None:
    _month(tmp_path, days=9, tick=timedelta(hours=1), warm_days=2)
    assert (tmp_path / "outbox").is_dir()


@soak_test
def test_soak_a_month_unattended(tmp_path: Path, imap_account: DovecotAccount) -> None:
    _month(tmp_path, days=31, tick=timedelta(minutes=15), warm_days=7, imap=imap_account)
    assert (tmp_path / "outbox").is_dir()
