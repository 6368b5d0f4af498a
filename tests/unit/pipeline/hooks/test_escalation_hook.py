"""The escalation filing hook through the real pipeline on a Maildir."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from mailbot.storage.models import Item
from tests.unit.pipeline.hooks.conftest import ACME, Bot, body, replace


def test_an_urgent_mail_reaches_the_pm_at_once_and_the_client_gets_one_ack(bot: Bot) -> None:
    # SubjectTriage flags "urgent" in the subject.
    text = "Production is down, customers cannot pay."
    bot.deliver("Anna <anna@acme.example>", "URGENT: checkout broken", text)
    mails = bot.run()
    by_rcpt = {m["To"].addresses[0].addr_spec: m for m in mails}
    assert sorted(by_rcpt) == ["anna@acme.example", "pm@agency.example"]
    notice = by_rcpt["pm@agency.example"]
    assert notice["Subject"] == "[Escalation] ACME-1: URGENT: checkout broken"
    assert notice["Auto-Submitted"] == "auto-generated" and notice["In-Reply-To"] is None
    assert text in body(notice) and "Anna <anna@acme.example>" in body(notice)
    assert "Hello Lena Wu," in body(notice)
    assert "ACME-1" in body(by_rcpt["anna@acme.example"])  # the ordinary acknowledgement
    assert bot.item("ACME-1").escalate
    [event] = bot.events("escalation")
    assert "pm@agency.example" in event["note"]


def test_a_vip_sender_is_escalated_and_others_are_not(bot: Bot) -> None:
    bot.deliver("ceo@acme.example", "Dashboard colours", "The blue is too dark.")
    bot.deliver("anna@acme.example", "Dashboard fonts", "The font is too small.")
    mails = bot.run()
    notices = [m for m in mails if m["To"].addresses[0].addr_spec == "pm@agency.example"]
    assert len(notices) == 1 and "ceo@acme.example is a VIP of ACME web shop" in body(notices[0])
    assert len(mails) == 3  # two acknowledgements and one notice


def test_a_reopened_issue_is_escalated_once(bot: Bot) -> None:
    n = bot.deliver("anna@acme.example", "Login broken", "Cannot log in.")
    bot.run()
    with bot.db.session() as s:
        s.execute(update(Item).values(status="resolved"))
    bot.deliver("anna@acme.example", "Re: Login broken", "Still broken.", reply_to=n)
    [notice] = bot.run()
    assert "reopened" in body(notice) and bot.item("ACME-1").status == "reopened"
    bot.deliver("anna@acme.example", "Re: Login broken", "Any news?", reply_to=n)
    assert bot.run() == []  # the reopening was escalated already


def test_noise_and_our_own_mail_are_never_escalated(bot: Bot) -> None:
    bot.deliver("pm@agency.example", "URGENT: please look at ACME", "Forwarding.")
    bot.n += 1
    auto = (
        "From: anna@acme.example\r\nTo: team@agency.example\r\nSubject: URGENT out of office\r\n"
        f"Message-ID: <m{bot.n}@client>\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n"
    )
    (bot.root / "new" / f"{bot.n}.M{bot.n}.host").write_bytes(auto.encode())
    assert bot.run() == []
    assert bot.events("escalation") == []


def test_without_a_pm_the_escalation_is_only_noted(tmp_path: Path) -> None:
    bot = Bot(tmp_path, replace(ACME, pm=None))
    bot.deliver("anna@acme.example", "URGENT: checkout broken")
    [ack] = bot.run()
    assert ack["To"].addresses[0].addr_spec == "anna@acme.example"
    [event] = bot.events("escalation")
    assert "no PM configured for project ACME" in event["note"]
    assert bot.item("ACME-1").escalate
    bot.db.dispose()


def test_the_pm_gets_notices_in_the_pm_language(tmp_path: Path) -> None:
    bot = Bot(tmp_path, replace(ACME, pm_language="zh-Hans"))
    bot.deliver("anna@acme.example", "URGENT: checkout broken", "Production is down.")
    notices = [m for m in bot.run() if m["To"].addresses[0].addr_spec == "pm@agency.example"]
    assert len(notices) == 1 and "需要您立即处理" in body(notices[0])
    bot.db.dispose()
