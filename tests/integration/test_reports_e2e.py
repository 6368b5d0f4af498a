"""Scheduled reports end to end: mail in from Dovecot, reports out through a real SMTP server.

On an injected Monday 09:00 in Shanghai the Chinese client gets one Chinese progress
summary and the PM one digest; calling again, or from a fresh scheduler after a
restart, sends nothing more.
"""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.app import build_pipeline
from mailbot.config import Config, load_config
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.reports.scheduler import ReportScheduler
from mailbot.reports.summary import release_summary
from mailbot.storage.db import open_database
from tests.servers import DovecotAccount
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
PM = "pm@agency.example"
PROJECTS = [
    {
        "key": "ACME",
        "name": "ACME web shop",
        "client_domains": ["acme.example"],
        "language": "en",
        "pm": PM,
    },
    {
        "key": "HX",
        "name": "华信物流",
        "client_domains": ["huaxin.example"],
        "language": "zh-Hans",
        "pm": PM,
        "pm_name": "王磊",
    },
]


def client_mail(n: int, sender: str, subject: str, body: str, *, auto: bool = False) -> bytes:
    msg = email.message.EmailMessage(policy=policy.SMTP)
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg["From"] = sender
    msg["To"] = "Agency team <team@agency.example>"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<r{n}@client>"
    msg.set_content(body)
    return bytes(msg)


def next_monday_9am(now: datetime) -> datetime:
    """The first Monday 09:00 Shanghai time after `now`: the mail below is in its week."""
    local = now.astimezone(SHANGHAI)
    monday = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    due = datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=SHANGHAI)
    return (due if due > local else due + timedelta(days=7)).astimezone(UTC)


def configure(tmp_path: Path, account: DovecotAccount, sink: SmtpSink) -> Config:
    path = write_config(
        tmp_path / "mailbot.toml",
        account.mailbox_config(),
        "sqlite:///mb.sqlite3",
        projects=PROJECTS,
        smtp_port=sink.port,
        site={"name": "Agency team", "address": "team@agency.example"},
        schedules={"timezone": "Asia/Shanghai", "digest_time": "08:30", "summary_time": "09:00"},
    )
    return load_config(path)


def reports(
    sink: SmtpSink, skip: int = 0
) -> list[tuple[tuple[str, ...], email.message.EmailMessage]]:
    """What the sink received after the first `skip` mails that is generated, not a reply."""
    found = []
    for received in sink.messages[skip:]:
        msg = email.message_from_bytes(received.content, policy=policy.default)
        if msg["Auto-Submitted"] == "auto-generated":
            found.append((tuple(received.rcpt_tos), msg))  # type: ignore[arg-type]
    return found


def test_monday_morning_sends_one_chinese_summary_and_one_digest(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    config = configure(tmp_path, imap_account, smtp_sink)
    imap_account.append_many(
        "INBOX",
        [
            client_mail(
                1,
                "王芳 <wangfang@huaxin.example>",
                "后台登录不了",
                "你好，从今天上午开始运营后台一直登录不了，提示系统错误，麻烦尽快处理。",
            ),
            client_mail(
                2,
                "Auto <wangfang@huaxin.example>",
                "自动回复: 后台登录不了",
                "我正在休假，12月1日回来。",
                auto=True,
            ),
        ],
    )
    db = open_database(config.database_url)
    build_pipeline(config, db).run_once()
    acks_before = len(smtp_sink.messages)
    assert acks_before >= 1  # the client's acknowledgement

    monday = next_monday_9am(datetime.now(UTC))
    made = ReportScheduler(config, db).run_pending(monday)
    assert sorted((o.kind, o.scope, o.result) for o in made) == [
        ("digest", PM, "queued"),
        ("summary", "ACME", "skipped"),  # no items: nothing to tell that client
        ("summary", "HX", "held"),  # the first report to a client waits for the PM
    ]
    project = config.project("HX")
    assert project is not None
    released = release_summary(db, config, project, monday + timedelta(minutes=5), actor="王磊")
    assert released.result == "released"
    deliver_outbox(db, config)
    sent = reports(smtp_sink, skip=acks_before)  # the ack and the PM's escalation notice
    assert len(sent) == 2
    by_to = {rcpt: msg for rcpt, msg in sent}
    summary = by_to[("wangfang@huaxin.example",)]
    assert summary["Subject"].startswith("华信物流项目周报（")
    assert summary["Content-Language"] == "zh-Hans"
    text = summary.get_body(("plain",)).get_content()
    assert "HX-1" in text and "后台登录不了" in text and "王磊" in text
    assert "自动回复" not in text  # the out-of-office is noise, not an item
    digest = by_to[(PM,)]
    assert "Digest for Monday" in digest["Subject"]
    assert "HX-1" in digest.get_body(("plain",)).get_content()

    # Every minute after that, and a fresh daemon after a restart: nothing more.
    scheduler = ReportScheduler(config, db)
    for minute in (1, 2):
        later = scheduler.run_pending(monday + timedelta(minutes=minute))
        assert [o for o in later if o.result != "skipped"] == []
    db.dispose()
    restarted = open_database(config.database_url)
    again = ReportScheduler(config, restarted).run_pending(monday + timedelta(minutes=3))
    assert [o for o in again if o.result != "skipped"] == []
    deliver_outbox(restarted, config)
    restarted.dispose()
    assert len(reports(smtp_sink, skip=acks_before)) == 2
    assert len(smtp_sink.messages) == acks_before + 2
