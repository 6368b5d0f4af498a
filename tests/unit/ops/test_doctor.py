"""`mailbot doctor`: each check passes, warns or fails with what to do; doctor never crashes."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, Secret, SmtpConfig
from mailbot.ops.doctor import (
    FAIL,
    PASS,
    WARN,
    Check,
    check_database,
    check_delivery,
    check_imap,
    check_maildir,
    check_smtp,
    exit_code,
    jwt_expiry,
    run_checks,
)
from mailbot.ops.health import beat, check_fetches, check_outbox, stall_limit
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Cursor, Heartbeat, OutboxMail, OutboxState


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jwt(exp: datetime) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': int(exp.timestamp())})}.c2ln"


def write_maildir_config(tmp_path: Path, extra: str = "") -> Path:
    ensure_maildir(tmp_path / "inbox")
    path = tmp_path / "mailbot.toml"
    path.write_text(
        f"""
[mailbox]
name = "local"
kind = "maildir"
path = "inbox"

[database]
url = "sqlite:///{tmp_path}/mb.sqlite3"

[triage]
enabled = false
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    yield database
    database.dispose()


def by_name(checks: list[Check], name: str) -> list[Check]:
    return [c for c in checks if c.name == name]


# --- the whole run and exit codes ---------------------------------------------------


def test_a_broken_config_is_a_failed_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.toml"
    path.write_text("[mailbox\nname = ", encoding="utf-8")
    checks = run_checks(path)
    assert [(c.name, c.status) for c in checks] == [("config", FAIL)]
    assert "not valid TOML" in checks[0].detail
    assert exit_code(checks) == 2


def test_an_unknown_key_names_the_key_and_what_to_do(tmp_path: Path) -> None:
    path = write_maildir_config(tmp_path, '[site]\nnmae = "x"\n')
    (row,) = run_checks(path)
    assert row.status == FAIL and "nmae" in row.detail and row.action


def test_exit_codes() -> None:
    ok = Check("a", "x", PASS, "")
    warn = Check("b", "x", WARN, "", "do this")
    fail = Check("c", "x", FAIL, "", "do that")
    assert exit_code([ok]) == 0
    assert exit_code([ok, warn]) == 0
    assert exit_code([ok, warn], strict=True) == 1
    assert exit_code([warn, fail], strict=True) == 2
    assert exit_code([ok, fail]) == 2


