"""The outbox drained into a real SMTP server (aiosmtpd): once, retried, or failed for good."""

from __future__ import annotations

import email
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from mailbot.config_types import Secret, SmtpConfig
from mailbot.message import Address
from mailbot.outgoing.compose import Composed, compose_reply
from mailbot.outgoing.outbox import SendStats, claim_next, enqueue
from mailbot.outgoing.smtp import claim_lease, drain_outbox
from mailbot.outgoing.templates import TemplateLibrary
from mailbot.parse.parser import parse_bytes
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import OutboxMail, OutboxState
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CLIENT_MAIL = (
    "From: =?utf-8?b?546L6Iqz?= <wang.fang@client.example>\r\n"
    "To: ACME Project Team <team@agency.example>\r\n"
    "Subject: =?utf-8?b?5Zue5aSN77ya5a+85Ye6IEV4Y2VsIOi2heaXtg==?=\r\n"  # 回复：导出 Excel 超时
    "Date: Fri, 27 Nov 2026 09:12:00 +0800\r\n"
    "Message-ID: <20261127091200.1234@client.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "您好，今天上午发布之后导出 Excel 一直超时。\r\n"
).encode()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/mailbot.sqlite3")
    yield database
    database.dispose()


def composed_ack(n: int = 1, to: str = "wang.fang@client.example") -> Composed:
    """A real acknowledgement: parsed client mail, rendered template, composed reply."""
    original = parse_bytes(CLIENT_MAIL)
    rendered = TemplateLibrary().render(
        "ack",
        "issue",
        "zh-Hans",
        {
            "ref": f"ACME-{n}",
            "project": {"name": "ACME Portal", "key": "ACME"},
            "client_name": "王芳",
            "subject": original.subject_normalized,
            "first_response": "4 个工作小时内",
            "pm_name": "Lena Wu",
            "team_signature": "ACME Portal 项目组",
        },
    )
    team = Address("ACME 项目组", "team@agency.example")
    return compose_reply(
        original,
        rendered,
        ref=f"ACME-{n}",
        from_addr=team,
        to=Address("王芳", to),
        domain="agency.example",
        dedupe_key=f"ack:{n}",
    )


def add_pending(db: Database, count: int = 1, **kwargs: str) -> list[int]:
    ids = []
    with db.session() as session:
        for n in range(1, count + 1):
            row = enqueue(session, composed_ack(n, **kwargs), kind="ack", message_pk=None)
            assert row is not None
            row.next_attempt_at = T0 - timedelta(seconds=1)
            session.flush()
            ids.append(row.id)
    return ids


def rows(db: Database) -> list[OutboxMail]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_pending_mails_are_sent_exactly_once(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db, 3)
    config = smtp_sink.smtp_config()
    assert drain_outbox(db, config, now=T0) == SendStats(sent=3)
    assert drain_outbox(db, config, now=T0 + timedelta(days=1)) == SendStats()
    received = smtp_sink.messages
    assert len(received) == 3
    for row, got in zip(rows(db), received, strict=True):
        assert row.state == OutboxState.SENT and row.sent_at is not None
        assert row.last_error is None
        assert got.content == row.raw  # byte for byte what was stored
        assert got.mail_from == "team@agency.example"
        assert got.rcpt_tos == ("wang.fang@client.example",)


def test_the_received_mail_is_a_threaded_chinese_reply(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db)
    drain_outbox(db, smtp_sink.smtp_config(), now=T0)
    msg = email.message_from_bytes(smtp_sink.messages[0].content, policy=policy.default)
    assert msg["Subject"] == "Re: 导出 Excel 超时 [ACME-1]"
    assert msg["In-Reply-To"] == "<20261127091200.1234@client.example>"
    assert msg["Auto-Submitted"] == "auto-replied"
    text = msg.get_body(("plain",))
    assert text is not None and "4 个工作小时内" in text.get_content()


def test_a_4xx_is_retried_later(db: Database, smtp_sink: SmtpSink) -> None:
    [row_id] = add_pending(db)
    config = smtp_sink.smtp_config()
    smtp_sink.fail_next(1, code=451)
    assert drain_outbox(db, config, now=T0) == SendStats(retried=1)
    [row] = rows(db)
    assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
    assert "451" in (row.last_error or "")
    retry_at = row.next_attempt_at.replace(tzinfo=UTC)
    assert T0 + timedelta(seconds=45) <= retry_at <= T0 + timedelta(seconds=60)
    # Not due yet: nothing happens.
    assert drain_outbox(db, config, now=T0 + timedelta(seconds=30)) == SendStats()
    assert smtp_sink.messages == []
    assert drain_outbox(db, config, now=T0 + timedelta(minutes=2)) == SendStats(sent=1)
    [row] = rows(db)
    assert (row.id, row.state, row.attempts) == (row_id, OutboxState.SENT, 2)
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_5xx_fails_for_good(
    db: Database, smtp_sink: SmtpSink, stage: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_pending(db)
    smtp_sink.fail_next(1, code=550, stage=stage)
    with caplog.at_level(logging.ERROR, logger="mailbot.smtp"):
        assert drain_outbox(db, smtp_sink.smtp_config(), now=T0) == SendStats(failed=1)
    [row] = rows(db)
    assert row.state == OutboxState.FAILED and "550" in (row.last_error or "")
    assert "what to do" in caplog.text and "wang.fang@client.example" in caplog.text
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0 + timedelta(days=1)) == SendStats()
    assert smtp_sink.messages == []


