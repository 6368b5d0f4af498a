"""Each period's reports exactly once: repeated calls, restarts, two daemons, hold and release."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.reports.scheduler import ReportScheduler
from mailbot.reports.summary import ReportError, make_summary, release_summary
from mailbot.storage.db import open_database
from mailbot.storage.models import OutboxMail, Report
from tests.unit.reports.conftest import ACME, HX, NOW, SCHEDULES, TW, Bot, at, populate


def outbox(bot: Bot, kind: str) -> list[OutboxMail]:
    with bot.db.session() as s:
        return list(s.scalars(select(OutboxMail).where(OutboxMail.kind == kind)))


def reports(bot: Bot) -> list[tuple[str, str, str, str]]:
    with bot.db.session() as s:
        rows = s.scalars(select(Report).order_by(Report.kind, Report.scope))
        return [(r.kind, r.scope, r.period, r.state) for r in rows]


def test_monday_morning_makes_each_report_once(busy_bot: Bot) -> None:
    scheduler = ReportScheduler(busy_bot.config, busy_bot.db)
    made = scheduler.run_pending(NOW)
    assert sorted((o.kind, o.scope, o.result) for o in made) == [
        ("digest", "lena@agency.example", "queued"),
        ("digest", "wang@agency.example", "queued"),
        ("summary", "ACME", "queued"),
        ("summary", "HX", "queued"),
        ("summary", "TW", "queued"),
    ]
    # Every minute after that, and after a restart: nothing more.
    for minute in range(1, 4):
        assert scheduler.run_pending(NOW + timedelta(minutes=minute)) == []
    assert ReportScheduler(busy_bot.config, busy_bot.db).run_pending(NOW) == []
    assert len(outbox(busy_bot, "summary")) == 3 and len(outbox(busy_bot, "digest")) == 2
    assert ("summary", "HX", "2026-W48", "queued") in reports(busy_bot)  # the week before
    [hx] = [m for m in outbox(busy_bot, "summary") if "华信物流" in m.subject]
    assert hx.rcpt_to == ["li.na@huaxin.example", "zhang.wei@huaxin.example"]


def test_the_mails_are_automatic_and_in_the_clients_language(busy_bot: Bot) -> None:
    ReportScheduler(busy_bot.config, busy_bot.db).run_pending(NOW)
    summaries = [message_from_bytes(raw, policy=policy.default) for raw in busy_bot.sent("summary")]
    by_lang = {m["Content-Language"]: m for m in summaries}
    assert set(by_lang) == {"en", "zh-Hans", "zh-Hant"}
    hx = by_lang["zh-Hans"]
    assert hx["Subject"] == "华信物流项目周报（第48周，2026年11月23日至29日）"
    assert hx["Auto-Submitted"] == "auto-generated"
    assert hx["From"].addresses[0].addr_spec == "team@agency.example"
    assert hx["Message-ID"].endswith("@agency.example>") and hx["In-Reply-To"] is None
    assert "HX-2" in hx.get_body(("plain",)).get_content()
    [digest] = [
        message_from_bytes(raw, policy=policy.default)
        for raw in busy_bot.sent("digest")
        if b"wang@agency.example" in raw
    ]
    assert digest["To"].addresses[0].addr_spec == "wang@agency.example"


def test_the_next_days_and_weeks_follow_the_schedule(busy_bot: Bot) -> None:
    scheduler = ReportScheduler(busy_bot.config, busy_bot.db)
    scheduler.run_pending(NOW)
    tuesday = NOW + timedelta(days=1) - timedelta(minutes=30)  # 08:30 Shanghai
    made = scheduler.run_pending(tuesday)
    assert {(o.kind, o.period) for o in made} == {("digest", "2026-12-01")}
    # Wednesday to Friday were missed: on Saturday only the latest, Friday's, is made.
    saturday = NOW + timedelta(days=5)
    made = scheduler.run_pending(saturday)
    assert {(o.kind, o.period) for o in made} == {("digest", "2026-12-04")}
    assert scheduler.run_pending(saturday + timedelta(days=1)) == []  # no digest on Sunday
    next_monday = NOW + timedelta(days=7)
    made = scheduler.run_pending(next_monday)
    assert {(o.kind, o.period) for o in made if o.result == "queued"} == {
        ("digest", "2026-12-07"),
        ("summary", "2026-W49"),
    }


def test_missed_weeks_make_only_the_latest_period(busy_bot: Bot) -> None:
    later = NOW + timedelta(weeks=3, hours=2)  # the daemon was down for three weeks
    made = ReportScheduler(busy_bot.config, busy_bot.db).run_pending(later)
    assert {o.period for o in made if o.kind == "summary"} == {"2026-W51"}
    assert {o.period for o in made if o.kind == "digest"} == {"2026-12-21"}
    assert len(outbox(busy_bot, "summary")) == 3


def test_the_second_report_covers_the_next_week_without_overlap(busy_bot: Bot) -> None:
    scheduler = ReportScheduler(busy_bot.config, busy_bot.db)
    scheduler.run_pending(NOW)
    busy_bot.move("HX-1", "resolved", at=NOW + timedelta(days=2))
    scheduler.run_pending(NOW + timedelta(days=7))
    [_first, second] = sorted(
        (m for m in outbox(busy_bot, "summary") if "华信物流" in m.subject), key=lambda m: m.id
    )
    body = message_from_bytes(second.raw, policy=policy.default).get_body(("plain",)).get_content()
    body = body.replace("\r\n", "\n")
    assert "第49周（2026年11月30日至12月6日）" in body
    assert "本周完成：\n  - HX-1" in body
    assert "新提交" not in body  # nothing new in week 49
    assert "需要您配合" not in body  # HX-1 is done: nothing waits on the client any more


def test_two_schedulers_on_one_database_make_each_report_once(busy_bot: Bot) -> None:
    dbs = [open_database(busy_bot.config.database_url) for _ in range(2)]
    schedulers = [ReportScheduler(busy_bot.config, db) for db in dbs]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(s: ReportScheduler) -> None:
        start.wait()
        try:
            for minute in range(3):
                s.run_pending(NOW + timedelta(minutes=minute))
        except BaseException as err:  # reported below; a thread must not swallow it
            errors.append(err)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in dbs:
        db.dispose()
    assert errors == []
    assert len(outbox(busy_bot, "summary")) == 3 and len(outbox(busy_bot, "digest")) == 2
    with busy_bot.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 5


def test_disabled_schedules_make_nothing(bot: Bot) -> None:
    populate(bot)
    config = dataclasses.replace(
        bot.config, schedules=dataclasses.replace(SCHEDULES, enabled=False)
    )
    assert ReportScheduler(config, bot.db).run_pending(NOW) == []
    assert reports(bot) == []


def test_a_naive_time_is_refused(bot: Bot) -> None:
    with pytest.raises(ValueError, match="aware"):
        ReportScheduler(bot.config, bot.db).run_pending(NOW.replace(tzinfo=None))


def test_a_project_with_nothing_to_say_gets_no_summary(bot: Bot) -> None:
    bot.deliver("anna@acme.example", "Checkout fails")
    bot.run()
    made = ReportScheduler(bot.config, bot.db).run_pending(NOW)
    summaries = {o.scope: (o.result, o.detail) for o in made if o.kind == "summary"}
    assert summaries["ACME"][0] == "queued"
    assert summaries["TW"] == ("skipped", "nothing to report")
    # HX has milestones to report on, but nobody of the client wrote yet: no one to send to.
    assert summaries["HX"][0] == "skipped" and "no client contacts" in summaries["HX"][1]


@pytest.mark.parametrize(("quiet_weeks", "result"), [("brief", "queued"), ("skip", "skipped")])
def test_a_quiet_week_gets_a_brief_report_or_none(bot: Bot, quiet_weeks: str, result: str) -> None:
    hx = dataclasses.replace(HX, client_addresses=("li.na@huaxin.example",))
    bot.config = dataclasses.replace(
        bot.config,
        projects=(ACME, hx, TW),
        schedules=dataclasses.replace(SCHEDULES, summary_quiet_weeks=quiet_weeks),
    )
    bot.run()
    made = ReportScheduler(bot.config, bot.db).run_pending(NOW)
    [outcome] = [o for o in made if o.kind == "summary" and o.scope == "HX"]
    assert outcome.result == result
    if result == "queued":
        [mail] = [m for m in outbox(bot, "summary") if "HX" in m.dedupe_key]
        body = message_from_bytes(mail.raw, policy=policy.default).get_body(("plain",))
        assert "比较平稳：没有新的事项，也没有状态变化" in body.get_content()
    else:
        assert outcome.detail == "a quiet week (summary_quiet_weeks)"


def held_bot(bot: Bot) -> Bot:
    populate(bot)
    bot.config = dataclasses.replace(
        bot.config, schedules=dataclasses.replace(SCHEDULES, summary_hold=True)
    )
    return bot


def test_held_summaries_wait_for_the_pm_and_the_digest_says_so(bot: Bot) -> None:
    held_bot(bot)
    scheduler = ReportScheduler(bot.config, bot.db)
    made = scheduler.run_pending(NOW)
    assert {o.scope: o.result for o in made if o.kind == "summary"} == {
        "ACME": "held",
        "HX": "held",
        "TW": "held",
    }
    assert outbox(bot, "summary") == []
    assert scheduler.run_pending(NOW + timedelta(minutes=1)) == []
    tuesday = NOW + timedelta(days=1) - timedelta(minutes=30)
    scheduler.run_pending(tuesday)
    [lena] = [
        m for m in outbox(bot, "digest") if "lena" in m.rcpt_to[0] and "12-01" in m.dedupe_key
    ]
    text = message_from_bytes(lena.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "mailbot summary --release ACME --period 2026-W48" in text
    assert "mailbot summary --release TW --period 2026-W48" in text


def test_release_sends_the_held_summary_once_for_its_own_window(bot: Bot) -> None:
    held_bot(bot)
    ReportScheduler(bot.config, bot.db).run_pending(NOW)
    bot.deliver("mei@formosa.example", "結帳頁面很慢")  # while it waits: included when released
    bot.run()
    bot.pin("TW-2", NOW + timedelta(hours=3))
    outcome = release_summary(bot.db, bot.config, TW, NOW + timedelta(hours=5))
    assert (outcome.result, outcome.period) == ("released", "2026-W48")
    [mail] = outbox(bot, "summary")
    body = message_from_bytes(mail.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "TW-1" in body and "TW-2  結帳頁面很慢" in body  # open now, so in progress
    assert "第48週（2026年11月23日至29日）" in body  # still the week it reports on
    assert "本週您新提出了 1 項需求（TW-1）" in body  # TW-2 came in week 49
    assert ("summary", "TW", "2026-W48", "queued") in reports(bot)
    again = release_summary(bot.db, bot.config, TW, NOW + timedelta(hours=6), period="2026-W48")
    assert again.result == "exists"
    with pytest.raises(ReportError, match="no held summary"):
        release_summary(bot.db, bot.config, TW, NOW + timedelta(hours=6))
    assert len(outbox(bot, "summary")) == 1


def test_sending_by_hand_records_the_period(busy_bot: Bot) -> None:
    first = make_summary(busy_bot.db, busy_bot.config, HX, at(27, 18), period="2026-W48")
    second = make_summary(busy_bot.db, busy_bot.config, HX, at(27, 19), period="2026-W48")
    assert (first.result, second.result) == ("queued", "exists")
    # The scheduler's Monday run finds week 48 sent already: HX gets it once.
    made = ReportScheduler(busy_bot.config, busy_bot.db).run_pending(NOW)
    assert ("summary", "HX") not in {(o.kind, o.scope) for o in made}
    assert ("summary", "ACME", "queued") in {(o.kind, o.scope, o.result) for o in made}
    assert len([m for m in outbox(busy_bot, "summary") if "HX" in m.dedupe_key]) == 1


def test_the_jobs_are_described_in_words(bot: Bot) -> None:
    jobs = ReportScheduler(bot.config, bot.db).describe()
    assert len(jobs) == 6  # a digest on each weekday, the summary on Monday
    assert any(j.startswith("summary:") and "monday" in j and "09:00" in j for j in jobs)
    assert all(j.endswith("(Asia/Shanghai)") for j in jobs)


def test_a_failing_report_does_not_stop_the_others(
    busy_bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "hx-templates" / "summary"
    broken.mkdir(parents=True)
    (broken / "weekly.zh-Hans.txt.j2").write_text("{{ no_such_value }}", encoding="utf-8")
    hx = dataclasses.replace(HX, templates_dir=broken.parent)
    config = dataclasses.replace(busy_bot.config, projects=(ACME, hx, TW))
    scheduler = ReportScheduler(config, busy_bot.db)
    made = scheduler.run_pending(NOW)
    assert {(o.kind, o.scope) for o in made if o.kind == "summary"} == {
        ("summary", "ACME"),
        ("summary", "TW"),
    }
    assert "MB801" in caplog.text and "no_such_value" in caplog.text
    caplog.clear()
    assert scheduler.run_pending(NOW + timedelta(minutes=1)) == []
    assert "report failed" not in caplog.text  # said once, not every minute
    assert ("summary", "HX", "2026-W49", "queued") not in reports(busy_bot)  # nothing half-made
