"""One daemon, several inboxes: each with its own cursor and folders."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.storage.db import open_database
from mailbot.storage.models import Cursor, StoredMessage
from tests.servers import DovecotServer
from tests.support.configs import _routed
from tests.support.mails import make_mails

pytestmark = pytest.mark.integration


def mailbox_table(name: str, account, folder: str = "INBOX") -> str:  # type: ignore[no-untyped-def]
    box = account.mailbox_config()
    return (
        f'[[mailboxes]]\nname = "{name}"\nhost = "{box.host}"\nport = {box.port}\n'
        f'security = "none"\nusername = "{box.username}"\n'
        f'password_file = "{box.secret.file}"\npoll_interval = 1\n'
        f'[mailboxes.folders]\ninbox = "{folder}"\nprocessed = "Done"\n'
    )


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
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(cfg), "run"], stderr=subprocess.PIPE
    )
    db = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")  # the same database as db_url
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.3)
            with db.session() as s:
                if s.scalar(select(func.count()).select_from(StoredMessage)) == 5:
                    break
        support.append("INBOX", make_mails(1, start=200)[0])  # new mail on one of them
        time.sleep(0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.session() as s:
                if s.scalar(select(func.count()).select_from(StoredMessage)) == 6:
                    break
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 6, err.decode()[-4000:]
        cursors = {(c.account, c.folder): c.last_uid for c in s.scalars(select(Cursor))}
    assert cursors == {("support", "INBOX"): 4, ("sales", "Orders"): 2}
    assert len(support.messages("Done")) == 4 and len(sales.messages("Done")) == 2
    assert support.messages("INBOX") == {} and sales.messages("Orders") == {}
