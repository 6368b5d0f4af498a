"""Chat notices in each platform's documented shape, signed, rate limited, and sent through
the pushes outbox so that a dead webhook never holds up mail."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config_types import CHAT_KINDS, Secret
from mailbot.connectors import chat
from mailbot.connectors.base import PushFailed
from mailbot.connectors.worker import Connectors
from mailbot.reports.digest import make_digests
from mailbot.storage.models import Breaker, Push, PushState
from tests.servers.chat import FakeChat
from tests.support.pipeline import ACME, MaildirBot

SECRET = "SECf00d0123456789"
NOW = datetime.now(UTC)


@pytest.fixture
def server() -> Iterator[FakeChat]:
    with FakeChat(secret=SECRET) as fake:
        yield fake


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_each_platform_gets_its_documented_shape(server: FakeChat, kind: str) -> None:
    config = server.chat_config(kind)
    chat.send(
        config,
        "Urgent: ACME-7 needs the team now",
        "**Login fails**\nFrom Wang",
        "escalation",
        now=datetime.now(UTC),
    )
    (body,) = server.received[kind]
    assert not server.violations
    text = str(body)
    assert "ACME-7" in text and "Login fails" in text
    if kind == "slack":
        assert body["blocks"][1]["text"] == {"type": "mrkdwn", "text": "*Login fails*\nFrom Wang"}
    if kind == "feishu":
        assert body["card"]["header"]["template"] == "red"
        assert set(body) >= {"timestamp", "sign"}
    if kind == "dingtalk":
        query = server.requests[-1].query
        assert set(query) == {"access_token", "timestamp", "sign"}


def test_signatures_follow_the_platforms_documents() -> None:
    # DingTalk: HMAC-SHA256 keyed by the secret over "timestamp\nsecret", base64.
    assert chat.sign_dingtalk("SECxyz", 1700000000000) == (
        "0PUR1j8g85Xg3vlFV/UrEcxXfF5HpCAGzcjrNfyJoyg="
    )
    # Feishu: HMAC-SHA256 keyed by "timestamp\nsecret" over nothing, base64.
    assert chat.sign_feishu("SECxyz", 1700000000) == (
        "GnU9dobz1WousiKlH0LX6FYP8yrWNCgoJOvRhpMc8HY="
    )


def test_a_wrong_signing_secret_is_refused_for_good(server: FakeChat) -> None:
    for kind in ("dingtalk", "feishu"):
        config = server.chat_config(kind, signing=Secret(key="k", value="SECwrong"))
        with pytest.raises(PushFailed) as err:
            chat.send(config, "t", "x", "failure", now=datetime.now(UTC))
        assert err.value.permanent and "sign" in str(err.value)
    assert server.received == {}


def test_rate_limits_and_outages_are_retried_after_the_wait_they_ask(server: FakeChat) -> None:
    server.fail_next(429, headers={"Retry-After": "30"}, body="rate_limited")
    with pytest.raises(PushFailed) as slack:
        chat.send(server.chat_config("slack"), "t", "x", "review", now=datetime.now(UTC))
    assert not slack.value.permanent and slack.value.retry_after == 30
    assert "T000" not in str(slack.value)  # the webhook URL carries its token: never logged
    server.fail_next(200, body={"errcode": 45009, "errmsg": "api freq out of limit"})
    with pytest.raises(PushFailed) as wecom:
        chat.send(server.chat_config("wecom"), "t", "x", "review", now=datetime.now(UTC))
    assert wecom.value.retry_after == 60 and "45009" in str(wecom.value)
    server.fail_next(200, body={"errcode": 130101, "errmsg": "send too fast"})
    with pytest.raises(PushFailed) as ding:
        chat.send(server.chat_config("dingtalk"), "t", "x", "review", now=datetime.now(UTC))
    assert ding.value.retry_after == 600  # DingTalk refuses for 10 minutes
    server.fail_next(502)
    with pytest.raises(PushFailed) as teams:
        chat.send(server.chat_config("teams"), "t", "x", "review", now=datetime.now(UTC))
    assert not teams.value.permanent
    server.fail_next(404, body="no_service")
    with pytest.raises(PushFailed) as gone:
        chat.send(server.chat_config("slack"), "t", "x", "review", now=datetime.now(UTC))
    assert gone.value.permanent


def test_an_urgent_mail_is_a_chat_card_in_the_pms_language(
    tmp_path: Path, server: FakeChat
) -> None:
    ding = server.chat_config("dingtalk", name="ACME:dingtalk:0")
    slack = server.chat_config("slack", name="site:slack:0", events=("escalation",))
    project = dataclasses.replace(ACME, pm_language="zh-Hans", chat=(ding,))
    with MaildirBot(tmp_path, projects=(project,), chat=(slack,)) as bot:
        bot.deliver("wang@acme.example", "Urgent: checkout is down", "Nobody can pay.")
        bot.run()
        (card,) = server.received["dingtalk"]
        assert card["markdown"]["title"] == "紧急：ACME-1 需要团队立即处理"
        assert "**Urgent: checkout is down**" in card["markdown"]["text"]
        (site,) = server.received["slack"]  # the site's webhook speaks English
        assert site["blocks"][0]["text"]["text"] == "Urgent: ACME-1 needs the team now"
        bot.deliver("wang@acme.example", "Invoice question", "Where is the invoice?")
        bot.run()
        assert len(server.received["dingtalk"]) == 1  # not escalated: no notice
        assert not server.violations


def test_a_dead_webhook_never_holds_up_mail(tmp_path: Path, server: FakeChat) -> None:
    dead = server.chat_config("slack", url=Secret(key="k", value="http://127.0.0.1:9/hook"))
    project = dataclasses.replace(ACME, chat=(dead,))
    with MaildirBot(tmp_path, projects=(project,)) as bot:
        bot.deliver("wang@acme.example", "Urgent: checkout is down", "Nobody can pay.")
        mails = bot.run()
        assert any("ACME-1" in str(m["Subject"]) for m in mails)  # acknowledged all the same
        with bot.session() as session:
            (push,) = session.scalars(select(Push)).all()
            assert push.state == PushState.PENDING and push.attempts == 1
            assert "cannot connect" in (push.last_error or "")


def test_a_webhook_gets_no_more_than_its_per_minute(tmp_path: Path, server: FakeChat) -> None:
    slack = server.chat_config("slack", per_minute=2)
    project = dataclasses.replace(ACME, chat=(slack,))
    with MaildirBot(tmp_path, projects=(project,)) as bot:
        for n in range(3):
            bot.deliver("wang@acme.example", f"Urgent: problem {n}", "Help.")
        bot.run()
        assert len(server.received["slack"]) == 2
        with bot.session() as session:
            waiting = session.scalars(select(Push).where(Push.state == PushState.PENDING)).one()
            assert waiting.attempts == 0 and waiting.last_error == "over 2 a minute"
            assert waiting.next_attempt_at > datetime.now(UTC)


def test_failures_are_announced_once_each(tmp_path: Path, server: FakeChat) -> None:
    alarms = server.chat_config("feishu", name="site:feishu:0", events=("failure",))
    with MaildirBot(tmp_path, chat=(alarms,)) as bot:
        bot.run()  # the first look: what failed before is not announced
        with bot.session() as session:
            session.add(Breaker(address="robot@acme.example", reason="answered our mail in 2 s"))
        Connectors(bot.config, bot.db).run()
        Connectors(bot.config, bot.db).run()
        (card,) = server.received["feishu"]
        assert card["card"]["header"]["title"]["content"] == "Automatic answers stopped"
        text = card["card"]["elements"][0]["content"]
        assert "robot@acme.example" in text and "answered our mail in 2 s" in text
        assert "`mailbot breakers clear ADDRESS`" in text


def test_the_daily_digest_is_a_compact_card(tmp_path: Path, server: FakeChat) -> None:
    wecom = server.chat_config("wecom", events=("digest",))
    project = dataclasses.replace(ACME, pm_language="zh-Hans", chat=(wecom,))
    with MaildirBot(tmp_path, projects=(project,)) as bot:
        bot.deliver("wang@acme.example", "Urgent: checkout is down", "Nobody can pay.")
        bot.deliver("li@acme.example", "Invoice question", "Where is the invoice?")
        bot.run()
        make_digests(bot.db, bot.config, datetime.now(UTC))
        make_digests(bot.db, bot.config, datetime.now(UTC))  # made once a day
        Connectors(bot.config, bot.db).run()
        (card,) = server.received["wecom"]
        content = card["markdown"]["content"]
        assert content.startswith("**ACME web shop：今日概况")
        assert "新增 **2**" in content and "紧急 **1**" in content
        assert "- ACME-1 Urgent: checkout is down（紧急）" in content
