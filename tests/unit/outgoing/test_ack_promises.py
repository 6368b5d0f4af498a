"""Acknowledgements that fit the moment: an urgent issue is said to be urgent and passed to
the PM by name, promises name the time zone and office hours and skip public holidays, and
feedback gets a light thank-you, or nothing when the team prefers that."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.config import Config
from mailbot.config_types import AckConfig, ProjectConfig
from mailbot.outgoing.templates import TemplateLibrary
from mailbot.pipeline.answer import first_response_text, promise_context
from mailbot.storage.models import Item
from tests.support.pipeline import MaildirBot

HX = ProjectConfig(
    key="HX",
    name="华信物流运输管理系统",
    client_domains=("huaxin.example",),
    language="zh-Hans",
    pm="wang@agency.example",
    pm_name="王磊",
    escalation_contact="+86 21 5555 0100",
    timezone="Asia/Shanghai",
    holidays="CN",
)
ACME = dataclasses.replace(
    HX, key="ACME", name="ACME web shop", language="en", pm_name="Lena Wu", holidays=None
)
# Wednesday 2 December 2026, 10:00 in Shanghai.
WEDNESDAY = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _item(project: ProjectConfig, *, escalate: bool, category: str = "issue") -> Item:
    return Item(
        ref=f"{project.key}-7",
        project_key=project.key,
        category=category,
        status="new",
        title="现在订单没法处理",
        escalate=escalate,
    )


def _render(project: ProjectConfig, language: str, *, escalate: bool, now: datetime) -> str:
    config = Config(mailboxes=(), projects=(project,))
    context = {
        **promise_context(config, project, _item(project, escalate=escalate), now),
        "ref": f"{project.key}-7",
        "project": {"name": project.name, "key": project.key},
        "client_name": "张伟",
        "subject": "现在订单没法处理",
        "pm_name": project.pm_name,
        "team_signature": "北风数码",
    }
    rendered = TemplateLibrary().render("ack", "issue", language, context)
    assert rendered.html is not None and project.pm_name in rendered.html
    return rendered.text


def test_an_urgent_issue_is_said_to_be_urgent_and_passed_to_the_pm() -> None:
    text = _render(HX, "zh-Hans", escalate=True, now=WEDNESDAY)
    assert "我们已将此事列为紧急，并直接转交项目经理王磊跟进处理。" in text
    assert "请直接致电 +86 21 5555 0100" in text
    calm = _render(HX, "zh-Hans", escalate=False, now=WEDNESDAY)
    assert "紧急" not in calm and "+86 21" not in calm


@pytest.mark.parametrize(
    ("language", "wanted"),
    [
        ("zh-Hans", "并直接转交项目经理跟进处理。"),
        ("zh-Hant", "並直接轉交專案經理處理。"),
        ("en", "passed it straight to the project manager, who is on it now."),
    ],
)
def test_without_a_pm_name_the_urgent_note_names_no_team_as_the_pm(
    language: str, wanted: str
) -> None:
    project = dataclasses.replace(HX, pm_name=None, language=language)
    config = Config(mailboxes=(), projects=(project,))
    context = {
        **promise_context(config, project, _item(project, escalate=True), WEDNESDAY),
        "ref": "HX-7",
        "project": {"name": project.name, "key": project.key},
        "subject": "现在订单没法处理",
        "client_name": "张伟",
        "pm_name": "北风数码",  # the team signs in the PM's place
        "pm_named": False,
        "team_signature": "",
    }
    text = TemplateLibrary().render("ack", "issue", language, context).text
    assert wanted in text and "经理北风数码" not in text and "經理北风数码" not in text


def test_the_promise_names_the_time_zone_office_hours_and_holidays() -> None:
    text = _render(HX, "zh-Hans", escalate=False, now=WEDNESDAY)
    assert "在4个工作小时内，即最迟于北京时间2026年12月2日（星期三）14:00前给您首次答复" in text
    assert "我们的工作时间为周一至周五 09:00–18:00（北京时间），法定节假日除外。" in text
    english = _render(ACME, "en", escalate=True, now=WEDNESDAY)
    assert (
        "within 4 working hours, by 14:00 on Wednesday, 2 December 2026 (Beijing time)" in english
    )
    assert "Our office hours are 09:00–18:00 Beijing time, Monday to Friday." in english
    assert "passed it straight to Lena Wu" in english
    traditional = _render(HX, "zh-Hant", escalate=False, now=WEDNESDAY)
    assert (
        "在4個工作小時內，也就是最晚於北京時間2026年12月2日（星期三）14:00前與您聯繫" in traditional
    )


def test_a_promise_made_before_national_day_is_kept_after_it() -> None:
    before_holiday = datetime(2026, 9, 30, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
    text = _render(HX, "zh-Hans", escalate=False, now=before_holiday)
    assert "2026年10月8日（星期四）11:00前" in text


def test_one_working_hour_is_singular() -> None:
    assert first_response_text(1)["en"] == "within 1 working hour"
    assert first_response_text(4)["en"] == "within 4 working hours"
    config = Config(
        mailboxes=(), projects=(ACME,), acknowledgements=AckConfig(first_response_hours=1)
    )
    context = promise_context(config, ACME, _item(ACME, escalate=False), WEDNESDAY)
    context |= {"ref": "A-1", "project": {"name": "A", "key": "A"}, "client_name": ""}
    context |= {"subject": "x", "pm_name": "Lena", "team_signature": "Agency"}
    text = TemplateLibrary().render("ack", "issue", "en", context).text
    assert "within 1 working hour," in text and "1 working hours" not in text


@pytest.mark.parametrize(("setting", "answered"), [("thanks", True), ("none", False)])
def test_feedback_gets_a_light_thanks_or_nothing(
    tmp_path: Path, setting: str, answered: bool
) -> None:
    acme = ProjectConfig(key="ACME", name="ACME web shop", client_domains=("acme.example",))
    with MaildirBot(
        tmp_path, projects=(acme,), acknowledgements=AckConfig(feedback=setting)
    ) as bot:
        bot.deliver("Anna <anna@acme.example>", "feedback: thanks, looks great")
        bot.deliver("Anna <anna@acme.example>", "issue: the export fails")
        sent = bot.run()
        bodies = [m.get_body(("plain",)).get_content() for m in sent]  # type: ignore[union-attr]
        thanks = [b for b in bodies if "Thank you for your message" in b]
        assert len(thanks) == (1 if answered else 0)
        assert any("working hours" in b for b in bodies)  # the issue is answered either way
        if answered:
            assert len(thanks[0].split()) < 40  # a light thank-you, not a hotline's speech
        else:
            assert any("feedback is not answered" in d for d in bot.decisions())
