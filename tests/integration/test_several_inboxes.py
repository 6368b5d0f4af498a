"""One daemon, several inboxes: each with its own cursor and folders.

The daemon's log goes to a file, and every assertion that can fail shows it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Cursor, StoredMessage
from tests.servers import DovecotServer
from tests.support.configs import _routed
from tests.support.mails import make_mails
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def mailbox_table(name: str, account, folder: str = "INBOX") -> str:  # type: ignore[no-untyped-def]
    box = account.mailbox_config()
    return (
        f'[[mailboxes]]\nname = "{name}"\nhost = "{box.host}"\nport = {box.port}\n'
        f'security = "none"\nusername = "{box.username}"\n'
        f'password_file = "{box.secret.file}"\npoll_interval = 1\n'
        f'[mailboxes.folders]\ninbox = "{folder}"\nprocessed = "Done"\n'
    )


def stored(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(StoredMessage)) or 0)


def test_one_daemon_serves_two_inboxes(dovecot: DovecotServer, tmp_path: Path) -> None:
    support, sales = dovecot.add_account(), dovecot.add_account()
    support.append_many("INBOX", make_mails(3))
    sales.append_many("Orders", make_mails(2, start=100))
    db_url = _routed("sqlite:///mb.sqlite3", tmp_path)
    cfg = tmp_path / "mailbot.toml"
    cfg.write_text(
        mailbox_table("support", support)
        + mailbox_table("sales", sales, "Orders")
        + f'[database]\nurl = "{db_url}"\n[triage]\nenabled = false\n',
        encoding="utf-8",
    )
    log_path = tmp_path / "daemon.log"

    def log() -> str:
        return "daemon log:\n" + log_path.read_text(errors="replace")[-6000:]

    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(cfg), "run"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    db = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")  # the same database as db_url
    try:
        assert wait_for(lambda: stored(db) == 5, 60, process=proc), log()
        # New mail on one of them, while the daemon may still be busy with the first five
        # (moving them, working them through the stages) or already idle: either way it
        # is found at once, not at the next periodic look.
        support.append("INBOX", make_mails(1, start=200)[0])
        assert wait_for(lambda: stored(db) == 6, 60, process=proc), log()
        assert wait_for(lambda: not support.messages("INBOX"), 60, process=proc), log()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, log()
    with db.session() as s:
        cursors = {(c.account, c.folder): c.last_uid for c in s.scalars(select(Cursor))}
    assert cursors == {("support", "INBOX"): 4, ("sales", "Orders"): 2}, log()
    assert len(support.messages("Done")) == 4 and len(sales.messages("Done")) == 2, log()
    assert support.messages("INBOX") == {} and sales.messages("Orders") == {}, log()
    assert "Traceback" not in log_path.read_text(errors="replace"), log()
