"""The main job end to end: real Dovecot in, real SMTP out, the shipped triage model between."""

from __future__ import annotations

import email
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.app import build_pipeline
from mailbot.config import Config, load_config
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.storage.db import open_database
from mailbot.storage.models import Item, OutboxMail, OutboxState, StoredMessage
from tests.servers import DovecotAccount
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
ACME = {
    "key": "ACME",
    "name": "ACME web shop",
    "client_domains": ["acme.example"],
    "client_addresses": ["acme.boss@qq.com"],
    "language": "en",
    "pm": "pm@agency.example",
}
HX = {"key": "HX", "name": "华信物流", "client_domains": ["huaxin.example"], "language": "zh-Hans"}
SITE = {"name": "Agency team", "address": "team@agency.example"}


def client_mail(
    n: int, sender: str, subject: str, body: str, *, reply_to: int | None = None, extra: str = ""
) -> bytes:
    thread = ""
    if reply_to is not None:
        thread = f"In-Reply-To: <c{reply_to}@client>\r\nReferences: <c{reply_to}@client>\r\n"
    msg = email.message.EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = "Agency team <team@agency.example>"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<c{n}@client>"
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0800"
    msg.set_content(body)
    raw = bytes(msg)
    head, _, rest = raw.partition(b"\r\n\r\n")
    return head + b"\r\n" + (thread + extra).encode() + b"\r\n" + rest if (thread or extra) else raw


def configure(
    tmp_path: Path, account: DovecotAccount, sink: SmtpSink | None, **sections: dict[str, object]
) -> Config:
    path = write_config(
        tmp_path / "mailbot.toml",
        account.mailbox_config(),
        "sqlite:///mb.sqlite3",
        projects=[ACME, HX],
        smtp_port=sink.port if sink else None,
        site=SITE,
        **sections,
    )
    return load_config(path)


def run_once(config: Config) -> None:
    db = open_database(config.database_url)
    try:
        build_pipeline(config, db).run_once()
    finally:
        db.dispose()


def acks(sink: SmtpSink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(r.content, policy=policy.default) for r in sink.messages]  # type: ignore[misc]