def test_one_refused_mail_does_not_hold_up_the_others(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db, 3)
    smtp_sink.fail_next(1, code=550, stage="rcpt")
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0) == SendStats(sent=2, failed=1)
    assert [r.state for r in rows(db)] == [OutboxState.FAILED, OutboxState.SENT, OutboxState.SENT]


def test_an_address_smtp_cannot_carry_fails_alone(db: Database, smtp_sink: SmtpSink) -> None:
    bad, _ = add_pending(db, 2)
    with db.session() as session:
        row = session.get(OutboxMail, bad)
        assert row is not None
        row.rcpt_to = ["王芳@client.example"]  # no SMTPUTF8 on the sink
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0) == SendStats(sent=1, failed=1)
    assert [r.state for r in rows(db)] == [OutboxState.FAILED, OutboxState.SENT]
    assert len(smtp_sink.messages) == 1


def test_too_many_temporary_failures_end_as_failed(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db)
    config = smtp_sink.smtp_config(max_attempts=2)
    smtp_sink.fail_next(5, code=452)
    assert drain_outbox(db, config, now=T0) == SendStats(retried=1)
    assert drain_outbox(db, config, now=T0 + timedelta(hours=2)) == SendStats(failed=1)
    [row] = rows(db)
    assert (row.state, row.attempts) == (OutboxState.FAILED, 2)


def test_server_down_means_retry_later(db: Database, tmp_path: Path) -> None:
    add_pending(db, 2)
    with SmtpSink() as sink:
        config = sink.smtp_config()
    # The sink is stopped: its port refuses connections.
    assert drain_outbox(db, config, now=T0) == SendStats(retried=2)
    assert all(r.attempts == 1 and r.state == OutboxState.PENDING for r in rows(db))
    assert all("Connection refused" in (r.last_error or "") for r in rows(db))
    with SmtpSink() as sink:
        later = T0 + timedelta(minutes=5)
        assert drain_outbox(db, sink.smtp_config(), now=later) == SendStats(sent=2)
        assert len(sink.messages) == 2


def test_a_dropped_connection_defers_only_the_mail_in_flight(
    db: Database, smtp_sink: SmtpSink
) -> None:
    add_pending(db, 3)
    smtp_sink.fail_next(1, code=421, text="4.4.2 Closing connection")
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0) == SendStats(retried=1)
    assert [r.attempts for r in rows(db)] == [1, 0, 0]
    # The others keep their turn and go out with the next drain.
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0) == SendStats(sent=2)


def test_nothing_due_means_no_connection(db: Database) -> None:
    with SmtpSink() as sink:
        config = sink.smtp_config()
    assert drain_outbox(db, config, now=T0) == SendStats()  # would fail if it connected
    add_pending(db)
    assert drain_outbox(db, config, now=T0 - timedelta(hours=1)) == SendStats()


def test_limit_bounds_one_drain(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db, 3)
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0, limit=2) == SendStats(sent=2)
    assert drain_outbox(db, smtp_sink.smtp_config(), now=T0, limit=2) == SendStats(sent=1)


