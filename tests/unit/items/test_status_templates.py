"""Every status a PM can move an item to has a status mail in every language, and it renders."""

from __future__ import annotations

import pytest

from mailbot.items.lifecycle import LIFECYCLES
from mailbot.outgoing.templates import TemplateLibrary

pytestmark = pytest.mark.no_database

LANGUAGES = ("en", "zh-Hans", "zh-Hant")
# Statuses an item can be moved to by hand (the initial ones are never a "move").
TARGETS = sorted(
    {s for lifecycle in LIFECYCLES.values() for nxt in lifecycle.values() for s in nxt}
)
WORDS = {"en": "Kind regards", "zh-Hans": "顺祝商祺", "zh-Hant": "敬祝 商祺"}


def context(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "ref": "ACME-42",
        "project": {"name": "ACME Portal", "key": "ACME"},
        "client_name": "王芳",
        "subject": "Export <b>{{ times }}</b> out",
        "pm_name": "Lena Wu",
        "team_signature": "Northwind Digital",
        "note": "We raised the export timeout.",
        "portal_url": "https://portal.example/ACME-42",
    }
    values.update(changes)
    return values


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", TARGETS)
def test_every_status_mail_renders_in_every_language(status: str, language: str) -> None:
    rendered = TemplateLibrary().render("status", status, language, context())
    assert rendered.language_used == language  # no silent fallback to another language
    assert rendered.html is not None
    for part in (rendered.text, rendered.html):
        assert "ACME-42" in part and "ACME Portal" in part and "Lena Wu" in part
        assert "We raised the export timeout." in part and WORDS[language] in part
    assert "Export <b>{{ times }}</b> out" in rendered.text  # client text stays inert
    assert "&lt;b&gt;" in rendered.html and "<b>" not in rendered.html
    assert "\n\n\n" not in rendered.text


@pytest.mark.parametrize("status", TARGETS)
def test_optional_note_and_portal_can_be_left_out(status: str) -> None:
    values = context(note=None, portal_url=None, client_name="")
    text = TemplateLibrary().render("status", status, "en", values).text
    assert text.startswith("Hello,\n\n") and "Note from the team" not in text
    assert "portal.example" not in text and "\n\n\n" not in text


def test_traditional_chinese_status_mails_use_traditional_wording() -> None:
    for status in TARGETS:
        text = TemplateLibrary().render("status", status, "zh-Hant", context()).text
        for simplified_only in ("这", "们", "题", "邮件", "项目"):
            assert simplified_only not in text, (status, simplified_only)
