"""Hong Kong clients are answered with Hong Kong wording (項目, 電郵), Taiwan's clients with
Taiwan's (專案, 郵件), though both write Traditional Chinese."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mailbot.config import Config
from mailbot.config_types import ProjectConfig, SiteConfig
from mailbot.outgoing.send import Audience, refine_language, render_templated
from mailbot.storage.models import Item
from tests.support.pipeline import MaildirBot

HONG_KONG = ProjectConfig(
    key="HK", name="港島物流平台", client_domains=("harbour.example",), language="zh-HK",
    pm="mei@agency.example", pm_name="陳美玲",
)  # fmt: skip
TAIPEI = ProjectConfig(
    key="TP", name="福爾摩沙書店", client_domains=("formosa.example",), language="zh-Hant",
    pm="lin@agency.example", pm_name="林怡君",
)  # fmt: skip


@pytest.mark.parametrize(
    ("detected", "project", "answered"),
    [
        ("zh-Hant", "zh-HK", "zh-Hant-HK"),  # the script, in the project's variant
        ("zh-Hant", "zh-Hant", "zh-Hant"),
        ("zh-Hans", "zh-HK", "zh-Hans"),  # another script is never overridden
        ("en", "zh-HK", "en"),
        ("zh-HK", "zh-Hant", "zh-Hant-HK"),  # a mail tagged zh-HK keeps it
    ],
)
def test_the_project_refines_the_detected_script(
    detected: str, project: str, answered: str
) -> None:
    assert refine_language(detected, project) == answered


def test_each_client_gets_their_own_wording(tmp_path: Path) -> None:
    with MaildirBot(tmp_path, projects=(HONG_KONG, TAIPEI)) as bot:
        bot.deliver(
            "陳大文 <tai.man@harbour.example>",
            "issue: 系統登入後頁面空白",
            "今日開始登入後頁面一片空白。",
        )
        bot.deliver(
            "王小明 <ming@formosa.example>",
            "issue: 系統登入後頁面空白",
            "今天開始登入後頁面一片空白。",
        )
        sent = {str(m["To"]): m.get_body(("plain",)).get_content() for m in bot.run()}  # type: ignore[union-attr]
    hong_kong = next(text for to, text in sent.items() if "harbour" in to)
    taipei = next(text for to, text in sent.items() if "formosa" in to)
    assert "港島物流平台項目" in hong_kong and "這封電郵" in hong_kong
    assert "專案" not in hong_kong and "這封信" not in hong_kong
    assert "福爾摩沙書店專案" in taipei and "這封信" in taipei


def _ack_to(sent: list, address: str) -> str:  # type: ignore[type-arg]
    [mail] = [m for m in sent if address in str(m["To"])]
    return str(mail.get_body(("plain",)).get_content())


def test_a_hong_kong_client_is_known_by_header_writing_and_memory(tmp_path: Path) -> None:
    with MaildirBot(tmp_path, projects=(TAIPEI,)) as bot:
        # Cantonese in the writing, in a project configured for Taiwan.
        bot.deliver(
            "陳大文 <tai.man@formosa.example>", "issue: 登入問題", "部機登入咗之後唔顯示任何嘢。"
        )
        # A Content-Language header, and later a mail of the same client without one.
        bot.deliver(
            "何家欣 <kayan@formosa.example>",
            "issue: 報表匯出失敗",
            "今天匯出報表時出現錯誤。",
            extra="Content-Language: zh-HK\r\n",
        )
        first = bot.run()
        bot.deliver(
            "何家欣 <kayan@formosa.example>", "issue: 發票金額不對", "這個月的發票金額不對。"
        )
        bot.deliver(
            "王小明 <ming@formosa.example>", "issue: 發票金額不對", "這個月的發票金額不對。"
        )
        later = bot.run()
    assert "項目" in _ack_to(first, "tai.man@") and "專案" not in _ack_to(first, "tai.man@")
    assert "項目" in _ack_to(first, "kayan@")
    assert "項目" in _ack_to(later, "kayan@")  # remembered for this address
    assert "專案" in _ack_to(later, "ming@")  # everyone else: the project's Taiwan wording


def test_a_kind_without_hong_kong_files_falls_back_to_taiwans(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "status"
    folder.mkdir(parents=True)
    (folder / "on_hold.zh-Hant.txt.j2").write_text("{{ ref }} 暫停處理。\n", encoding="utf-8")
    (folder / "on_hold.en.txt.j2").write_text("{{ ref }} is on hold.\n", encoding="utf-8")
    project = dataclasses.replace(HONG_KONG, templates_dir=tmp_path / "templates")
    site = SiteConfig(name="Northwind Digital", names=(("zh-Hant", "北風數位"),))
    config = Config(mailboxes=(), site=site, projects=(project,))
    item = Item(ref="HK-3", project_key="HK", category="issue", status="on_hold", title="登入")
    for language in ("zh-Hant-HK", None):  # the client's Hong Kong wording, the project's
        item.language = language
        body = render_templated(config, kind="status", category="on_hold", item=item).body
        assert (body.language_used, body.text) == ("zh-Hant", "HK-3 暫停處理。\n")
    # Where the Hong Kong file exists, it is used: the built-in acknowledgement.
    item.language = "zh-Hant-HK"
    ack = render_templated(config, kind="ack", category="feedback", item=item).body
    assert ack.language_used == "zh-Hant-HK"
    # The PM's mail too: a PM whose pm_language is zh-HK reads Taiwan's where HK has no file.
    hk_pm = dataclasses.replace(project, pm_language="zh-HK")
    config = Config(mailboxes=(), site=site, projects=(hk_pm,))
    pm = render_templated(
        config, kind="status", category="on_hold", item=item, audience=Audience.PM
    ).body
    assert pm.language_used == "zh-Hant"