def test_a_thread_gets_one_item_and_one_threaded_acknowledgement(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    config = configure(tmp_path, imap_account, smtp_sink)
    imap_account.append(
        "INBOX",
        client_mail(
            1,
            "Anna <anna@acme.example>",
            "Checkout fails with error 500",
            "Hi, since this morning customers get an error 500 when they pay. Please fix.",
        ),
    )
    run_once(config)
    imap_account.append_many(
        "INBOX",
        [
            client_mail(
                2,
                "Anna <anna@acme.example>",
                "Re: Checkout fails with error 500",
                "It also happens with PayPal.",
                reply_to=1,
            ),
            client_mail(
                3,
                "Anna <anna@acme.example>",
                "Re: Checkout fails with error 500",
                "Any news? Still failing.",
                reply_to=2,
            ),
        ],
    )
    run_once(config)
    db = open_database(config.database_url)
    with db.session() as s:
        [item] = s.scalars(select(Item)).all()
        assert (item.ref, item.category, item.status) == ("ACME-1", "issue", "acknowledged")
        assert [m.item_id for m in s.scalars(select(StoredMessage))] == [item.id] * 3
    [ack] = acks(smtp_sink)
    assert ack["Subject"] == "Re: Checkout fails with error 500 [ACME-1]"
    assert ack["In-Reply-To"] == "<c1@client>" and "<c1@client>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied" and ack["X-Auto-Response-Suppress"] == "All"
    assert ack["To"].addresses[0].addr_spec == "anna@acme.example"
    assert ack["Message-ID"].endswith("@agency.example>")
    assert "ACME-1" in ack.get_body(("plain",)).get_content()
    assert list(smtp_sink.messages[0].rcpt_tos) == ["anna@acme.example"]


def test_chinese_client_gets_a_chinese_acknowledgement_and_qq_clients_are_known(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    config = configure(tmp_path, imap_account, smtp_sink)
    imap_account.append_many(
        "INBOX",
        [
            client_mail(
                1,
                "王芳 <wangfang@huaxin.example>",
                "后台登录不了",
                "你好，从今天上午开始运营后台一直登录不了，提示系统错误，麻烦尽快处理。",
            ),
            client_mail(
                2,
                "Boss <acme.boss@qq.com>",
                "New banner on the home page",
                "Could you also add a Christmas banner to the home page?",
            ),
        ],
    )
    run_once(config)
    db = open_database(config.database_url)
    with db.session() as s:
        items = {i.client_email: i for i in s.scalars(select(Item))}
    assert items["wangfang@huaxin.example"].ref == "HX-1"
    assert items["acme.boss@qq.com"].ref == "ACME-1"
    by_to = {a["To"].addresses[0].addr_spec: a for a in acks(smtp_sink)}
    zh = by_to["wangfang@huaxin.example"].get_body(("plain",)).get_content()
    assert "HX-1" in zh and "您好" in zh
    en = by_to["acme.boss@qq.com"].get_body(("plain",)).get_content()
    assert "ACME-1" in en and "approve" in en.lower()  # the change-control steps


NOISE_FIXTURES = [  # real auto-replies and bounces from other projects' test suites
    *(f"sisimai-set-of-emails/maildir/bsd/rfc3834-0{i}.eml" for i in range(1, 7)),
    "sisimai-set-of-emails/maildir/bsd/lhost-postfix-01.eml",
    "sisimai-set-of-emails/maildir/bsd/rhost-outlook-01.eml",
    "webklex-php-imap/example_bounce.eml",
]


def test_noise_is_never_answered(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    config = configure(tmp_path, imap_account, smtp_sink)
    noise = [
        client_mail(
            1,
            "Anna <anna@acme.example>",
            "Automatic reply: Checkout",
            "I am out of the office until Monday.",
            extra="Auto-Submitted: auto-replied\r\n",
        ),
        client_mail(
            2,
            "ACME news <news@acme.example>",
            "Our November newsletter",
            "Read all about it.",
            extra="List-Unsubscribe: <mailto:u@acme.example>\r\nPrecedence: bulk\r\n",
        ),
        client_mail(
            3,
            "MAILER-DAEMON <mailer-daemon@acme.example>",
            "Undelivered Mail",
            "Your message could not be delivered.",
        ),
        client_mail(
            4, "Anna <anna@acme.example>", "自动回复：结算页面", "我正在休假，下周一回来。"
        ),
    ]
    noise += [(CORPUS / f).read_bytes() for f in NOISE_FIXTURES]
    imap_account.append_many("INBOX", noise)
    run_once(config)
    assert smtp_sink.messages == []
    db = open_database(config.database_url)
    with db.session() as s:
        assert len(s.scalars(select(StoredMessage)).all()) == len(noise)


class BlackHole:
    """A TCP server that accepts and never answers: an SMTP send hangs there."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def test_kill_between_filing_and_sending_gives_exactly_one_acknowledgement(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    hole = BlackHole()
    try:
        cfg = write_config(
            tmp_path / "mailbot.toml",
            imap_account.mailbox_config(),
            "sqlite:///mb.sqlite3",
            projects=[ACME],
            smtp_port=hole.port,
            site=SITE,
        )
        imap_account.append(
            "INBOX",
            client_mail(1, "anna@acme.example", "Login broken", "Nobody can log in since 9:00."),
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(cfg), "run", "--once"],
            stderr=subprocess.PIPE,
        )
        db = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until the item is filed and the send hangs
            with db.session() as s:
                if s.scalars(select(OutboxMail)).first() is not None and hole.conns:
                    break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        hole.close()
    with db.session() as s:
        [row] = s.scalars(select(OutboxMail)).all()
        assert row.state == OutboxState.PENDING
    # Restart against the real SMTP server, after the killed run's claim has lapsed.
    live = _with_smtp(cfg, smtp_sink)
    later = datetime.now(UTC) + timedelta(minutes=30)
    deliver_outbox(db, live, now=later)
    deliver_outbox(db, live, now=later + timedelta(hours=2))
    run_once(live)
    assert len(smtp_sink.messages) == 1
    assert b"Login broken" in smtp_sink.messages[0].content


def _with_smtp(cfg: Path, sink: SmtpSink) -> Config:
    text = cfg.read_text()
    start = text.index("[smtp]")
    end = text.index("[", start + 1)
    cfg.write_text(
        text[:start] + f'[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\n'
        'security = "none"\n' + text[end:]
    )
    return load_config(cfg)


def test_two_mailbots_feeding_each_other_exchange_at_most_one_mail_each(
    dovecot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    a_box, b_box = dovecot.add_account(), dovecot.add_account()
    with SmtpSink() as a_out, SmtpSink() as b_out:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = load_config(
            write_config(
                tmp_path / "a" / "mailbot.toml",
                a_box.mailbox_config(),
                "sqlite:///a.sqlite3",
                projects=[{"key": "BCORP", "name": "B corp", "client_domains": ["b.example"]}],
                smtp_port=a_out.port,
                site={"name": "A team", "address": "team@a.example"},
            )
        )
        b = load_config(
            write_config(
                tmp_path / "b" / "mailbot.toml",
                b_box.mailbox_config(),
                "sqlite:///b.sqlite3",
                projects=[{"key": "ACORP", "name": "A corp", "client_domains": ["a.example"]}],
                smtp_port=b_out.port,
                site={"name": "B team", "address": "team@b.example"},
            )
        )
        # A person at B writes to A; from then on only the two robots talk.
        a_box.append(
            "INBOX",
            client_mail(
                1, "team@b.example", "Report is broken", "The monthly report shows wrong totals."
            ),
        )
        relayed = {"a": 0, "b": 0}
        for _round in range(4):  # deliver each side's outgoing mail into the other's inbox
            run_once(a)
            for sent in a_out.messages[relayed["a"] :]:
                b_box.append("INBOX", sent.content)
            relayed["a"] = len(a_out.messages)
            run_once(b)
            for sent in b_out.messages[relayed["b"] :]:
                a_box.append("INBOX", sent.content)
            relayed["b"] = len(b_out.messages)
        assert len(a_out.messages) == 1  # the person at B was answered once
        assert len(b_out.messages) == 0  # B saw an automatic reply and did not answer it
