"""Every template rendered in every language; lookup order; strictness; client text stays inert."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailbot.errors import MailbotError
from mailbot.outgoing.templates import (
    Rendered,
    TemplateLibrary,
    TemplateNotFound,
    TemplateRenderError,
    canonical_language,
    language_order,
)
from mailbot.resources import templates_dir
from tests.support.snapshots import Snapshots

pytestmark = pytest.mark.no_database

check_snapshot = Snapshots(Path(__file__).resolve().parent / "snapshots").check
LANGUAGES = ("en", "zh-Hans", "zh-Hant", "zh-Hant-HK")
# Hong Kong wording where Taiwan's differs (the zh-Hant-HK files are written with it).
HONG_KONG = [
    ("電子郵件", "電郵"), ("郵件", "電郵"), ("專案", "項目"), ("螢幕截圖", "截圖"),
    ("排程", "排期"), ("這封信", "這封電郵"), ("同仁", "同事"), ("主旨", "標題"), ("登錄", "登記"),
    ("感謝您回報", "感謝您通知我們"), ("回報", "反映"), ("國定假日", "公眾假期"),
    ("上班時間", "辦公時間"), ("核准", "批准"), ("計畫", "計劃"), ("時程", "時間表"),
]  # fmt: skip


def hong_kong(text: str) -> str:
    for taiwan, hk in HONG_KONG:
        text = text.replace(taiwan, hk)
    return text


TEMPLATES = [
    ("ack", "issue"),
    ("ack", "change_request"),
    ("ack", "feedback"),
    ("status", "in_progress"),
    ("status", "resolved"),
    ("status", "done"),
]
FIRST_RESPONSE = {
    "en": "within 4 business hours",
    "zh-Hans": "4 个工作小时内",
    "zh-Hant": "4 個工作小時內",
}
SUBJECTS = {
    "en": "Excel export times out since this morning's release",
    "zh-Hans": "今天上午发布之后导出 Excel 一直超时",
    "zh-Hant": "今天上午更新後匯出 Excel 一直逾時",
}
CLIENTS = {"en": "Maria Keller", "zh-Hans": "王芳", "zh-Hant": "陳志明", "zh-Hant-HK": "陳志明"}
FIRST_RESPONSE["zh-Hant-HK"] = FIRST_RESPONSE["zh-Hant"]
SUBJECTS["zh-Hant-HK"] = SUBJECTS["zh-Hant"]
# Facts that must be in each mail, whatever the wording.
FACTS: dict[tuple[str, str], list[str]] = {
    ("ack", "issue", "en"): ["ACME-42", "within 4 working hours, by 14:00", "Beijing time"],
    ("ack", "issue", "zh-Hans"): ["ACME-42", "4个工作小时内", "北京时间", "回复本邮件"],
    ("ack", "issue", "zh-Hant"): ["ACME-42", "4個工作小時內", "北京時間", "回覆這封信"],
    ("ack", "change_request", "en"): [
        "ACME-42",
        "scope, schedule and cost",
        "Friday, 4 December 2026",
        "Nothing changes in the project until you approve",
    ],
    ("ack", "change_request", "zh-Hans"): [
        "ACME-42",
        "范围、进度和成本",
        "2026年12月4日（星期五）",
        "在您确认批准之前",
    ],
    ("ack", "change_request", "zh-Hant"): [
        "ACME-42",
        "範疇、時程與成本",
        "2026年12月4日（星期五）",
        "在您核准之前",
    ],
    ("ack", "feedback", "en"): ["ACME-42", "Thank you for your message"],
    ("ack", "feedback", "zh-Hans"): ["ACME-42", "收到，谢谢您"],
    ("ack", "feedback", "zh-Hant"): ["ACME-42", "收到，謝謝您"],
    ("status", "in_progress", "en"): ["ACME-42", "working on it", "raised the export timeout"],
    ("status", "in_progress", "zh-Hans"): ["ACME-42", "开始处理", "raised the export timeout"],
    ("status", "in_progress", "zh-Hant"): ["ACME-42", "開始處理", "raised the export timeout"],
    ("status", "done", "en"): ["ACME-42", "is now complete", "raised the export timeout"],
    ("status", "done", "zh-Hans"): ["ACME-42", "已经完成", "批准", "raised the export timeout"],
    ("status", "done", "zh-Hant"): ["ACME-42", "已經完成", "核准", "raised the export timeout"],
    ("status", "resolved", "en"): ["ACME-42", "now resolved", "raised the export timeout"],
    ("status", "resolved", "zh-Hans"): ["ACME-42", "处理完毕", "raised the export timeout"],
    ("status", "resolved", "zh-Hant"): ["ACME-42", "處理完成", "raised the export timeout"],
}
FACTS |= {
    (kind, category, "zh-Hant-HK"): [hong_kong(fact) for fact in facts]
    for (kind, category, language), facts in list(FACTS.items())
    if language == "zh-Hant"
}


def context(language: str = "en", **overrides: Any) -> dict[str, Any]:
    """What the pipeline passes: realistic values for one client mail."""
    values: dict[str, Any] = {
        "ref": "ACME-42",
        "project": {"name": "ACME Portal", "key": "ACME"},
        "client_name": CLIENTS[language],
        "subject": SUBJECTS[language],
        "first_response": FIRST_RESPONSE,
        # The promise counted on the project's calendar (pipeline.answer.promise_context).
        "response_due": datetime(2026, 12, 2, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        "office": {
            "hours": 4,
            "start": "09:00",
            "end": "18:00",
            "timezone": "Asia/Shanghai",
            "holidays": "CN",
        },
        "decision_by": date(2026, 12, 4),
        "pm_name": "Lena Wu",
        "team_signature": "The ACME Portal team at Northwind Digital",
        "portal_url": "https://portal.northwind.example/acme/ACME-42",
        "note": "We raised the export timeout and added a progress bar.",
    }
    values.update(overrides)
    return values


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("kind", "category"), TEMPLATES)
def test_every_template_renders_with_its_facts(
    library: TemplateLibrary, kind: str, category: str, language: str
) -> None:
    rendered = library.render(kind, category, language, context(language))
    assert rendered.language_used == language
    assert rendered.template_names == (
        f"{kind}/{category}.{language}.txt.j2",
        f"{kind}/{category}.{language}.html.j2",
    )
    assert rendered.html is not None
    for fact in FACTS[(kind, category, language)]:
        assert fact in rendered.text, f"{fact!r} missing from the text"
        assert fact in rendered.html, f"{fact!r} missing from the HTML"
    assert CLIENTS[language] in rendered.text
    assert "Lena Wu" in rendered.text
    if category != "feedback":  # a thank-you stays short: no portal link
        assert "https://portal.northwind.example/acme/ACME-42" in rendered.text
    assert f'<html lang="{language}">' in rendered.html
    assert "\n\n\n" not in rendered.text, "a template leaves an empty paragraph behind"
    assert rendered.text.endswith("Northwind Digital\n")
    check_snapshot(f"{kind}.{category}.{language}.txt", rendered.text)
    check_snapshot(f"{kind}.{category}.{language}.html", rendered.html)


def test_chinese_templates_are_written_in_chinese(library: TemplateLibrary) -> None:
    simplified = library.render("ack", "issue", "zh-Hans", context("zh-Hans")).text
    traditional = library.render("ack", "issue", "zh-Hant", context("zh-Hant")).text
    assert "您好" in simplified and "问题" in simplified and "问題" not in simplified
    # Traditional characters and Taiwan/Hong Kong wording, not a converted Simplified text.
    assert "問題" in traditional and "專案" in traditional and "项目" not in traditional
    for simplified_only in ("这", "们", "题", "邮件"):
        assert simplified_only not in traditional
    # Hong Kong: the same script, its own words.
    hk = library.render("ack", "issue", "zh-HK", context("zh-Hant-HK"))
    assert hk.language_used == "zh-Hant-HK"
    assert "項目" in hk.text and "電郵" in hk.text
    for taiwan_only in ("專案", "這封信", "同仁", "螢幕截圖"):
        assert taiwan_only not in hk.text
    change = library.render("ack", "change_request", "zh-HK", context("zh-Hant-HK")).text
    assert "在您批准之前" in change and "計劃" in change
    for taiwan_only in ("核准", "計畫", "時程", "專案"):
        assert taiwan_only not in change


def test_every_acknowledgement_template_is_rendered_by_a_test() -> None:
    # Other kinds (digest, summary, approval, escalation, more statuses) are rendered by
    # the tests of the code that sends them.
    files = {
        p.relative_to(templates_dir()).as_posix()
        for p in templates_dir().rglob("*.j2")
        if p.parent.name == "ack" or p.parent == templates_dir()
    }
    covered = {
        f"{kind}/{category}.{language}.{fmt}.j2"
        for kind, category in TEMPLATES
        for language in LANGUAGES
        for fmt in ("txt", "html")
    }
    assert files - covered == {"_layout.html.j2"}
    assert {f for f in covered if f.startswith("ack/")} <= files


def test_optional_values_can_be_left_out(library: TemplateLibrary) -> None:
    values = context()
    del values["portal_url"], values["note"]
    rendered = library.render("ack", "issue", "en", values)
    assert "follow the progress" not in rendered.text
    assert "\n\n\n" not in rendered.text
    resolved = library.render("status", "resolved", "en", values)
    assert "What we did" not in resolved.text


def test_an_empty_client_name_gets_a_plain_greeting(library: TemplateLibrary) -> None:
    assert library.render("ack", "feedback", "en", context(client_name="")).text.startswith(
        "Hello,\n\n"
    )
    zh = library.render("ack", "feedback", "zh-Hans", context("zh-Hans", client_name=""))
    assert zh.text.startswith("您好！\n\n")


def test_a_missing_variable_is_an_error_not_a_blank(library: TemplateLibrary) -> None:
    values = context()
    del values["subject"]
    with pytest.raises(TemplateRenderError, match="subject") as err:
        library.render("ack", "issue", "en", values)
    assert isinstance(err.value, MailbotError)
    assert "ack/issue.en.txt.j2" in str(err.value)


def test_a_ready_made_date_string_passes_through(library: TemplateLibrary) -> None:
    text = library.render("ack", "change_request", "en", context(decision_by="next Tuesday")).text
    assert "By next Tuesday you will have" in text


# --- client-written values stay data ---------------------------------------------------

HOSTILE = "{{ 7*7 }} {% if true %}X{% endif %} <script>alert('x')</script> & \"q\""


@pytest.mark.parametrize("language", LANGUAGES)
def test_client_text_is_never_template_code(library: TemplateLibrary, language: str) -> None:
    rendered = library.render(
        "ack", "issue", language, context(language, subject=HOSTILE, client_name=HOSTILE)
    )
    assert HOSTILE in rendered.text  # literally, in plain text
    assert "49" not in rendered.text
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;q&#34;" in rendered.html
    assert "{{ 7*7 }} {% if true %}X{% endif %}" in rendered.html


# --- lookup order -----------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_project_beats_site_beats_builtin(tmp_path: Path) -> None:
    project, site = tmp_path / "project", tmp_path / "site"
    write(project, "ack/feedback.en.txt.j2", "project feedback {{ ref }}\n")
    write(site, "ack/feedback.en.txt.j2", "site feedback {{ ref }}\n")
    write(site, "ack/issue.en.txt.j2", "site issue {{ ref }}\n")
    library = TemplateLibrary([project, site])
    assert library.render("ack", "feedback", "en", context()).text == "project feedback ACME-42\n"
    assert library.render("ack", "issue", "en", context()).text == "site issue ACME-42\n"
    builtin = library.render("ack", "change_request", "en", context())
    assert "scope, schedule and cost" in builtin.text
    # The project's feedback has no HTML twin: the built-in English HTML must not be mixed in.
    assert library.render("ack", "feedback", "en", context()).html is None


def test_an_override_can_extend_the_builtin_layout(tmp_path: Path) -> None:
    write(tmp_path, "ack/feedback.en.txt.j2", "thanks {{ ref }}\n")
    write(
        tmp_path,
        "ack/feedback.en.html.j2",
        '{% extends "_layout.html.j2" %}{% block body %}<p>thanks {{ ref }}</p>{% endblock %}',
    )
    html = TemplateLibrary([tmp_path]).render("ack", "feedback", "en", context()).html
    assert html is not None and "<p>thanks ACME-42</p>" in html and "<!DOCTYPE html>" in html


def test_language_falls_back_to_project_default_then_english(tmp_path: Path) -> None:
    write(tmp_path, "ack/feedback.de.txt.j2", "Danke {{ ref }}\n")
    library = TemplateLibrary([tmp_path])
    # Requested language exists: used.
    assert library.render("ack", "feedback", "de", context()).text == "Danke ACME-42\n"
    # Requested missing (ja): the project default (de) comes before English.
    rendered = library.render("ack", "feedback", "ja", context(), default_language="de")
    assert (rendered.language_used, rendered.text) == ("de", "Danke ACME-42\n")
    # Neither exists: English.
    rendered = library.render("ack", "feedback", "ja", context(), default_language="fr")
    assert rendered.language_used == "en"
    # "mixed" (English and Chinese) from triage: the project default decides.
    mixed = library.render("ack", "feedback", "mixed", context("zh-Hans"), "zh-Hans")
    assert mixed.language_used == "zh-Hans"


def test_adding_a_language_is_adding_files(tmp_path: Path) -> None:
    template = "{{ ref }} を受け付けました。{{ first_response|local }}\n"
    write(tmp_path, "ack/issue.ja.txt.j2", template)
    text = (
        TemplateLibrary([tmp_path])
        .render("ack", "issue", "ja", context(first_response={"en": "soon", "ja": "4営業時間以内"}))
        .text
    )
    assert text == "ACME-42 を受け付けました。4営業時間以内\n"


@pytest.mark.parametrize(
    ("requested", "used"),
    [
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh_TW", "zh-Hant"),
        ("zh-HK", "zh-Hant-HK"),
        ("zh-hant-tw", "zh-Hant"),
        ("EN-gb", "en"),
        ("", "en"),
    ],
)
def test_language_tags_are_understood(library: TemplateLibrary, requested: str, used: str) -> None:
    assert library.render("ack", "feedback", requested, context()).language_used == used


def test_language_order_keeps_the_script() -> None:
    assert canonical_language("zh-hant-tw") == "zh-Hant-TW"
    # A Traditional reader gets the project default, never Simplified by accident.
    assert language_order("zh-Hant-TW", "en") == ["zh-Hant-TW", "zh-Hant", "en"]
    assert language_order("en-GB", "zh-TW") == ["en-GB", "en", "zh-Hant"]


def test_missing_everywhere_names_what_was_looked_for(tmp_path: Path) -> None:
    library = TemplateLibrary([tmp_path])
    with pytest.raises(TemplateNotFound) as err:
        library.render("ack", "invoice", "zh-Hant", context(), default_language="de")
    message = str(err.value)
    for looked_for in (
        "ack/invoice.zh-Hant.txt.j2",
        "ack/invoice.de.txt.j2",
        "ack/invoice.en.txt.j2",
        str(tmp_path),
        str(templates_dir()),
    ):
        assert looked_for in message
    assert err.value.code.startswith("MB")


def test_names_cannot_escape_the_template_folders(library: TemplateLibrary) -> None:
    with pytest.raises(ValueError):
        library.render("ack", "../../etc/passwd", "en", context())
    # A nonsense language is simply not found and falls back.
    assert library.render("ack", "feedback", "../x", context()).language_used == "en"


def test_a_broken_template_is_reported_with_its_file(tmp_path: Path) -> None:
    write(tmp_path, "ack/feedback.en.txt.j2", "{% if ref %}unclosed\n")
    with pytest.raises(TemplateRenderError, match=r"feedback\.en\.txt\.j2, line"):
        TemplateLibrary([tmp_path]).render("ack", "feedback", "en", context())


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    write(tmp_path, "ack/feedback.en.txt.j2", "{{ ref.__class__.__mro__ }}\n")
    with pytest.raises(MailbotError):
        TemplateLibrary([tmp_path]).render("ack", "feedback", "en", context())


def test_rendered_is_a_plain_value() -> None:
    assert Rendered("en", "t", None, ("a",)) == Rendered("en", "t", None, ("a",))


def test_an_edited_or_added_template_is_used_once_the_folders_are_looked_at_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbot.outgoing import templates

    now = [1000.0]
    monkeypatch.setattr(templates.time, "monotonic", lambda: now[0])
    (tmp_path / "ack").mkdir()
    english = tmp_path / "ack" / "note.en.txt.j2"
    english.write_text("first {{ ref }}\n", encoding="utf-8")
    library = TemplateLibrary([tmp_path], builtin=False)
    assert library.render("ack", "note", "zh-Hans", {"ref": "A-1"}).text == "first A-1\n"

    english.write_text("second {{ ref }}\n", encoding="utf-8")
    stamp = english.stat().st_mtime + 5
    os.utime(english, (stamp, stamp))  # a later mtime, however coarse the file system's
    (tmp_path / "ack" / "note.zh-Hans.txt.j2").write_text("中文 {{ ref }}\n", encoding="utf-8")
    now[0] += templates.RECHECK_SECONDS / 2  # the mail after: the files as they were
    assert library.render("ack", "note", "en", {"ref": "A-1"}).text == "first A-1\n"
    assert library.language_for("ack", "note", "zh-Hans") == "en"

    now[0] += templates.RECHECK_SECONDS  # looked at again
    assert library.render("ack", "note", "en", {"ref": "A-1"}).text == "second A-1\n"
    assert library.render("ack", "note", "zh-Hans", {"ref": "A-1"}).text == "中文 A-1\n"
