"""What clients and PMs read: summaries in three languages and the digest, from a real week.

The snapshot files under snapshots/ are for reviewing tone and layout; rewrite them with
MAILBOT_UPDATE_SNAPSHOTS=1 after a deliberate change and read the difference.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config_types import ProjectConfig
from mailbot.reports.digest import preview_digests, render_digest
from mailbot.reports.summary import preview_summary, render_summary
from tests.support.snapshots import Snapshots
from tests.unit.outgoing.test_pm_mail import _spaces_next_to as spaces_next_to
from tests.unit.reports.conftest import ACME, HX, NOW, TW, Bot

check_snapshot = Snapshots(Path(__file__).resolve().parent / "snapshots").check


# What each summary must say, in its language.
FACTS = {
    "ACME": [
        "for week 48 (23–29 November 2026)",
        "Overall: at risk (urgent issue ACME-5 is open).",
        "User acceptance testing: Fri 4 Dec, in progress",
        "Done this week:\n  - ACME-1  Checkout fails with error 500",
        "ACME-3  Search returns nothing for umlauts: being fixed, expected by Wed 2 Dec",
        "Waiting on you:\n  - ACME-2  Please change the logo on the invoice: your go-ahead",
        'Milestone "User acceptance testing" on Fri 4 Dec',
        'ACME-5 "URGENT: payment page down" is urgent',
        "Change requests: 1 waiting for your approval.",
        "Lena Wu",
    ],
    "HX": [
        "以下是华信物流项目第48周（2026年11月23日至29日）的进展周报。",
        "总体情况：已延期（里程碑“系统联调”已过计划日期）。",
        "HX-2  希望变更报表导出格式：已排期，预计12月3日（周四）前完成",
        "HX-1  运单查询页面打不开：测试环境的账号和密码，请于12月1日（周二）前提供",
        "变更需求：已排期 1 项。",
        "王磊",
    ],
    "TW": [
        "以下是福爾摩沙書店專案第48週（2026年11月23日至29日）的進度週報。",
        "整體狀況：進度正常。",
        "TW-1  會員登入後購物車是空的：排查中",
        "林怡君",
    ],
}


@pytest.mark.parametrize("project", [ACME, HX, TW], ids=lambda p: p.language)
def test_the_summary_in_the_clients_language(busy_bot: Bot, project: ProjectConfig) -> None:
    summary = preview_summary(busy_bot.db, busy_bot.config, project, NOW)
    subject, rendered = render_summary(busy_bot.config, summary)
    assert rendered.language_used == project.language
    assert rendered.html is not None
    for fact in FACTS[project.key]:
        assert fact in rendered.text, f"{fact!r} missing"
    # A Chinese project name sits in Chinese text without spaces, in the subject too.
    for text in (subject, rendered.text, rendered.html):
        assert not spaces_next_to(text, project.name), spaces_next_to(text, project.name)
    check_snapshot(f"summary.{project.language}.txt", f"Subject: {subject}\n\n{rendered.text}")
    check_snapshot(f"summary.{project.language}.html", rendered.html)


def test_the_summary_shows_only_the_clients_own_items(busy_bot: Bot) -> None:
    summary = preview_summary(busy_bot.db, busy_bot.config, ACME, NOW)
    _subject, rendered = render_summary(busy_bot.config, summary)
    refs = {x.ref for x in summary.opened + summary.open_issues + summary.open_changes}
    assert refs == {"ACME-1", "ACME-2", "ACME-3", "ACME-5"}
    # Not the robot's invoice mail filed as ACME-6, not unassigned mail, not noise.
    for absent in ("ACME-6", "Your invoice is ready", "TRIAGE", "Out of office", "HX-"):
        assert absent not in rendered.text
    assert summary.recipients == ["acme.boss@qq.com", "anna@acme.example", "tom@acme.example"]


def test_summary_recipients_are_listed_contacts_and_writers_from_client_domains(
    busy_bot: Bot,
) -> None:
    hx = preview_summary(busy_bot.db, busy_bot.config, HX, NOW)
    assert hx.recipients == ["li.na@huaxin.example", "zhang.wei@huaxin.example"]
    tw = preview_summary(busy_bot.db, busy_bot.config, TW, NOW)
    assert tw.recipients == ["mei@formosa.example"]


def test_client_text_is_escaped_in_html_and_kept_in_text(bot: Bot) -> None:
    bot.deliver("mei@formosa.example", "<script>alert(1)</script> & 登入失敗")
    bot.run()
    summary = preview_summary(bot.db, bot.config, TW, NOW)
    _subject, rendered = render_summary(bot.config, summary)
    assert "<script>alert(1)</script> & 登入失敗" in rendered.text
    assert rendered.html is not None and "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 登入失敗" in rendered.html


def test_the_digest_per_pm(busy_bot: Bot) -> None:
    digests = {d.recipient: d for d in preview_digests(busy_bot.db, busy_bot.config, NOW)}
    assert set(digests) == {"lena@agency.example", "wang@agency.example"}
    lena = digests["lena@agency.example"]
    assert [p.key for p in lena.projects] == ["ACME", "TW"]  # her projects only
    totals = lena.totals()
    assert totals["new"] == 2  # ACME-5 and ACME-6 in the last 24 hours
    assert totals["escalations"] == 1 and totals["needs_review"] == 1
    assert totals["unassigned"] == 1
    acme = lena.projects[0]
    assert [x.ref for x in acme.overdue] == ["ACME-4", "ACME-5", "ACME-6"]
    subject, rendered = render_digest(busy_bot.config, lena)
    assert subject.startswith("Digest for Monday, 30 November 2026: 2 new")
    assert "URGENT: payment page down" in rendered.text
    check_snapshot("digest.lena.txt", f"Subject: {subject}\n\n{rendered.text}")
    assert rendered.html is not None
    check_snapshot("digest.lena.html", rendered.html)
    subject, rendered = render_digest(busy_bot.config, digests["wang@agency.example"])
    # Wang reads Chinese: his digest is in his projects' pm_language, statuses in words.
    assert "华信物流（HX）" in rendered.text and "ACME" not in rendered.text
    assert rendered.language_used == "zh-Hans" and subject.startswith("2026年11月30日")
    assert "feedback" not in rendered.text and "（反馈，已等待" in rendered.text
    check_snapshot("digest.wang.txt", f"Subject: {subject}\n\n{rendered.text}")


def test_hong_kong_clients_and_pms_read_hong_kong_wording(busy_bot: Bot) -> None:
    import dataclasses

    hk = dataclasses.replace(TW, language="zh-HK")
    subject, rendered = render_summary(
        busy_bot.config, preview_summary(busy_bot.db, busy_bot.config, hk, NOW)
    )
    assert rendered.language_used == "zh-Hant-HK"
    assert subject.startswith("福爾摩沙書店項目週報（第48週")
    assert "專案" not in subject + rendered.text and "項目" in rendered.text
    hx = dataclasses.replace(HX, pm_language="zh-HK")
    config = dataclasses.replace(busy_bot.config, projects=(ACME, hx, TW))
    [wang] = [d for d in preview_digests(busy_bot.db, config, NOW) if d.recipient == HX.pm]
    digest_subject, digest = render_digest(config, wang)
    assert "日報" in digest_subject
    assert digest.language_used == "zh-Hant-HK"
    assert "項目" in digest.text and "专" not in digest.text


def test_every_report_template_file_is_rendered_here() -> None:
    from mailbot.resources import templates_dir

    root = templates_dir()
    files = {
        p.relative_to(root).as_posix()
        for folder in ("digest", "summary")
        for p in (root / folder).glob("*.j2")
    }
    languages = ("en", "zh-Hans", "zh-Hant", "zh-Hant-HK")
    covered = {
        "digest/daily.en.html.j2",
        *(f"digest/daily.{lang}.txt.j2" for lang in languages),
        *(f"digest/subject.{lang}.txt.j2" for lang in languages),
        *(f"summary/weekly.{lang}.{fmt}.j2" for lang in languages for fmt in ("txt", "html")),
        *(f"summary/subject.{lang}.txt.j2" for lang in languages),
        *(f"summary/_words.{lang}.j2" for lang in languages),  # imported by both formats
        "summary/_weekly.txt.j2",  # the body every language includes
        "summary/_weekly.html.j2",
    }
    assert files == covered


def test_a_long_recipient_address_gets_a_stable_short_scope() -> None:
    from mailbot.reports.mail import SCOPE_MAX, report_scope

    long = "project.managers.of.the.northwind.digital.team@agency.example"
    assert report_scope("Lena@Agency.example") == "lena@agency.example"
    assert len(report_scope(long)) == SCOPE_MAX
    assert report_scope(long) == report_scope(long.upper())
    assert report_scope(long) != report_scope(long.replace("team", "crew"))


@pytest.mark.parametrize("language", ["en", "zh-Hans", "zh-Hant"])
def test_the_examples_in_the_docs_are_what_mailbot_writes(language: str) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "reports.md"
    example = Path(__file__).resolve().parent / "snapshots" / f"summary.{language}.txt"
    text = example.read_text(encoding="utf-8").rstrip("\n")
    assert f"```text\n{text}\n```" in docs.read_text(encoding="utf-8"), (
        f"docs/reports.md: paste tests/unit/reports/snapshots/summary.{language}.txt again"
    )