def test_two_daemons_on_one_database_do_not_send_twice(
    db: Database, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    add_pending(db, 2)
    other = open_database(f"sqlite:///{tmp_path}/mailbot.sqlite3")  # a second process's view
    try:
        config = smtp_sink.smtp_config()
        first = drain_outbox(db, config, now=T0)
        second = drain_outbox(other, config, now=T0)
    finally:
        other.dispose()
    assert (first, second) == (SendStats(sent=2), SendStats())
    assert len(smtp_sink.messages) == 2


def test_concurrent_drains_on_sqlite_send_each_mail_once(
    db: Database, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    add_pending(db, 12)
    config = smtp_sink.smtp_config()
    others = [open_database(f"sqlite:///{tmp_path}/mailbot.sqlite3") for _ in range(3)]
    start = threading.Barrier(len(others))
    results: list[SendStats] = []

    def drain(database: Database) -> None:
        start.wait()
        results.append(drain_outbox(database, config, now=T0))

    threads = [threading.Thread(target=drain, args=(d,)) for d in others]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for database in others:
            database.dispose()
    assert sum(r.sent for r in results) == 12
    assert sum(r.retried + r.failed for r in results) == 0
    ids = [parse_message_id(m.content) for m in smtp_sink.messages]
    assert len(ids) == len(set(ids)) == 12
    assert all(r.state == OutboxState.SENT for r in rows(db))


def test_a_crash_afterclaim_nexting_only_delays_the_mail(db: Database, smtp_sink: SmtpSink) -> None:
    add_pending(db)
    config = smtp_sink.smtp_config()
    # A drain claimed the mail and died before sending: nothing was sent, nothing marked.
    assert claim_next(db, T0, claim_lease(config)) is not None
    assert drain_outbox(db, config, now=T0) == SendStats()
    after_lease = T0 + claim_lease(config) + timedelta(seconds=1)
    assert drain_outbox(db, config, now=after_lease) == SendStats(sent=1)
    assert len(smtp_sink.messages) == 1


def parse_message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"])


def test_starttls_with_login(db: Database) -> None:
    add_pending(db)
    with SmtpSink(security="starttls", users={"mailbot": "s3cret"}) as sink:
        assert drain_outbox(db, sink.smtp_config(), now=T0) == SendStats(sent=1)
        [got] = sink.messages
        assert got.login == "mailbot"


def test_tls_verify_off_accepts_a_self_signed_server(db: Database) -> None:
    add_pending(db)
    with SmtpSink(security="starttls") as sink:
        config = sink.smtp_config(ca_file=None, tls_verify=False)
        assert drain_outbox(db, config, now=T0) == SendStats(sent=1)


def test_implicit_tls(db: Database) -> None:
    add_pending(db)
    with SmtpSink(security="tls") as sink:
        config = sink.smtp_config()
        assert config.security == "tls"
        assert drain_outbox(db, config, now=T0) == SendStats(sent=1)


def _wrong_password(config: SmtpConfig, tmp_path: Path) -> SmtpConfig:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("nope\n")
    return replace(config, secret=Secret(key="smtp.password", file=wrong))


BROKEN_CONFIGS: dict[str, tuple[Callable[[SmtpConfig, Path], SmtpConfig], str]] = {
    "untrusted certificate": (lambda c, _: replace(c, ca_file=None), "not trusted"),
    "wrong password": (_wrong_password, "refused the login"),
    "unknown security": (lambda c, _: replace(c, security="ssl"), "smtp.security"),
    "no password": (lambda c, _: replace(c, secret=None), "no password"),
}


@pytest.mark.parametrize("problem", list(BROKEN_CONFIGS))
def test_configuration_problems_are_logged_and_retried(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    add_pending(db)
    breaks, expected = BROKEN_CONFIGS[problem]
    with SmtpSink(security="starttls", users={"mailbot": "s3cret"}) as sink:
        config = breaks(sink.smtp_config(), tmp_path)
        with caplog.at_level(logging.ERROR, logger="mailbot.smtp"):
            assert drain_outbox(db, config, now=T0) == SendStats(retried=1)
        assert sink.messages == []
    assert expected in caplog.text
    [row] = rows(db)
    assert row.state == OutboxState.PENDING and expected in (row.last_error or "")


# --- PostgreSQL: several daemons on one database ---------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL cluster on 127.0.0.1 (trust auth) for this module."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl)")
    # Straight under /tmp: pytest's folders are private to root, the server user must enter.
    folder = Path(tempfile.mkdtemp(prefix="mbpg", dir="/tmp"))
    data = folder / "data"
    prefix: list[str] = []
    started = False
    try:
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
            if user is None:
                pytest.skip("running as root without a user to run PostgreSQL as")
            shutil.chown(folder, user)
            prefix = ["runuser", "-u", user, "--"]
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "mailbot"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        port = _free_port()
        options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off"
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(folder / "log"),
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        started = True
        yield f"postgresql+psycopg://mailbot@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_concurrent_drains_on_postgres_send_each_mail_once(
    postgres_url: str, smtp_sink: SmtpSink
) -> None:
    pg = open_database(postgres_url)
    with pg.session() as session:
        session.execute(delete(OutboxMail))
    add_pending(pg, 12)
    # Enqueue refuses a duplicate on PostgreSQL too, without spoiling the transaction.
    with pg.session() as session:
        assert enqueue(session, composed_ack(1), kind="ack", message_pk=None) is None
    config = smtp_sink.smtp_config()
    daemons = [open_database(postgres_url, migrate=False) for _ in range(3)]
    start = threading.Barrier(len(daemons))
    results: list[SendStats] = []

    def drain(database: Database) -> None:
        start.wait()
        results.append(drain_outbox(database, config, now=T0))

    threads = [threading.Thread(target=drain, args=(d,)) for d in daemons]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sum(r.sent for r in results) == 12
        ids = [parse_message_id(m.content) for m in smtp_sink.messages]
        assert len(ids) == len(set(ids)) == 12
        assert all(r.state == OutboxState.SENT for r in rows(pg))
    finally:
        for database in (*daemons, pg):
            database.dispose()
