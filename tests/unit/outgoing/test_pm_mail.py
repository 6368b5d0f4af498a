"""Mail to our own PMs in en, zh-Hans, zh-Hant and zh-HK: reasons and statuses in words, subjects in
the PM's language, the team's name and signature per language; and no stray spaces next to
Chinese names in any template.

The snapshots under snapshots/ (pm.*) are for reading: rewrite them with
MAILBOT_UPDATE_SNAPSHOTS=1 after a deliberate change and read the difference.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mailbot.config import Config
from mailbot.config_types import ProjectConfig, SiteConfig
from mailbot.outgoing.notice import _subject_line
from mailbot.outgoing.send import Audience, render_templated, site_languages
from mailbot.outgoing.templates import TemplateLibrary, canonical_language, is_cjk
from mailbot.resources import templates_dir
from mailbot.storage.models import Item
from tests.support.snapshots import Snapshots

pytestmark = pytest.mark.no_database

check_snapshot = Snapshots(Path(__file__).resolve().parent / "snapshots").check
LANGUAGES = ("en", "zh-Hans", "zh-Hant", "zh-HK")
REASONS = [
    "escalate.urgent.zh: 要求紧急处理（紧急、尽快、马上、立即）。 [尽快]",
    "escalate.complaint.en: Complaint or threat (unacceptable, legal action). [unacceptable]",
    "boss@huaxin.example is a VIP of 华信物流运输管理系统",
    "the client reported the problem again: HX-7 is reopened",
]
# (template kind, category): what the notice's caller passes.
NOTICES: dict[tuple[str, str], dict[str, Any]] = {
    ("escalation", "notice"): {
        "reasons": REASONS,
        "client": "张伟 <zhang.wei@huaxin.example>",
        "subject": "现在订单没法处理",
        "new_text": "现在订单没法处理，麻烦尽快处理一下！",
    },
    ("breaker", "notice"): {
        "address": "robot@huaxin.example",
        "reason": "answered our automatic mail <a@b> within 2 minutes: looks like another robot",
        "until": "2026-12-01 09:00 UTC",
    },
    ("spam_filter", "notice"): {
        "source": "spamd",
        "reason": "timed out after 10 s",
        "since": "2026-11-30 09:00 UTC",
    },
    ("undeliverable", "notice"): {
        "to": "zhang.wei@huaxin.example",
        "error": "550 5.1.1 mailbox unavailable",
        "what": "ack",
    },
    ("approval", "ambiguous"): {
        "client": "张伟 <zhang.wei@huaxin.example>",
        "evidence": 'doubt or a condition (但是): "同意，但是预算要再商量。"',
        "new_text": "同意，但是预算要再商量。",
    },
}
# Words the PM must read instead of codes, per language.
WORDS = {
    "en": ["asks for urgent handling", "in progress", "is a VIP of"],
    "zh-Hans": ["客户要求紧急处理", "处理中", "重要联系人"],
    "zh-Hant": ["客戶要求緊急處理", "處理中", "重要聯絡人"],
    "zh-HK": ["客戶要求緊急處理", "處理中", "本項目的重要聯絡人"],
}
CODES = ("escalate.", "in_progress", "under_review")
HX = ProjectConfig(
    key="HX",
    name="华信物流运输管理系统",
    client_domains=("huaxin.example",),
    language="zh-Hans",
    pm="wang@agency.example",
    pm_name="王磊",
)


def _config(pm_language: str) -> Config:
    project = ProjectConfig(**{**_fields(HX), "pm_language": pm_language})
    site = SiteConfig(
        name="Northwind Digital",
        address="team@agency.example",
        domain="agency.example",
        names=(("zh-Hans", "北风数码"), ("zh-Hant", "北風數位"), ("zh-HK", "北風數碼")),
        signatures=(("zh-Hans", "北风数码项目组"),),
    )
    return Config(mailboxes=(), site=site, projects=(project,))


def _fields(project: ProjectConfig) -> dict[str, Any]:
    return {name: getattr(project, name) for name in project.__dataclass_fields__}


def _item(status: str = "in_progress") -> Item:
    return Item(
        ref="HX-7",
        project_key="HX",
        category="issue",
        status=status,
        title="现在订单没法处理",
        client_name="张伟",
        client_email="zhang.wei@huaxin.example",
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("kind", "category"), list(NOTICES), ids=lambda v: str(v))
def test_every_pm_notice_in_the_pms_language(kind: str, category: str, language: str) -> None:
    config = _config(language)
    item = _item("under_review" if kind == "approval" else "in_progress")
    draft = render_templated(
        config,
        kind=kind,
        category=category,
        item=item,
        audience=Audience.PM,
        context=NOTICES[(kind, category)],
    )
    body = draft.body
    assert body.language_used == canonical_language(language)
    subject = _subject_line(config, item, kind, category, NOTICES[(kind, category)])
    assert subject is not None
    for code in CODES:
        assert code not in body.text and code not in subject, f"{code!r} left as a code"
    if kind == "escalation":
        for word in WORDS[language]:
            assert word in body.text, f"{word!r} missing"
    if language != "en":
        assert "[" not in subject, subject  # 【紧急】, not [Escalation]
        assert not re.search(r"[A-Za-z]{4,} [a-z]{4,} [a-z]{4,}", subject), subject  # no English
    signature = {
        "en": "Northwind Digital",
        "zh-Hans": "北风数码项目组",
        "zh-Hant": "北風數位",
        "zh-HK": "北風數碼",  # the config's zh-HK entry, not Taiwan's
    }
    assert body.text.rstrip().endswith(signature[language])
    name = f"pm.{kind}.{category}.{language}"
    check_snapshot(f"{name}.txt", f"Subject: {subject}\n\n{body.text}")
    if body.html is not None:
        check_snapshot(f"{name}.html", body.html)


def test_every_pm_notice_exists_in_every_language() -> None:
    library = TemplateLibrary()
    for kind, category in NOTICES:
        for language in map(canonical_language, LANGUAGES):  # zh-HK: zh-Hant-HK files
            assert library.find(kind, category, language) is not None, (kind, category, language)
            assert library.find(kind, f"{category}_subject", language) is not None


def test_the_from_name_follows_the_language() -> None:
    site = _config("en").site
    assert site.name_in(["zh-Hant", "en"]) == "北風數位"
    assert site.name_in(["en"]) == "Northwind Digital"
    assert site.signature_in(["zh-Hans"]) == "北风数码项目组"
    assert site.signature_in(["zh-Hant"]) == "北風數位"  # no signature: that language's name


def test_hong_kong_mail_is_signed_with_the_zh_hk_entry_else_taiwans() -> None:
    site = _config("en").site
    assert site_languages(site, "zh-Hant-HK") == ["zh-Hant-HK", "zh-HK", "zh-Hant", "en"]
    assert site.name_in(site_languages(site, "zh-HK")) == "北風數碼"
    assert site.name_in(site_languages(site, "zh-Hant")) == "北風數位"
    taiwan_only = SiteConfig(name="Northwind Digital", names=(("zh-Hant", "北風數位"),))
    assert taiwan_only.name_in(site_languages(taiwan_only, "zh-Hant-HK")) == "北風數位"


# --- spacing around names ----------------------------------------------------------------

CHINESE_NAME = "华信物流运输管理系统"
LATIN_NAME = "ACME Portal"


def _generic_context(project_name: str) -> dict[str, Any]:
    """Enough for every client and PM template outside the reports."""
    return {
        "ref": "HX-7",
        "project": {"name": project_name, "key": "HX"},
        "client_name": "张伟",
        "subject": "订单没法处理",
        "first_response": "4个工作小时内",
        "decision_by": date(2026, 12, 4),
        "pm_name": "王磊",
        "team_signature": "北风数码",
        "note": "已经修复。",
        "status": "in_progress",
        "impact": {"effort": "3天", "schedule": "推迟一周", "cost": "¥2,400", "notes": ""},
        **{k: v for ctx in NOTICES.values() for k, v in ctx.items()},
    }


def _client_and_notice_templates() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(templates_dir().rglob("*.txt.j2")):
        parts = path.relative_to(templates_dir()).parts
        if len(parts) != 2 or parts[0] in ("digest", "summary", "chat"):
            # The reports are checked with real data in tests/unit/reports, the chat cards in
            # tests/unit/connectors.
            continue
        category, language = path.name.split(".")[:2]
        found.append((parts[0], category, language))
    return found


def _spaces_next_to(text: str, name: str) -> list[str]:
    """Each place where a space separates `name` from Chinese text."""
    bad = []
    for match in re.finditer(re.escape(name), text):
        before = text[max(0, match.start() - 2) : match.start()]
        after = text[match.end() : match.end() + 2]
        if len(before) == 2 and before[1] == " " and is_cjk(before[0]):
            bad.append(text[max(0, match.start() - 5) : match.end() + 5])
        if len(after) == 2 and after[0] == " " and is_cjk(after[1]):
            bad.append(text[max(0, match.start() - 5) : match.end() + 5])
    return bad


@pytest.mark.parametrize(("kind", "category", "language"), _client_and_notice_templates())
def test_no_space_between_a_chinese_name_and_chinese_text(
    kind: str, category: str, language: str
) -> None:
    library = TemplateLibrary()
    rendered = library.render(kind, category, language, _generic_context(CHINESE_NAME))
    for text in (rendered.text, rendered.html or ""):
        assert not _spaces_next_to(text, CHINESE_NAME), _spaces_next_to(text, CHINESE_NAME)
    if language.startswith("zh") and CHINESE_NAME in rendered.text:
        # A Latin name keeps its spaces: "登记到 ACME Portal 项目中".
        latin = library.render(kind, category, language, _generic_context(LATIN_NAME)).text
        glued = re.search(r"[\u4e00-\u9fff]ACME Portal|ACME Portal[\u4e00-\u9fff]", latin)
        assert glued is None, glued


def test_names_and_signatures_per_language_come_from_the_config(tmp_path: Path) -> None:
    from mailbot.config import parse_config
    from mailbot.errors import ConfigError

    site = {
        "name": "Northwind Digital",
        "address": "team@agency.example",
        "name_by_language": {"zh-Hans": "北风数码", "zh-Hant": "北風數位"},
        "signature_by_language": {"zh-Hans": "北风数码 项目组"},
    }
    mailbox = {"kind": "maildir", "path": "mail"}
    config = parse_config({"mailbox": mailbox, "site": site}, base_dir=tmp_path)
    assert config.site.name_in(["zh-Hant"]) == "北風數位"
    assert config.site.signature_in(["zh-Hans"]) == "北风数码 项目组"
    hong_kong = {**site, "signature_by_language": {"zh-HK": "北風數碼項目團隊"}}
    config = parse_config({"mailbox": mailbox, "site": hong_kong}, base_dir=tmp_path)
    assert config.site.signature_in(site_languages(config.site, "zh-Hant-HK")) == "北風數碼項目團隊"
    bad = {**site, "name_by_language": {"klingon": "Q"}}
    with pytest.raises(ConfigError, match=r"site\.name_by_language"):
        parse_config({"mailbox": mailbox, "site": bad}, base_dir=tmp_path)
