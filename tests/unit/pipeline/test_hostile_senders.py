"""What a stranger can make mailbot do with forged headers: nothing to a third party, nothing
to a client's item (fixtures: tests/fixtures/hostile/ORIGIN.md, rows F10, F13, F14, F15, F17)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.cli import main
from mailbot.config_types import AckConfig, ProjectConfig, SiteConfig
from mailbot.items.actions import set_status
from mailbot.pipeline.breakers import list_breakers
from mailbot.storage.models import Item, StoredMessage
from tests.support.pipeline import MaildirBot, client_mail

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"
ACME = ProjectConfig(
    key="ACME",
    name="ACME Retail web shop",
    client_domains=("acme-retail.example",),
    client_addresses=("acme.boss@gmail.com",),
    alias="team+acme@agency.example",
    keywords=("web shop", "ACME", "网店"),
    pm="lena@agency.example",
    pm_name="Lena",
)
SITE = SiteConfig(
    name="Project Team",
    address="team@agency.example",
    own_addresses=("pm@agency.example",),
    domain="agency.example",
)
BAD_CHARS = {"\u202e", "\x1b", "\x00", "\x07"}


def hostile(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def bot_for(tmp_path: Path, **acks: object) -> MaildirBot:
    return MaildirBot(
        tmp_path,
        projects=(ACME,),
        site=SITE,
        acknowledgements=AckConfig(max_per_sender_per_hour=5, **acks),  # type: ignore[arg-type]
    )


def to(mail: EmailMessage) -> str:
    return mail["To"].addresses[0].addr_spec


def text(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


# --- F10: backscatter and reflection ---------------------------------------------------------


def test_reply_to_a_third_party_is_never_followed(tmp_path: Path) -> None:
    with bot_for(tmp_path) as bot:
        for n in range(8):
            bot.deliver_bytes(hostile(f"F10-backscatter-{n}.eml"))
        sent = bot.run()
    assert sent and all(to(m).endswith("@acme-retail.example") for m in sent)
    assert not any("third-party" in to(m) for m in sent)
    # What the stranger wrote is echoed short: the name is cut, the subject too.
    for mail in sent:
        assert "WIN A PRIZE: visit http://evil.example/claim" not in text(mail)


def test_reply_to_a_robot_or_to_us_is_not_followed_the_sender_is_answered(tmp_path: Path) -> None:
    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(hostile("F10-replyto-robot.eml"))
        bot.deliver_bytes(hostile("F10-replyto-own-address.eml"))
        sent = bot.run()
    assert sorted(to(m) for m in sent) == ["bob@acme-retail.example", "carl@acme-retail.example"]


def test_reply_to_a_colleague_of_the_same_client_is_followed(tmp_path: Path) -> None:
    mail = client_mail(
        "Anna <anna@acme-retail.example>",
        "Search broken",
        "Please answer my colleague.",
        message_id="rt3@acme-retail.example",
        extra="Reply-To: Bob <bob@acme-retail.example>\r\n",
    )
    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(mail)
        [ack] = bot.run()
    assert to(ack) == "bob@acme-retail.example"


def test_a_huge_display_name_is_cut_in_the_answer(tmp_path: Path) -> None:
    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(hostile("F10-huge-display-name.eml"))
        [ack] = bot.run()
    raw = ack.as_bytes()
    assert len(raw) < 8_000, len(raw)
    assert text(ack).count("BUY CHEAP PILLS") <= 3


# --- F17: control and bidi characters -------------------------------------------------------


def test_control_and_bidi_characters_never_reach_an_answer_or_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(hostile("F17-bidi-esc-nul-subject.eml"))
        [ack] = bot.run()
        url = bot.config.database_url
        root = bot.root
    for part in ack.walk():
        if part.get_content_maintype() == "text":
            content = part.get_content()
            assert not BAD_CHARS & set(content), part.get_content_type()
    config = tmp_path / "mailbot.toml"
    config.write_text(
        f'[mailbox]\nname = "l"\nkind = "maildir"\npath = "{root}"\n[database]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    for command in (["items"], ["queue", "list"], ["queue", "show", "TRIAGE-1"]):
        capsys.readouterr()
        main(["--config", str(config), *command])
        out = capsys.readouterr().out
        assert "Invoice" in out or command[-1] == "TRIAGE-1" or "ACME-1" in out
        shown = {c for c in out if unicodedata.category(c) == "Cc" and c not in "\n\t"}
        assert not (BAD_CHARS & set(out)) and not shown, (command, shown)


# --- F14: thread hijack ---------------------------------------------------------------------


@pytest.mark.parametrize("follow_ups", [False, True])
def test_a_stranger_cannot_reopen_or_learn_about_a_clients_item(
    tmp_path: Path, follow_ups: bool
) -> None:
    with bot_for(tmp_path, follow_ups=follow_ups) as bot:
        bot.deliver_bytes(hostile("F14-1-client-issue.eml"))
        bot.run()
        with bot.db.session() as s:
            set_status(s, bot.config, "ACME-1", "resolved", actor="lena")
        bot.deliver_bytes(hostile("F14-2-outsider-reopens-by-tag.eml"))
        bot.deliver_bytes(hostile("F14-3-outsider-by-in-reply-to.eml"))
        sent = bot.run()
        acme = bot.item("ACME-1")
        assert acme.status == "resolved" and not acme.escalate
        with bot.db.session() as s:
            rows = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
            outsiders = [s.get(Item, r.item_id) for r in rows[1:]]
        assert all(
            i is not None and i.project_key == "TRIAGE" and i.needs_review for i in outsiders
        )
    # Nobody outside the client and us is told anything about ACME-1.
    for mail in sent:
        assert to(mail).endswith(("@acme-retail.example", "@agency.example"))
        assert "Falcon" not in text(mail) or to(mail).endswith("@agency.example")


# --- F15: Message-ID reuse ------------------------------------------------------------------


def test_a_reused_message_id_does_not_capture_the_thread(tmp_path: Path) -> None:
    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(hostile("F15-1-client.eml"))
        bot.run()
        bot.deliver_bytes(hostile("F15-2-attacker-same-message-id.eml"))
        bot.run()
        bot.deliver_bytes(hostile("F15-3-client-follow-up.eml"))
        bot.run()
        with bot.db.session() as s:
            rows = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
            refs = [s.get(Item, r.item_id).ref for r in rows]  # type: ignore[union-attr]
            attacker = s.get(Item, rows[1].item_id)
        assert refs[0] == "ACME-1" and refs[2] == "ACME-1"  # the client keeps the thread
        assert refs[1].startswith("TRIAGE-") and attacker is not None and attacker.needs_review
        review = bot.events("review")
    assert any(
        "Message-ID was used before by carl@acme-retail.example" in r
        for e in review
        for r in e["reasons"]
    )


def test_a_variant_reuse_in_references_keeps_the_first_owner(tmp_path: Path) -> None:
    first = client_mail(
        "anna@acme-retail.example", "Login", "Broken.", message_id="x@acme-retail.example"
    )
    copy = client_mail("eve@evil.example", "Spam", "Refund!", message_id="x@acme-retail.example")
    reply = client_mail(
        "anna@acme-retail.example",
        "Re: Login",
        "Still broken.",
        message_id="y@acme-retail.example",
        reply_to="x@acme-retail.example",
    )
    with bot_for(tmp_path) as bot:
        for data in (first, copy, reply):
            bot.deliver_bytes(data)
            bot.run()
        with bot.db.session() as s:
            refs = [
                s.get(Item, r.item_id).ref
                for r in s.scalars(select(StoredMessage).order_by(StoredMessage.id))
            ]  # type: ignore[union-attr]
    assert refs[0] == refs[2] == "ACME-1" and refs[1] != "ACME-1"


# --- F13: breakers cannot be tripped against a client by forgeries ------------------------


def test_forged_mails_that_trip_a_breaker_never_silence_a_client_for_good(
    tmp_path: Path,
) -> None:
    """Without authentication, forged mail in a client's name counts as theirs; the worst it
    does is a visible breaker the PM hears of at once, which ends by itself and never stops
    the client's summaries or decisions."""
    with bot_for(tmp_path, breaker_cooldown_hours=1) as bot:
        for n in range(6):
            bot.deliver_bytes(hostile(f"F13-breaker-spoof-{n}.eml"))
        sent = bot.run()
        assert [m for m in sent if to(m) == "lena@agency.example"]  # the PM is told at once
        assert not [m for m in sent if "evil" in to(m)]  # the forger's Reply-To gets nothing
        with bot.db.session() as s:
            [breaker] = list_breakers(s, datetime.now(UTC))
            assert breaker.address == "anna@acme-retail.example"
            # The cool-down passes (an hour here)...
            breaker.tripped_at -= timedelta(hours=2)
            breaker.expires_at -= timedelta(hours=2)
        # ...and the rate window with it: the client's real mail is answered again.
        with bot.db.session() as s:
            s.execute(
                update(StoredMessage).values(arrived_at=datetime.now(UTC) - timedelta(hours=2))
            )
        bot.deliver_bytes(hostile("F13-real-client-mail-afterwards.eml"), arrived=datetime.now(UTC))
        sent = bot.run()
    assert [to(m) for m in sent] == ["anna@acme-retail.example"]


