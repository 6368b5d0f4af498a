"""The whole ingest loop against a real Dovecot: exactly once, whatever happens."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.config import Config
from mailbot.config_types import Folders
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Blob, MessageState, StoredMessage
from tests.integration.running import ForkServer
from tests.servers import DovecotAccount
from tests.servers.dovecot import DovecotError
from tests.support.configs import write_config
from tests.support.mails import make_mails
from tests.support.pipeline import make_pipeline
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

NOT_A_MAIL = b"\x80\xff\xfe garbage \x80\x01" * 40  # no NUL: Dovecot would rewrite it
PROCESSED, FAILED = "mailbot/processed", "mailbot/failed"
NO_TRIAGE = {"enabled": False}  # these tests are about ingest; triage has its own


def mailbot(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    options: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kw}
    return subprocess.Popen([sys.executable, "-m", "mailbot", *args], **options)  # type: ignore[call-overload]


KILLS = 5  # each after 1 to 25 more mails stored, of 300


def stored(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(StoredMessage)) or 0)


def count(db_url: str) -> int:
    db = open_database(db_url)
    try:
        return stored(db)
    finally:
        db.dispose()


def message_ids(raw: dict[int, bytes]) -> list[str]:
    return [str(message_from_bytes(data)["Message-ID"]) for data in raw.values()]


def test_run_once_stores_moves_and_keeps_bad_mail(
    imap_account: DovecotAccount, tmp_path: Path
) -> None:
    mails = make_mails(25)
    imap_account.append_many("INBOX", [*mails[:12], NOT_A_MAIL, *mails[12:]])
    box = imap_account.mailbox_config(batch_size=10)
    config = Config(mailboxes=(box,), database_url=f"sqlite:///{tmp_path}/mb.sqlite3")
    db = open_database(config.database_url)
    stats = make_pipeline(config, db).run_once()
    assert (stats.fetched, stats.stored, stats.failed) == (26, 25, 1)
    assert imap_account.messages("INBOX") == {}
    assert sorted(imap_account.messages(PROCESSED).values()) == sorted(mails)
    assert list(imap_account.messages(FAILED).values()) == [NOT_A_MAIL]
    with db.session() as s:
        failed = s.scalars(
            select(StoredMessage).where(StoredMessage.state == MessageState.FAILED)
        ).one()
        assert s.get(Blob, failed.sha256).data == NOT_A_MAIL  # type: ignore[union-attr]
    # New mail later: only it is fetched.
    imap_account.append("INBOX", make_mails(1, start=100)[0])
    again = make_pipeline(config, db).run_once()
    assert (again.fetched, again.stored) == (1, 1)


def test_uidvalidity_change_rescans_without_reimport(
    imap_account: DovecotAccount, tmp_path: Path
) -> None:
    mails = make_mails(5)
    imap_account.append_many("Support", mails)
    box = imap_account.mailbox_config(folders=Folders(inbox="Support", processed=None))
    config = Config(mailboxes=(box,), database_url=f"sqlite:///{tmp_path}/mb.sqlite3")
    db = open_database(config.database_url)
    assert make_pipeline(config, db).run_once().stored == 5
    old = imap_account.uidvalidity("Support")
    with imap_account.client() as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    extra = make_mails(2, start=50)
    imap_account.append_many("Support", [*mails, *extra])
    assert imap_account.uidvalidity("Support") != old
    stats = make_pipeline(config, db).run_once()
    assert (stats.fetched, stats.stored, stats.duplicates) == (7, 2, 5)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 7


def test_cli_run_once_and_messages_json(imap_account: DovecotAccount, tmp_path: Path) -> None:
    imap_account.append_many("INBOX", make_mails(3))
    cfg = write_config(
        tmp_path / "mailbot.toml",
        imap_account.mailbox_config(),
        "sqlite:///mb.sqlite3",
        triage=NO_TRIAGE,
    )
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(cfg), "run", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("outcome=stored") == 3  # one log line per message
    listed = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(cfg), "messages", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 3 and all(r["state"] == "answered" for r in rows)


def test_daemon_idles_then_stops_on_sigterm(imap_account: DovecotAccount, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "mailbot.toml",
        imap_account.mailbox_config(idle=True),
        "sqlite:///mb.sqlite3",
        triage=NO_TRIAGE,
    )
    db_url = f"sqlite:///{tmp_path}/mb.sqlite3"
    log_path = tmp_path / "daemon.log"
    with log_path.open("wb") as log_file:
        proc = mailbot("--config", str(cfg), "run", stderr=log_file)

    def log() -> str:
        return log_path.read_text(errors="replace")

    try:
        # Connected (the mail below comes while it looks for mail or idles: either way
        # it must be taken at once).
        deadline = time.monotonic() + 120
        while "connected to" not in log() and time.monotonic() < deadline:
            assert proc.poll() is None, log()
            time.sleep(0.1)
        assert "connected to" in log(), log()
        imap_account.append_many("INBOX", make_mails(3))
        deadline = time.monotonic() + 60
        while count(db_url) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count(db_url) == 3, "IDLE did not deliver the new mail\n" + log()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log()
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert imap_account.messages("INBOX") == {}
    assert "Traceback" not in log(), log()


@pytest.mark.slow
def test_exactly_once_under_sigkill(imap_account: DovecotAccount, tmp_path: Path) -> None:
    total = 300
    mails = make_mails(total)
    imap_account.append_many("INBOX", mails)
    box = replace(imap_account.mailbox_config(), batch_size=20)
    cfg = write_config(tmp_path / "mailbot.toml", box, "sqlite:///mb.sqlite3", triage=NO_TRIAGE)
    db_url = f"sqlite:///{tmp_path}/mb.sqlite3"
    rng = random.Random(int(os.environ.get("MAILBOT_TEST_SEED", "7")))
    forks = ForkServer(cfg)  # each run forked from one process that has imported mailbot
    db = open_database(db_url)  # one, for polling every 20 ms
    logs: list[Path] = []
    kills = 0
    try:
        while kills < KILLS:
            # Killed once it has stored a few more mails: mid-drain however fast the machine
            # is (a kill at a random time fell into start-up on a busy machine, every time).
            target = stored(db) + rng.randint(1, 25)
            logs.append(tmp_path / f"run-{len(logs) + 1}.log")
            pid = forks.start(logs[-1], "", {}, "run", "--once")
            ended: list[int | None] = []

            def stored_or_ended(n: int = target, ended: list[int | None] = ended) -> bool:
                if stored(db) >= n:
                    return True
                ended.append(forks.wait(0))
                return ended[-1] is not None

            assert wait_for(stored_or_ended, 120, every=0.02), "no mail stored in 2 minutes"
            code = ended[-1] if ended and ended[-1] is not None else None
            if code is None:
                os.kill(pid, signal.SIGKILL)
                code = forks.wait(60)
            if code == 0:
                break  # drained before the kill
            assert code == -9, logs[-1].read_text(errors="replace")[-3000:]
            kills += 1
    finally:
        forks.close()
        db.dispose()
    assert kills >= 1, "no run was killed; the test proved nothing"
    # Whatever the kills left (a slow machine may kill every attempt): one clean run finishes it.
    final = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(cfg), "run", "--once"],
        capture_output=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr.decode()
    assert imap_account.messages("INBOX") == {}
    processed = imap_account.messages(PROCESSED)
    ids = message_ids(processed)
    assert len(ids) == total and len(set(ids)) == total  # each exactly once
    assert sorted(processed.values()) == sorted(mails)
    assert count(db_url) == total


def test_daemon_survives_a_dropped_connection(imap_account: DovecotAccount, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "mailbot.toml",
        imap_account.mailbox_config(idle=True),
        "sqlite:///mb.sqlite3",
        triage=NO_TRIAGE,
    )
    db_url = f"sqlite:///{tmp_path}/mb.sqlite3"
    proc = mailbot("--config", str(cfg), "run")
    try:
        # The server drops every connection of this user, as soon as the daemon has one
        # (a fixed sleep failed on a busy machine: "no users kicked").
        deadline = time.monotonic() + 60
        while True:
            try:
                imap_account.kick()
                break
            except DovecotError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        imap_account.append_many("INBOX", make_mails(2))
        deadline = time.monotonic() + 60
        while count(db_url) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count(db_url) == 2, "mail after a dropped connection was not fetched"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read().decode() if proc.stderr else ""
    assert "reconnecting in" in log and "Traceback" not in log