def test_cli_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_maildir_config(tmp_path)
    # Nothing run yet: the database does not exist, which is a failure with advice.
    assert main(["--config", str(path), "doctor", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["exit_code"] == 2
    rows = {row["name"]: row for row in report["checks"]}
    assert rows["config"]["status"] == PASS
    assert re.search(r": 1 mailbox, \d+ projects?, database ", rows["config"]["detail"])
    assert rows["maildir"]["status"] == PASS
    assert rows["database"]["status"] == FAIL
    assert "mailbot run --once" in rows["database"]["action"]
    assert rows["delivery"]["status"] == WARN  # no [smtp], no [outbox]
    assert not (tmp_path / "mb.sqlite3").exists()  # doctor did not create it

    assert main(["--config", str(path), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(path), "doctor"]) == 0
    table = capsys.readouterr().out
    assert "PASS    database" in table
    assert "-> configure [smtp]" in table
    assert "0 failed" in table
    assert re.search(r"\n\d+ passed, \d+ warnings?, 0 failed$", table.rstrip())
    assert main(["--config", str(path), "doctor", "--strict"]) == 1


# --- mailboxes ---------------------------------------------------------------------------


def test_maildir_must_be_a_maildir(tmp_path: Path) -> None:
    box = MailboxConfig(name="m", kind="maildir", path=tmp_path / "nope", folders=Folders())
    (row,) = check_maildir(box)
    assert row.status == FAIL and "mkdir -p" in row.action
    ensure_maildir(tmp_path / "nope")
    rows = check_maildir(box)
    assert rows[0].status == PASS
    # processed/failed appear on the first run: a warning only.
    assert [r.status for r in rows[1:]] == [WARN, WARN]


def test_an_unreachable_imap_server_fails_fast(tmp_path: Path) -> None:
    box = MailboxConfig(
        name="work",
        host="127.0.0.1",
        port=free_port(),
        security="tls",
        username="u",
        secret=Secret("mailbox.password", env="MB_TEST_NOT_SET"),
    )
    started = datetime.now(UTC)
    checks = check_imap(box)
    assert (datetime.now(UTC) - started).total_seconds() < 5
    assert [(c.name, c.status) for c in checks] == [("imap reachable", FAIL)]
    assert "cannot connect" in checks[0].detail and "mailbox.port" in checks[0].action


@pytest.mark.parametrize(
    ("days", "status"), [(30, PASS), (3, WARN), (-1, FAIL)], ids=["valid", "soon", "expired"]
)
def test_xoauth2_token_expiry(monkeypatch: pytest.MonkeyPatch, days: int, status: str) -> None:
    from mailbot.ops.doctor import _token_check

    monkeypatch.setenv("MB_TEST_TOKEN", jwt(datetime.now(UTC) + timedelta(days=days)))
    box = MailboxConfig(name="o", auth="xoauth2", secret=Secret("t", env="MB_TEST_TOKEN"))
    row = _token_check(box)
    assert row.status == status
    if status != PASS:
        assert "renew" in row.action


def test_an_opaque_token_cannot_be_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailbot.ops.doctor import _token_check

    monkeypatch.setenv("MB_TEST_TOKEN", "ya29.opaque-google-style-token")
    box = MailboxConfig(name="o", auth="xoauth2", secret=Secret("t", env="MB_TEST_TOKEN"))
    row = _token_check(box)
    assert row.status == PASS and "cannot be checked" in row.detail
    monkeypatch.delenv("MB_TEST_TOKEN")
    assert _token_check(box).status == FAIL  # the secret itself is missing


def test_jwt_expiry_parsing() -> None:
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    assert jwt_expiry(jwt(moment)) == moment
    assert jwt_expiry("a.b") is None
    assert jwt_expiry("a.!!!.c") is None
    assert jwt_expiry("a." + base64.urlsafe_b64encode(b'{"sub": 1}').decode() + ".c") is None


# --- sending -----------------------------------------------------------------------------


def test_delivery_checks(tmp_path: Path) -> None:
    box = MailboxConfig(name="m", kind="maildir", path=tmp_path)
    (row,) = check_delivery(Config(mailboxes=(box,)))
    assert row.status == WARN and "pile up" in row.detail
    (row,) = check_delivery(Config(mailboxes=(box,), outbox_dir=tmp_path / "out"))
    assert row.status == PASS


def test_an_unreachable_smtp_server_fails_with_advice() -> None:
    smtp = SmtpConfig(
        host="127.0.0.1", port=free_port(), security="none", from_address="team@example.com"
    )
    row = check_smtp(smtp)
    assert row.status == FAIL and "smtp.port" in row.action


# --- database, fetches, outbox -------------------------------------------------------------


def test_a_database_that_is_not_migrated_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    open_database(url, migrate=False).dispose()
    (tmp_path / "old.sqlite3").touch()  # exists, but has no schema
    rows, db = check_database(url)
    assert db is not None
    db.dispose()
    assert rows[0].status == FAIL and "not migrated" in rows[0].detail
    rows, db = check_database("nonsense://")
    assert db is None and rows[0].status == FAIL


def _config(tmp_path: Path, idle: bool = False) -> Config:
    box = MailboxConfig(
        name="work", host="h", username="u", idle=idle, poll_interval=60, folders=Folders()
    )
    return Config(mailboxes=(box,))


def _fetched(db: Database, ago: timedelta) -> None:
    with db.session() as session:
        session.merge(
            Cursor(
                account="work",
                folder="INBOX",
                uidvalidity=1,
                last_uid=5,
                last_fetch_at=datetime.now(UTC) - ago,
            )
        )


def test_fetch_freshness(tmp_path: Path, db: Database) -> None:
    config = _config(tmp_path)
    assert stall_limit(config.mailboxes[0]) == timedelta(minutes=13)
    (row,) = check_fetches(config, db)
    assert row.status == WARN and row.detail == "never fetched"
    _fetched(db, timedelta(minutes=2))
    assert check_fetches(config, db)[0].status == PASS
    # Old fetch and no daemon: perhaps it is simply not running.
    _fetched(db, timedelta(hours=2))
    (row,) = check_fetches(config, db)
    assert row.status == WARN and "no heartbeat" in row.detail
    # Old fetch while a daemon for that mailbox beats: a stalled fetcher.
    beat(db, "host:1:work")
    (row,) = check_fetches(config, db)
    assert row.status == FAIL and "stalled" in row.detail and "restart" in row.action
    # A heartbeat that is itself old means the daemon is gone, not stalled.
    with db.session() as session:
        hb = session.get(Heartbeat, "host:1:work")
        assert hb is not None
        hb.at = datetime.now(UTC) - timedelta(hours=3)
    (row,) = check_fetches(config, db)
    assert row.status == WARN and "last heartbeat" in row.detail


def _outbox(db: Database, n: int, state: str, age: timedelta) -> None:
    with db.session() as session:
        session.add(
            OutboxMail(
                kind="ack",
                dedupe_key=f"k{n}",
                message_id=f"<m{n}@x>",
                mail_from="team@example.com",
                rcpt_to=["c@example.com"],
                subject="s",
                raw=b"x",
                state=state,
                created_at=datetime.now(UTC) - age,
            )
        )


def test_outbox_health(db: Database) -> None:
    assert [r.status for r in check_outbox(db)] == [PASS, PASS]
    _outbox(db, 1, OutboxState.PENDING, timedelta(minutes=5))
    _outbox(db, 2, OutboxState.SENT, timedelta(days=1))
    assert [r.status for r in check_outbox(db)] == [PASS, PASS]
    _outbox(db, 3, OutboxState.PENDING, timedelta(hours=2))
    _outbox(db, 4, OutboxState.FAILED, timedelta(hours=2))
    _outbox(db, 5, OutboxState.FAILED, timedelta(minutes=1))
    pending, failed = check_outbox(db)
    assert pending.status == WARN and pending.detail.startswith("1 mail unsent")
    assert failed.status == WARN and failed.detail.startswith("2 mails were refused")


def test_an_unreachable_database_server_fails_fast() -> None:
    started = datetime.now(UTC)
    rows, db = check_database(f"postgresql+psycopg://mailbot@127.0.0.1:{free_port()}/mailbot")
    assert (datetime.now(UTC) - started).total_seconds() < 5
    assert db is None
    assert rows[0].status == FAIL and "cannot connect to the database server" in rows[0].detail


def test_a_crashing_check_becomes_a_failed_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailbot.ops.doctor

    def boom(config: Config) -> list[Check]:
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(mailbot.ops.doctor, "check_delivery", boom)
    checks = run_checks(write_maildir_config(tmp_path))
    (row,) = by_name(checks, "delivery")
    assert row.status == FAIL and "bug in a check" in row.detail
    assert by_name(checks, "maildir")[0].status == PASS  # the other checks still ran