# --- F18: a huge Message-ID ----------------------------------------------------------------


@pytest.mark.parametrize("length", [97_000, 300])
def test_a_huge_message_id_is_never_echoed_in_our_threading_headers(
    tmp_path: Path, length: int
) -> None:
    data = hostile("F18-huge-message-id.eml")
    if length != 97_000:  # a variant: long, but a line of ordinary length
        start = data.index(b"Message-ID: <") + len(b"Message-ID: <")
        end = data.index(b">", start)
        data = data[:start] + b"B" * length + b"@acme-retail.example" + data[end:]
    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(data)
        [ack] = bot.run()
        [raw] = [p.read_bytes() for p in bot.outbox_files("ack")]
    assert ack["In-Reply-To"] is None and ack["References"] is None
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


# --- F6, F16: what PostgreSQL refuses -------------------------------------------------------


def test_nul_and_overlong_header_values_are_stored_and_filed(tmp_path: Path) -> None:
    """On PostgreSQL a NUL in a header or a value longer than its column failed the insert
    (the batch was never stored) or the filing (set aside); the suite runs on both."""
    names = ["F6-pg-nul-subject.eml", "F16-pg-long-display-name.eml", "F16-pg-long-address.eml"]
    with bot_for(tmp_path, unknown_senders="acknowledge") as bot:
        for name in names:
            bot.deliver_bytes(hostile(name))
        bot.run()
        with bot.db.session() as s:
            rows = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
            assert len(rows) == len(names)
            assert all(r.item_id is not None and r.error is None for r in rows), [
                (r.state, r.error) for r in rows
            ]
            assert not any("\x00" in (r.subject or "") for r in rows)


# --- F11: a forged approval ------------------------------------------------------------------


def test_a_forged_approval_decides_nothing_and_tells_the_forger_nothing(tmp_path: Path) -> None:
    from mailbot.items.actions import reclassify
    from mailbot.items.change_control import assess, find_item, request_approval

    with bot_for(tmp_path) as bot:
        bot.deliver_bytes(hostile("F11-1-client-change-request.eml"))
        bot.run()
        [item] = bot.items()
        with bot.db.session() as s:
            if item.category != "change_request":  # the test's triage reads only subjects
                reclassify(s, bot.config, item.ref, "change_request", actor="lena")
            found = find_item(s, item.ref)
            assess(s, found, effort="5 days", cost="EUR 9,000", schedule="+1 week", actor="lena")
            assert request_approval(s, bot.config, found, actor="lena", now=datetime.now(UTC))
        bot.send()
        bot.new_mail()
        bot.deliver_bytes(hostile("F11-2-outsider-approves.eml"))
        sent = bot.run()
        assert bot.item(item.ref).status == "under_review"
        assert not bot.outbox("decision")
    assert all(to(m).endswith(("@acme-retail.example", "@agency.example")) for m in sent)
    assert not any("evil" in to(m) for m in sent)
