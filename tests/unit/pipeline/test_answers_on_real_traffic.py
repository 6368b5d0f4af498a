"""Automatic answers on real traffic: clocks from arrival, backlogs filed quietly, busy
clients answered, loops stopped by what robots do, breakers that end and can be cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.config_types import AckConfig, ProjectConfig, SiteConfig
from mailbot.pipeline.breakers import clear_breaker, list_breakers
from mailbot.reports.digest import collect_digest, render_digest
from mailbot.storage.models import Breaker, Item, OutboxMail, StoredMessage
from tests.support.pipeline import ACME, MaildirBot


class Inbox(MaildirBot):
    """ACME alone, the acknowledgement settings given; each mail dated when it arrived."""

    def __init__(self, tmp_path: Path, **acks: object) -> None:
        super().__init__(
            tmp_path,
            projects=(ACME,),
            acknowledgements=AckConfig(**acks),  # type: ignore[arg-type]
            message_ids="r{n}@acme.example",
        )

    def deliver(  # type: ignore[override]
        self, subject: str, *, arrived: datetime, sender: str = "anna@acme.example", body: str = ""
    ) -> int:
        body = body or f"Problem number {self.n + 1}."
        return super().deliver(sender, subject, body, date=arrived, arrived=arrived)

    def acks(self) -> list[str]:
        return [o.subject for o in self.outbox("ack")]


def test_a_backlog_is_filed_from_its_arrival_and_only_recent_mail_is_answered(
    tmp_path: Path,
) -> None:
    inbox = Inbox(tmp_path)
    now = datetime.now(UTC)
    two_weeks = now - timedelta(days=14)
    for n in range(12):  # one client, twelve new threads over two weeks
        inbox.deliver(f"Old problem {n}", arrived=two_weeks + timedelta(hours=n * 24))
    inbox.deliver("Fresh problem", arrived=now - timedelta(hours=2))
    inbox.run()
    with inbox.db.session() as s:
        items = s.scalars(select(Item).order_by(Item.id)).all()
        assert len(items) == 13  # every thread filed
        # Ages and SLA clocks start when the mail arrived, not when it was read.
        assert abs(items[0].created_at - two_weeks) < timedelta(seconds=1)
        arrived = s.scalars(select(StoredMessage.arrived_at).order_by(StoredMessage.id)).all()
        assert abs(arrived[0] - two_weeks) < timedelta(seconds=1)
        assert s.scalars(select(Breaker)).all() == []  # no client silenced
    assert inbox.acks() == ["Re: Fresh problem [ACME-13]"]
    assert sum("max_age_hours" in d for d in inbox.decisions()) == 12
    # The PM hears of the quiet backlog in the digest.
    with inbox.db.session() as s:
        digest = collect_digest(
            s,
            inbox.config,
            "pm@agency.example",
            [ACME],
            period="today",
            since=now - timedelta(hours=1),
            until=datetime.now(UTC) + timedelta(minutes=1),
        )
    assert digest.filed_unanswered == 12
    _subject, rendered = render_digest(inbox.config, digest)
    assert "Filed without an answer: 12 mails older than 24 h" in rendered.text


def test_a_busy_client_is_answered_every_time(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    start = datetime.now(UTC) - timedelta(minutes=30)
    for n in range(15):  # acceptance testing: 15 separate issues in half an hour
        inbox.deliver(f"UAT finding {n}", arrived=start + timedelta(minutes=2 * n))
    inbox.run()
    assert len(inbox.acks()) == 15


def test_a_flood_trips_a_breaker_that_tells_the_pm_ends_and_can_be_cleared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = Inbox(tmp_path, max_per_sender_per_hour=3, breaker_cooldown_hours=1)
    start = datetime.now(UTC) - timedelta(hours=3)  # a flood within one hour, 3 h ago
    for n in range(5):
        inbox.deliver(f"Flood {n}", arrived=start + timedelta(minutes=n))
    inbox.run()
    assert len(inbox.acks()) == 3
    with inbox.db.session() as s:
        [breaker] = list_breakers(s, datetime.now(UTC))
        assert breaker.address == "anna@acme.example"
        assert breaker.expires_at - breaker.tripped_at == timedelta(hours=1)
        notices = s.scalars(select(OutboxMail).where(OutboxMail.kind == "breaker")).all()
        assert [n.rcpt_to for n in notices] == [["pm@agency.example"]]  # told once, at once
        assert list_breakers(s, datetime.now(UTC) + timedelta(hours=2)) == []  # it ends
    cfg = tmp_path / "mailbot.toml"
    cfg.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{inbox.root}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/mb.sqlite3"\n'
    )
    assert main(["--config", str(cfg), "breakers", "list"]) == 0
    assert "anna@acme.example" in capsys.readouterr().out
    assert main(["--config", str(cfg), "breakers", "clear", "anna@acme.example"]) == 0
    with inbox.db.session() as s:
        assert list_breakers(s, datetime.now(UTC)) == []
        with pytest.raises(Exception, match="no breaker is on"):
            clear_breaker(s, "anna@acme.example", actor="pm", now=datetime.now(UTC))
    inbox.deliver("After the clear", arrived=datetime.now(UTC))
    inbox.run()
    assert "Re: After the clear [ACME-6]" in inbox.acks()


def test_a_machine_repeating_itself_is_stopped(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    start = datetime.now(UTC) - timedelta(minutes=10)
    for n in range(4):  # an autoresponder without Auto-Submitted, same words each time
        inbox.deliver("Ticket received", arrived=start + timedelta(minutes=n), body="We got it.")
    inbox.run()
    # Two identical mails may be a person sending twice; the third shows a machine.
    assert len(inbox.acks()) == 2
    assert any("repeats itself" in d for d in inbox.decisions())
    with inbox.db.session() as s:
        assert [b.address for b in list_breakers(s, datetime.now(UTC))] == ["anna@acme.example"]


def test_run_no_ack_files_history_without_answering(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    inbox.deliver("Last year's problem", arrived=datetime.now(UTC))
    cfg = tmp_path / "mailbot.toml"
    cfg.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{inbox.root}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/mb.sqlite3"\n[triage]\nenabled = false\n'
        f'[outbox]\ndirectory = "{tmp_path / "outbox"}"\n'
        '[site]\nname = "Agency"\naddress = "team@agency.example"\ndomain = "agency.example"\n'
        '[[projects]]\nkey = "ACME"\nname = "ACME"\nclient_domains = ["acme.example"]\n'
    )
    assert main(["--config", str(cfg), "run", "--once", "--no-ack"]) == 0
    with inbox.db.session() as s:
        assert len(s.scalars(select(Item)).all()) == 1
    assert inbox.acks() == []


def _strip_auto_submitted(mail: bytes) -> bytes:
    """What a careless autoresponder sends: our mail's threading, no Auto-Submitted."""
    head, _, body = mail.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"auto-submitted")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@pytest.mark.parametrize("marked", [True, False], ids=["auto-submitted", "unmarked"])
