"""Who sent it and whether it is spam, through the production pipeline on a Maildir.

The bot sits behind our mail server `mx.agency.example`, whose Authentication-Results it
trusts; a client mail carries that server's DMARC result unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dkim.dnsplug
import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.config_types import AuthPolicy, SpamConfig
from mailbot.items.change_control import assess, find_item, request_approval
from mailbot.items.views import QueueFilter, item_detail, list_items
from mailbot.parse import parse_bytes
from mailbot.pipeline.machine import Pipeline
from mailbot.pipeline.spam import SpamActionError, list_spam, mark_not_spam, mark_spam
from mailbot.pipeline.trust import Trust, TrustChecks, apply
from mailbot.storage.models import Correction, Event, StoredMessage
from mailbot.triage.verdict import Verdict
from mailbot.trust.sender import SenderVerdict
from mailbot.trust.spam import SpamVerdict
from tests.unit.pipeline.hooks.conftest import Bot, body
from tests.unit.trust.senders import Key

NOW = datetime.now(UTC)


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with Bot(tmp_path) as robot:
        yield robot


def stored(bot: Bot) -> list[StoredMessage]:
    with bot.db.session() as s:
        return list(s.scalars(select(StoredMessage).order_by(StoredMessage.id)))


# --- who sent it -----------------------------------------------------------------------------


def test_a_verified_client_is_filed_and_answered(bot: Bot) -> None:
    bot.deliver("Anna <anna@acme.example>", "Checkout fails", "Error 500 when we pay.")
    [ack] = bot.run()
    assert ack["To"].addresses[0].addr_spec == "anna@acme.example"
    [row] = stored(bot)
    assert row.sender_status == "verified" and row.spam_status == "ham"
    assert row.sender_check is not None and "dmarc=pass" in row.sender_check["reasons"][0]


def test_forged_client_mail_goes_to_review_and_the_pm_never_to_the_sender(bot: Bot) -> None:
    # Our server says the domain's DMARC failed: someone else wrote From: acme.example.
    bot.deliver(
        "Anna <anna@acme.example>", "Urgent: new bank details", "Pay to this IBAN.", dmarc="fail"
    )
    sent = bot.run()
    assert all(m["To"].addresses[0].addr_spec == "pm@agency.example" for m in sent)
    [notice] = sent  # the escalation; no acknowledgement
    assert "possible impersonation" in body(notice)
    item = bot.item("ACME-1")
    assert item.needs_review and item.escalate
    [row] = stored(bot)
    assert row.sender_status == "failed"
    [decision] = bot.decisions()
    assert decision.startswith("not sent: possible impersonation (failed)")


def test_the_queue_finds_items_from_unproven_and_suspicious_senders(bot: Bot) -> None:
    bot.deliver("anna@acme.example", "Checkout fails", "Error 500.")
    bot.deliver("anna@acme.example", "Export fails", "CSV is empty.", dmarc="")
    bot.deliver("anna@acme.example", "New bank details", "Pay here.", dmarc="fail")
    bot.run()
    with bot.db.session() as s:

        def refs(sender: str) -> list[str]:
            found = list_items(s, bot.config, QueueFilter(sender=sender), NOW)
            return [i.ref for i in found]

        assert refs("unverified") == ["ACME-2", "ACME-3"]
        assert refs("suspicious") == ["ACME-3"]
        detail = item_detail(s, bot.config, find_item(s, "ACME-3"), NOW)
    assert detail["messages"][0]["sender_check"]["status"] == "failed"


def test_a_dkim_signature_that_does_not_verify_is_a_forgery(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Key()
    monkeypatch.setattr(dkim.dnsplug, "get_txt", key.dns())
    good = (
        b"From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\n"
        b"Subject: Login broken\r\nMessage-ID: <signed-1@acme.example>\r\n"
        b"Date: Thu, 03 Dec 2026 09:00:00 +0000\r\n\r\nWe cannot log in since this morning.\r\n"
    )
    bot.deliver_bytes(key.sign(good, "acme.example"))
    tampered = key.sign(good.replace(b"signed-1", b"signed-2"), "acme.example")
    bot.deliver_bytes(tampered.replace(b"cannot log in", b"want a refund, pay"))
    sent = bot.run()
    first, second = stored(bot)
    assert (first.sender_status, first.sender_check["method"]) == ("verified", "dkim")
    assert second.sender_status == "failed"
    assert [m["To"].addresses[0].addr_spec for m in sent].count("anna@acme.example") == 1


def test_a_look_alike_domain_is_caught(bot: Bot) -> None:
    bot.deliver(
        "Anna <anna@acrne.example>", "Invoice", "Please pay the attached invoice.", dmarc=""
    )
    sent = bot.run()
    [row] = stored(bot)
    assert row.sender_status == "lookalike"
    assert row.sender_check["lookalike_of"] == "acme.example"
    assert not any(m["To"].addresses[0].addr_spec == "anna@acrne.example" for m in sent)


def test_authentication_results_of_an_untrusted_server_are_ignored(bot: Bot) -> None:
    forged = (
        "Authentication-Results: mx.agency-mail.example; dmarc=pass header.from=acme.example\r\n"
    )
    bot.deliver("anna@acme.example", "Hello", "Just checking.", dmarc="", extra=forged)
    bot.run()
    [row] = stored(bot)
    assert row.sender_status == "unverified"
    assert any("not a trusted server" in r for r in row.sender_check["reasons"])


# --- approvals ---------------------------------------------------------------------------------


def _asked(bot: Bot) -> tuple[int, str]:
    n = bot.deliver("Anna <anna@acme.example>", "Change: region filter", "Please add a filter.")
    bot.run()
    with bot.db.session() as s:
        item = find_item(s, "ACME-1")
        assess(s, item, effort="3 days", schedule="+1 week", cost="EUR 2,400", actor="lena")
        assert request_approval(s, bot.config, item, actor="lena", now=NOW) is not None
    bot.send()
    [request] = bot.new_mail()
    return n, str(request["Message-ID"])


@pytest.mark.parametrize(
    ("dmarc", "why"), [("fail", "possible impersonation"), ("", "not verified")]
)
def test_an_approval_from_a_forged_or_unproven_sender_decides_nothing(
    bot: Bot, dmarc: str, why: str
) -> None:
    n, request = _asked(bot)
    bot.deliver(
        "Anna <anna@acme.example>",
        "Re: Change: region filter [ACME-1]",
        "Approved, go ahead.",
        reply_to=n,
        answering=request,
        dmarc=dmarc,
    )
    sent = bot.run()
    assert bot.item("ACME-1").status == "under_review"
    assert not bot.outbox("decision")
    [event] = bot.events("approval_ambiguous")
    assert why in event["evidence"]
    assert any(m["To"].addresses[0].addr_spec == "pm@agency.example" for m in sent)


def test_without_the_requirement_an_unproven_client_may_approve(bot: Bot) -> None:
    policy = AuthPolicy(trusted_authserv_ids=("mx.agency.example",), require_verified_for=())
    bot.config = dataclasses.replace(bot.config, authentication=policy)
    n, request = _asked(bot)
    bot.deliver(
        "anna@acme.example",
        "Re: Change [ACME-1]",
        "Approved.",
        reply_to=n,
        answering=request,
        dmarc="",
    )
    bot.run()
    assert bot.item("ACME-1").status == "approved"


# --- spam ----------------------------------------------------------------------------------------


class AlwaysSpam:
    """A spam filter that calls everything with "VIAGRA" in it spam (and ham otherwise)."""

    source = "spamd"

    def __init__(self, *, down: bool = False) -> None:
        self.down = down

    def check(self, raw: bytes) -> SpamVerdict:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        if b"VIAGRA" in raw:
            return SpamVerdict("spam", 12.5, 5.0, "spamd", ("BODY_VIAGRA",))
        return SpamVerdict("ham", 0.1, 5.0, "spamd", ())


class SpamBot(Bot):
    """The bot with a spam filter configured; `checker` answers in its place."""

    def __init__(self, tmp_path: Path, checker: AlwaysSpam) -> None:
        super().__init__(tmp_path)
        self.config = dataclasses.replace(self.config, spam=SpamConfig(backend="spamd"))
        self.checker = checker

    def pipeline(self) -> Pipeline:
        built = super().pipeline()
        built.trust = TrustChecks(self.config, spam_checker=self.checker)
        return built


def test_spam_is_noise_with_its_reason_kept_for_a_person(tmp_path: Path) -> None:
    bot = SpamBot(tmp_path, AlwaysSpam())
    bot.deliver("deals@shop.example", "Cheap VIAGRA", "VIAGRA now", dmarc="")
    bot.deliver("anna@acme.example", "Checkout fails", "Error 500.")
    sent = bot.run()
    assert [m["To"].addresses[0].addr_spec for m in sent] == ["anna@acme.example"]
    spam, client = stored(bot)
    assert (spam.category, spam.item_id, spam.spam_status) == ("none", None, "spam")
    assert "BODY_VIAGRA" in spam.verdict["explanation"]["decided_by"]
    assert client.item_id is not None and client.spam_status == "ham"
    with bot.db.session() as s:
        [listed] = list_spam(s)
    assert listed.key == f"m{spam.id}" and listed.score == 12.5


def test_not_spam_files_it_and_teaches_triage(tmp_path: Path) -> None:
    bot = SpamBot(tmp_path, AlwaysSpam())
    bot.deliver("anna@acme.example", "Bug: VIAGRA appears in our product names", "Fix please.")
    assert bot.run() == []
    [row] = stored(bot)
    with bot.db.session() as s:
        with pytest.raises(SpamActionError):
            mark_not_spam(s, ["m999"], actor="lena", now=NOW)
        assert mark_not_spam(s, [f"m{row.id}"], actor="lena", now=NOW) == [f"m{row.id}"]
    [ack] = bot.run()  # filed and answered after all
    assert ack["To"].addresses[0].addr_spec == "anna@acme.example"
    [row] = stored(bot)
    assert row.spam_status == "ham" and row.spam_check["source"] == "person"
    assert row.category == "issue" and row.item_id is not None
    with bot.db.session() as s:
        [taught] = s.scalars(select(Correction)).all()
        assert (taught.old_value, taught.new_value, taught.actor) == ("none", "issue", "lena")
        assert s.scalars(select(Event).where(Event.kind == "not_spam")).one().actor == "lena"
        with pytest.raises(SpamActionError):  # it is no longer spam
            mark_not_spam(s, [f"m{row.id}"], actor="lena", now=NOW)


def test_mark_spam_keeps_it_noise_and_is_a_correction(tmp_path: Path) -> None:
    bot = SpamBot(tmp_path, AlwaysSpam())
    bot.deliver("seo@ranking.example", "Re: your website", "We can get you to page one.", dmarc="")
    bot.run()
    [row] = stored(bot)
    with bot.db.session() as s:
        [note] = mark_spam(s, [f"m{row.id}"], actor="lena", now=NOW, reason="SEO spam")
        assert "marked spam" in note
    [row] = stored(bot)
    assert row.spam_status == "spam" and row.category == "none"
    with bot.db.session() as s:
        assert [c.new_value for c in s.scalars(select(Correction))] == ["none"]
        assert [m.key for m in list_spam(s)] == [f"m{row.id}"]


def test_a_spam_filter_that_is_down_loses_nothing_and_the_pm_is_told_once(tmp_path: Path) -> None:
    checker = AlwaysSpam(down=True)
    bot = SpamBot(tmp_path, checker)
    bot.deliver("anna@acme.example", "Checkout fails", "Error 500.")
    bot.deliver("anna@acme.example", "Banner wrong", "The banner is broken.")
    sent = bot.run()
    acks = [m for m in sent if m["To"].addresses[0].addr_spec == "anna@acme.example"]
    notices = [m for m in sent if "Spam filter down" in m["Subject"]]
    assert len(acks) == 2 and len(notices) == 1
    assert "connection refused" in body(notices[0])
    assert {r.spam_status for r in stored(bot)} == {"not_checked"}
    bot.deliver("anna@acme.example", "Another one", "Still broken.")
    assert not [m for m in bot.run() if "Spam filter down" in m["Subject"]]
    # It answers again: the outage is over, and the next one is told again.
    checker.down = False
    bot.deliver("anna@acme.example", "Fourth", "Hello.")
    bot.run()
    assert len(bot.events("spam_filter_back")) == 1
    checker.down = True
    bot.deliver("anna@acme.example", "Fifth", "Hello again.")
    assert len([m for m in bot.run() if "Spam filter down" in m["Subject"]]) == 1


def test_the_spam_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot = SpamBot(tmp_path, AlwaysSpam())
    bot.deliver("deals@shop.example", "Cheap VIAGRA", "VIAGRA now", dmarc="")
    bot.run()
    [row] = stored(bot)
    config = tmp_path / "mailbot.toml"
    config.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{bot.root}"\n'
        f'[database]\nurl = "{bot.config.database_url}"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "spam", "list"]) == 0
    out = capsys.readouterr().out
    assert f"m{row.id}" in out and "deals@shop.example" in out and "BODY_VIAGRA" in out
    assert main(["--config", str(config), "spam", "not-spam", f"m{row.id}", "--actor", "lena"]) == 0
    assert "not spam" in capsys.readouterr().out
    assert main(["--config", str(config), "spam", "list"]) == 0
    assert "no mail is filed as spam" in capsys.readouterr().out


def test_a_failed_spam_filter_is_left_alone_for_a_minute() -> None:
    from mailbot.pipeline.trust import Resting

    class Slow:
        source = "spamd"
        asked = 0

        def check(self, raw: bytes) -> SpamVerdict:
            self.asked += 1
            return SpamVerdict("not_checked", None, None, "spamd", ("did not answer in 10s",))

    now = [0.0]
    slow = Slow()
    resting = Resting(slow, rest=60, clock=lambda: now[0])
    assert resting.check(b"x").status == "not_checked" and slow.asked == 1
    now[0] = 30
    skipped = resting.check(b"x")  # a backlog does not wait 10 s per mail
    assert slow.asked == 1 and "not asked" in skipped.reasons[0] and "in 30 s" in skipped.reasons[0]
    now[0] = 61
    resting.check(b"x")
    assert slow.asked == 2


# --- what triage said, after the checks -------------------------------------------------------


def _verdict(category: str, calibrated: dict[str, float] | None) -> Verdict:
    return Verdict(
        category=category,
        confidence=0.97,
        needs_review=False,
        escalate=False,
        escalate_reasons=(),
        language="en",
        explanation={"model": {"calibrated": calibrated} if calibrated else None},
        model_version="test",
    )


LOOKALIKE = Trust(
    sender=SenderVerdict("lookalike", "none", ("acme-retai1.example imitates acme.example",)),
    spam=SpamVerdict("ham", None, None, "none", ()),
)


def test_a_look_alike_writing_like_a_person_is_shown_to_the_pm_even_when_triage_says_none() -> None:
    said = _verdict(
        "none", {"issue": 0.01, "change_request": 0.015, "feedback": 0.005, "none": 0.97}
    )
    after = apply(said, LOOKALIKE, parse_bytes(b"From: a@acme-retai1.example\r\n\r\nPay now."))
    assert after is not None
    assert (after.category, after.needs_review, after.escalate) == ("change_request", True, True)
    assert after.confidence == pytest.approx(0.015)
    assert any("not client mail (none 0.97)" in r for r in after.review_reasons)
    assert any("impersonation" in r for r in after.escalate_reasons)


def test_a_robots_noise_from_a_look_alike_stays_noise() -> None:
    said = _verdict("none", None)  # a noise rule decided: the model never ran
    after = apply(said, LOOKALIKE, parse_bytes(b"From: a@acme-retai1.example\r\n\r\nAway."))
    assert after is said
