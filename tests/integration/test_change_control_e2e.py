"""Change control and escalation end to end: real Dovecot in, real SMTP out, the shipped model."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.app import build_pipeline
from mailbot.config import Config, load_config
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.storage.db import open_database
from mailbot.storage.models import Event, Item, OutboxMail
from tests.servers import DovecotAccount
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config

pytestmark = pytest.mark.integration

ACME = {
    "key": "ACME",
    "name": "ACME web shop",
    "client_domains": ["acme.example"],
    "language": "en",
    "pm": "pm@agency.example",
    "pm_name": "Lena Wu",
}
HX = {"key": "HX", "name": "华信物流", "client_domains": ["huaxin.example"], "language": "zh-Hans"}
SITE = {"name": "Agency team", "address": "team@agency.example"}
MX = "mx.agency.example"  # whose Authentication-Results mailbot trusts
ANNA, BOB, WANG = "Anna <anna@acme.example>", "Bob <bob@acme.example>", "王芳 <wang@huaxin.example>"


def client_mail(
    n: int, sender: str, subject: str, body: str, reply_to: int | str | None = None
) -> bytes:
    """A client's mail <cN@client>; `reply_to` is a number N or one of our Message-IDs."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = "Agency team <team@agency.example>"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<c{n}@client>"
    msg["Date"] = format_datetime(datetime.now(UTC))
    # Our mail server checked the sender (docs/security.md): decisions need a proven one.
    domain = sender.rpartition("@")[2].rstrip(">")
    msg["Authentication-Results"] = f"{MX}; dmarc=pass header.from={domain}"
    if reply_to is not None:
        parent = f"c{reply_to}@client" if isinstance(reply_to, int) else reply_to
        msg["In-Reply-To"] = msg["References"] = f"<{parent}>"
    msg.set_content(body)
    return bytes(msg)


def run_once(config: Config) -> None:
    db = open_database(config.database_url)
    try:
        build_pipeline(config, db).run_once()
    finally:
        db.dispose()


def queue_command(config_path: Path, *argv: str) -> None:
    """`mailbot --config PATH queue ARGV… --actor lena`, as a PM types it."""
    from mailbot.cli import main

    assert main(["--config", str(config_path), "queue", *argv, "--actor", "lena"]) == 0


def received(sink: SmtpSink, start: int = 0) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(r.content, policy=policy.default)  # type: ignore[misc]
        for r in sink.messages[start:]
    ]


def to(mail: email.message.EmailMessage) -> str:
    return mail["To"].addresses[0].addr_spec