def test_two_mailbots_answering_each_other_stop_after_one_exchange(
    tmp_path: Path, marked: bool
) -> None:
    """Our mailbot and a client's helpdesk bot (another mailbot), each the other's client:
    every mail one sends lands in the other's inbox at once, as fast as machines answer."""
    ours = MaildirBot(
        tmp_path / "ours",
        projects=(ACME,),
        message_ids="o{n}@acme.example",
        acknowledgements=AckConfig(unknown_senders="acknowledge"),
    )
    theirs = MaildirBot(
        tmp_path / "theirs",
        projects=(ProjectConfig(key="AGY", name="Agency", client_domains=("agency.example",)),),
        site=SiteConfig(name="ACME helpdesk", address="help@acme.example", domain="acme.example"),
        message_ids="t{n}@agency.example",
        acknowledgements=AckConfig(unknown_senders="acknowledge"),
    )
    ours.deliver("help@acme.example", "Printer on fire", "Our printer is on fire.")
    sent = {"ours": 0, "theirs": 0}
    address = {"ours": "help@acme.example", "theirs": "team@agency.example"}
    for _ in range(6):
        for name, bot, other in (("ours", ours, theirs), ("theirs", theirs, ours)):
            for mail in bot.run():
                if mail["To"].addresses[0].addr_spec != address[name]:
                    continue  # a notice to that side's PM
                sent[name] += 1
                data = mail.as_bytes(policy=policy.SMTP)
                other.deliver_bytes(data if marked else _strip_auto_submitted(data))
    # One acknowledgement from us; the other side answers it at most once; then silence.
    assert sent["ours"] == 1 and sent["theirs"] <= 1, sent
    ours.close()
    theirs.close()
