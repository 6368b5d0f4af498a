"""Which Traditional Chinese a client writes: Hong Kong's or Taiwan's, from what the mail
declares (its language headers, a Big5-HKSCS body), Cantonese in the writing, the client's
earlier items, else the project's language."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config_types import ProjectConfig
from mailbot.parse import parse_bytes
from mailbot.pipeline.client_language import (
    HONG_KONG,
    TAIWAN,
    declared_region,
    hong_kong_charset,
    language_tags,
)
from mailbot.storage.models import Item
from tests.support.pipeline import MaildirBot

TAIPEI = ProjectConfig(
    key="TP", name="福爾摩沙書店", client_domains=("formosa.example",), language="zh-Hant",
    pm="lin@agency.example", pm_name="林怡君",
)  # fmt: skip
HONG_KONG_PROJECT = ProjectConfig(
    key="HK", name="港島物流平台", client_domains=("harbour.example",), language="zh-HK",
    pm="mei@agency.example", pm_name="陳美玲",
)  # fmt: skip


def _mail(
    headers: str = "", charset: str = "utf-8", body: str = "今天匯出報表時出現錯誤。"
) -> bytes:
    payload = base64.b64encode(body.encode(charset.replace("-", ""))).decode()
    return (
        f"From: 何家欣 <kayan@formosa.example>\r\nTo: team@agency.example\r\n"
        f"Subject: issue\r\nMessage-ID: <1@formosa.example>\r\n{headers}MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
        f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n"
        f"\r\n{payload}\r\n--b--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        ("zh-HK", ["zh-hk"]),
        ("zh-HK, en-US", ["zh-hk", "en-us"]),
        ("en;q=0.5, zh_TW;q=0.9, zh-HK", ["zh-hk", "zh-tw", "en"]),  # most preferred first
        ("zh-HK;q=x, en", ["en", "zh-hk"]),  # a broken weight counts for nothing
        ("", []),
        (" , ,", []),
    ],
)
def test_language_tags_are_read_best_first(value: str, tags: list[str]) -> None:
    assert language_tags(value) == tags


@pytest.mark.parametrize(
    ("headers", "region"),
    [
        ("Content-Language: zh-HK\r\n", HONG_KONG),
        ("Content-Language: zh-MO\r\n", HONG_KONG),
        ("Content-Language: zh-Hant-HK\r\n", HONG_KONG),
        ("Accept-Language: zh-HK, en-US\r\n", HONG_KONG),  # as Outlook sends it
        ("X-Accept-Language: en-us, zh-hk\r\n", HONG_KONG),
        ("Content-Language: zh-TW\r\n", TAIWAN),
        ("Content-Language: zh-TW\r\nAccept-Language: zh-HK\r\n", TAIWAN),  # the mail's own first
        ("Content-Language: en-US\r\nAccept-Language: zh-HK\r\n", HONG_KONG),
        ("Content-Language: zh-Hant\r\n", None),  # the script only: says no region
        ("Accept-Language: en-US\r\n", None),
        ("", None),
    ],
)
def test_the_region_a_mail_declares(headers: str, region: str | None) -> None:
    assert declared_region(parse_bytes(_mail(headers))) == region


def test_a_big5_hkscs_body_is_hong_kong_and_plain_big5_is_not() -> None:
    hkscs = parse_bytes(_mail(charset="big5-hkscs"))
    assert hkscs.charsets == ("big5-hkscs",) and "匯出報表" in hkscs.text
    assert hong_kong_charset(hkscs)
    assert not hong_kong_charset(parse_bytes(_mail(charset="big5")))
    assert not hong_kong_charset(parse_bytes(_mail()))


def _ack_to(sent: list, address: str) -> str:  # type: ignore[type-arg]
    [mail] = [m for m in sent if address in str(m["To"])]
    return str(mail.get_body(("plain",)).get_content())


def test_what_the_mail_declares_picks_the_wording(tmp_path: Path) -> None:
    with MaildirBot(tmp_path, projects=(TAIPEI, HONG_KONG_PROJECT)) as bot:
        # A Taiwan project's client whose Outlook reads Hong Kong Chinese.
        bot.deliver(
            "何家欣 <kayan@formosa.example>",
            "issue: 報表匯出失敗",
            "今天匯出報表時出現錯誤。",
            extra="Accept-Language: zh-HK, en-US\r\nContent-Language: en-US\r\n",
        )
        # A Hong Kong project's client writing from Taiwan.
        bot.deliver(
            "王小明 <ming@harbour.example>",
            "issue: 發票金額不對",
            "這個月的發票金額不對。",
            extra="Content-Language: zh-TW\r\n",
        )
        # A Taiwan project's client whose mail program writes Big5-HKSCS.
        bot.deliver_bytes(
            _mail(charset="big5-hkscs")
            .replace(b"kayan@", b"chan@")
            .replace(b"<1@", b"<2@")
            .replace(b"Subject: issue", "Subject: issue: 登入問題".encode())
        )
        sent = bot.run()
    hong_kong_client = _ack_to(sent, "kayan@")
    assert "福爾摩沙書店項目" in hong_kong_client and "專案" not in hong_kong_client
    taiwan_client = _ack_to(sent, "ming@")
    assert "港島物流平台專案" in taiwan_client and "項目" not in taiwan_client
    assert "專案" not in _ack_to(sent, "chan@") and "項目" in _ack_to(sent, "chan@")
    with bot.session() as s:
        languages = {i.client_email: i.language for i in s.scalars(select(Item))}
    assert languages == {
        "kayan@formosa.example": HONG_KONG,
        "ming@harbour.example": TAIWAN,
        "chan@formosa.example": HONG_KONG,
    }


def test_a_taiwan_client_of_a_hong_kong_project_is_remembered(tmp_path: Path) -> None:
    with MaildirBot(tmp_path, projects=(HONG_KONG_PROJECT,)) as bot:
        bot.deliver(
            "王小明 <ming@harbour.example>",
            "issue: 發票金額不對",
            "這個月的發票金額不對。",
            extra="Content-Language: zh-TW\r\n",
        )
        bot.run()
        bot.deliver("王小明 <ming@harbour.example>", "issue: 無法登入", "今天無法登入系統。")
        bot.deliver("陳大文 <tai.man@harbour.example>", "issue: 無法登入", "今天無法登入系統。")
        later = bot.run()
    assert "專案" in _ack_to(later, "ming@")  # no header this time: remembered
    assert "項目" in _ack_to(later, "tai.man@")  # everyone else: the project's Hong Kong wording