def text(mail: email.message.EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_change_requests_are_decided_by_the_clients_answers_and_urgent_mail_escalates(
    imap_account: DovecotAccount,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(
        tmp_path / "mailbot.toml",
        imap_account.mailbox_config(),
        "sqlite:///mb.sqlite3",
        projects=[ACME, HX],
        smtp_port=smtp_sink.port,
        site=SITE,
        authentication={"trusted_authserv_ids": [MX]},
    )
    config = load_config(path)
    imap_account.append_many(
        "INBOX",
        [
            client_mail(
                1,
                ANNA,
                "New banner on the home page",
                "Could you also add a Christmas banner to the home page?",
            ),
            client_mail(
                2, WANG, "销售看板增加区域筛选", "销售看板能不能再加一个按区域筛选的功能？"
            ),
            client_mail(
                3, WANG, "导出格式变更", "我们希望把导出的格式从 CSV 改成 Excel，请评估一下影响。"
            ),
            client_mail(
                4,
                BOB,
                "Region filter for the sales dashboard",
                "Could you also add a filter by region to the sales dashboard?",
            ),
        ],
    )
    run_once(config)
    assert sorted(to(m) for m in received(smtp_sink)) == sorted(
        ["anna@acme.example", "wang@huaxin.example", "wang@huaxin.example", "bob@acme.example"]
    )
    db = open_database(config.database_url)
    with db.session() as s:
        refs = {i.title: (i.ref, i.category) for i in s.scalars(select(Item))}
    assert {category for _, category in refs.values()} == {"change_request"}
    banner, region_zh, export, region_en = (
        refs[t][0]
        for t in (
            "New banner on the home page",
            "销售看板增加区域筛选",
            "导出格式变更",
            "Region filter for the sales dashboard",
        )
    )

    # The PM assesses each one and asks the client: one mail each, in the client's thread.
    for ref in (banner, region_zh, export, region_en):
        queue_command(path, "assess", ref, "--effort", "3 days", "--cost", "EUR 2,400")
        queue_command(path, "request-approval", ref)
        queue_command(path, "request-approval", ref)  # a second run sends nothing more
    deliver_outbox(db, config)
    with db.session() as s:  # as if sent an hour ago: the clients take their time to answer
        s.execute(update(OutboxMail).values(sent_at=datetime.now(UTC) - timedelta(hours=1)))
    requests = received(smtp_sink, 4)
    assert len(requests) == 4
    by_ref = {m["Subject"].rsplit("[", 1)[1].rstrip("]"): m for m in requests}
    assert to(by_ref[banner]) == "anna@acme.example"
    assert by_ref[banner]["In-Reply-To"] == "<c1@client>"
    assert "EUR 2,400" in text(by_ref[banner]) and '"Approved"' in text(by_ref[banner])
    assert "“同意”" in text(by_ref[region_zh])

    # The answers, and an urgent new mail.
    imap_account.append_many(
        "INBOX",
        [
            # The clients answer our approval requests (only a reply to our request can
            # decide); Bob answers his own first mail, which only the PM can read as a yes.
            client_mail(
                5,
                ANNA,
                by_ref[banner]["Subject"],
                "Approved, please go ahead.",
                by_ref[banner]["Message-ID"].strip("<>"),
            ),
            client_mail(
                6,
                WANG,
                "回复：销售看板增加区域筛选",
                "同意，请尽快安排。",
                by_ref[region_zh]["Message-ID"].strip("<>"),
            ),
            client_mail(
                7, WANG, "回复：导出格式变更", "不同意", by_ref[export]["Message-ID"].strip("<>")
            ),
            client_mail(8, BOB, "Re: Region filter", "Let me check with my boss", 4),
            client_mail(
                9,
                ANNA,
                "URGENT!!! production is down",
                "URGENT!!! production is down, nobody can log in.",
            ),
        ],
    )
    run_once(config)
    with db.session() as s:
        status = {i.ref: (i.status, i.needs_review) for i in s.scalars(select(Item))}
        decided = [e.detail for e in s.scalars(select(Event).where(Event.kind == "status"))]
    assert status[banner] == ("approved", False)
    assert status[region_zh] == ("approved", False)
    assert status[export] == ("rejected", False)
    assert status[region_en] == ("under_review", True)
    assert any("Approved, please go ahead." in d.get("evidence", "") for d in decided)

    last = received(smtp_sink, 8)
    pm = [m for m in last if to(m) == "pm@agency.example"]
    acks = [m for m in last if m["In-Reply-To"] == "<c9@client>"]
    confirmations = {m["In-Reply-To"]: m for m in last if m not in pm and m not in acks}
    # Exactly one acknowledgement, for the urgent mail, and nothing to the client about it.
    assert [to(m) for m in acks] == ["anna@acme.example"]
    assert "ACME" in acks[0]["Subject"] and "production is down" in acks[0]["Subject"]
    # Each clear decision is confirmed in the client's thread; the unclear one is not.
    assert sorted(confirmations) == ["<c5@client>", "<c6@client>", "<c7@client>"]
    assert "recorded your approval" in text(confirmations["<c5@client>"])
    assert "同意实施" in text(confirmations["<c6@client>"])
    assert "暂不实施" in text(confirmations["<c7@client>"])
    notices = {m["Subject"].split("]")[0] + "]": m for m in pm}
    assert sorted(notices) == ["[Decision needed]", "[Escalation]"] and len(pm) == 2
    assert "Let me check with my boss" in text(notices["[Decision needed]"])
    escalation = text(notices["[Escalation]"])
    assert "asks for urgent handling" in escalation and "nobody can log in" in escalation
    db.dispose()
