"""A Maildir mailbot with three client projects (en, zh-Hans, zh-Hant) for report tests.

Mail goes through the real pipeline (with `SubjectTriage`); then the tests pin the
items' times, so reports made at the injected `NOW` are the same on every run.
`busy_bot` is built once per session and copied for each test (tests/support/prepared.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import update

from mailbot.config_types import MilestoneConfig, ProjectConfig, ScheduleConfig, SiteConfig
from mailbot.items.lifecycle import change_status
from mailbot.storage.models import Cursor, Item, StoredMessage
from tests.support.databases import PostgresServer
from tests.support.pipeline import MaildirBot
from tests.support.prepared import Prepared

# Monday 30 November 2026, 09:00 in Shanghai: the weekly summaries are due.
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
ACME = ProjectConfig(
    key="ACME",
    name="ACME web shop",
    client_domains=("acme.example",),
    client_addresses=("acme.boss@qq.com",),
    language="en",
    pm="lena@agency.example",
    pm_name="Lena Wu",
    milestones=(
        MilestoneConfig("Design sign-off", date(2026, 11, 13), "done"),
        MilestoneConfig("User acceptance testing", date(2026, 12, 4), "in_progress"),
        MilestoneConfig("Go-live", date(2026, 12, 18)),
    ),
)
HX = ProjectConfig(
    key="HX",
    name="华信物流",
    client_domains=("huaxin.example",),
    language="zh-Hans",
    pm="wang@agency.example",
    pm_name="王磊",
    pm_language="zh-Hans",
    milestones=(
        MilestoneConfig("系统联调", date(2026, 11, 27), "in_progress"),
        MilestoneConfig("正式上线", date(2026, 12, 20)),
    ),
)
TW = ProjectConfig(
    key="TW",
    name="福爾摩沙書店",
    client_domains=("formosa.example",),
    language="zh-Hant",
    pm="lena@agency.example",
    pm_name="林怡君",
)
SCHEDULES = ScheduleConfig(
    timezone="Asia/Shanghai",
    digest_days="weekdays",
    digest_time="08:30",
    summary_day="monday",
    summary_time="09:00",
    summary_hold_first=False,  # tests of the first report's hold say so
)
# mailbot watches the inbox from two weeks before NOW: every report covers whole weeks.
WATCHING_SINCE = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


class Bot(MaildirBot):
    """Three clients (en, zh-Hans, zh-Hant) and their schedules; mail carries no Date.

    A pass leaves what it queues in the outbox: the tests read the reports, which `sent`
    delivers to the folder.
    """

    def __init__(self, root: Path, schedules: ScheduleConfig = SCHEDULES) -> None:
        super().__init__(
            root,
            projects=(ACME, HX, TW),
            site=SiteConfig(
                name="Northwind Digital", address="team@agency.example", domain="agency.example"
            ),
            schedules=schedules,
            date=None,
            delivery=lambda: None,
        )

    def run(self) -> list[EmailMessage]:
        found = super().run()
        self.watching_since(WATCHING_SINCE)
        return found

    def watching_since(self, moment: datetime) -> None:
        """Pretend mailbot started watching at `moment` (the cursors' first fetch)."""
        with self.db.session() as s:
            s.execute(update(Cursor).values(started_at=moment))

    def sent(self, kind: str) -> list[bytes]:
        """Deliver the outbox to the folder; the files of one kind written so far."""
        self.send(now=NOW + timedelta(days=30))
        return [p.read_bytes() for p in self.outbox_files(kind)]

    def pin(self, ref: str, created: datetime) -> None:
        """Give an item (and its mail) a fixed creation time."""
        with self.db.session() as s:
            item = self.item(ref, s)
            item.created_at = created
            s.execute(
                update(StoredMessage)
                .where(StoredMessage.item_id == item.id)
                .values(received_at=created)
            )

    def move(self, ref: str, *statuses: str, at: datetime) -> None:
        with self.db.session() as s:
            item = self.item(ref, s)
            for status in statuses:
                event = change_status(item, status, actor="lena", reason="test")
                event.at = at
                s.add(event)

    def set(self, ref: str, **values: object) -> None:
        with self.db.session() as s:
            s.execute(update(Item).where(Item.ref == ref).values(**values))


def at(day: int, hour: int) -> datetime:
    """A time in November 2026, Shanghai wall clock, as UTC."""
    return datetime(2026, 11, day, hour, tzinfo=UTC) - timedelta(hours=8)


def populate(bot: Bot) -> None:
    """A realistic week for three clients: issues, change requests, feedback, noise, strays."""
    mails = [
        ("Anna Keller <anna@acme.example>", "Checkout fails with error 500", 24, 10),
        ("Tom Berg <tom@acme.example>", "Please change the logo on the invoice", 24, 15),
        ("Anna Keller <anna@acme.example>", "Search returns nothing for umlauts", 25, 9),
        ("Acme Boss <acme.boss@qq.com>", "Thanks for the quick release", 26, 11),
        ("Anna Keller <anna@acme.example>", "URGENT: payment page down", 29, 22),
        ("张伟 <zhang.wei@huaxin.example>", "运单查询页面打不开", 24, 14),
        ("李娜 <li.na@huaxin.example>", "希望变更报表导出格式", 25, 16),
        ("张伟 <zhang.wei@huaxin.example>", "新版本很好用，谢谢", 27, 10),
        ("陳美玲 <mei@formosa.example>", "會員登入後購物車是空的", 26, 9),
        ("Stranger <someone@elsewhere.example>", "Question about your services", 28, 12),
    ]
    for sender, subject, _day, _hour in mails:
        bot.deliver(sender, subject)
    bot.deliver(
        "Anna Keller <anna@acme.example>",
        "Out of office",
        extra="Auto-Submitted: auto-replied\r\n",
    )
    bot.deliver("noreply@acme.example", "Your invoice is ready")
    bot.run()
    refs = [
        "ACME-1",
        "ACME-2",
        "ACME-3",
        "ACME-4",
        "ACME-5",
        "HX-1",
        "HX-2",
        "HX-3",
        "TW-1",
        "TRIAGE-1",
    ]
    for ref, (_s, _subj, day, hour) in zip(refs, mails, strict=True):
        bot.pin(ref, at(day, hour))
    bot.pin("ACME-6", at(29, 23))  # the robot's mail, filed as an issue nobody will see
    # The team's week: one fix delivered, one in progress, an estimate awaiting approval.
    bot.move("ACME-1", "in_progress", "resolved", at=at(26, 17))
    bot.move("ACME-3", "in_progress", at=at(27, 10))
    bot.move("ACME-2", "under_review", at=at(25, 10))
    bot.set("ACME-2", approval_requested_at=at(27, 12), first_response_at=at(25, 10))
    bot.set("ACME-3", first_response_at=at(25, 11), needs_review=True)
    bot.move("HX-1", "in_progress", at=at(25, 9))
    bot.set("HX-1", first_response_at=at(24, 15))
    bot.move("HX-2", "under_review", "approved", "scheduled", at=at(27, 15))
    bot.set("HX-2", first_response_at=at(25, 17), target_date=date(2026, 12, 3))
    # Dates the team expects and what it waits for from the client.
    bot.set("ACME-3", target_date=date(2026, 12, 2))
    bot.set(
        "HX-1",
        waiting_since=at(27, 10),
        waiting_note="测试环境的账号和密码",
        needed_by=date(2026, 12, 1),
    )


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with Bot(tmp_path) as b:
        yield b


@pytest.fixture(scope="session")
def busy_once(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer | None
) -> Prepared:
    return Bot.prepare(tmp_path_factory, "busy", populate, postgres_server)


@pytest.fixture
def busy_bot(tmp_path: Path, busy_once: Prepared, database_backend: str) -> Iterator[Bot]:
    """The bot after `populate`: a copy of the session's busy week."""
    with Bot.copied(busy_once, tmp_path) as b:
        yield b
