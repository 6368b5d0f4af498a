"""kill -9 after a batch committed and before its server copies moved, against a real Dovecot
with filing on: after a restart every mail is stored, filed and moved exactly once."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.storage.db import open_database
from mailbot.storage.models import Item, OutboxMail, StoredMessage
from tests.integration.running import ForkServer
from tests.servers import DovecotAccount
from tests.support.configs import write_config
from tests.support.mails import make_mails

pytestmark = pytest.mark.integration

PROCESSED = "mailbot/processed"
BATCH, TOTAL = 20, 60
# Run before mailbot: a SIGKILL when the second batch's copies are about to move (the batch
# and its parse committed, its copies still in the inbox, the next batch perhaps fetched).
KILLER = """
import os, signal
from mailbot.pipeline import machine
settle = machine.Pipeline._settle
batches = []
def killing_settle(self, source, items):
    if items:
        batches.append(len(items))
        if len(batches) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    settle(self, source, items)
machine.Pipeline._settle = killing_settle
"""


def test_kill_between_the_commit_and_the_move_then_restart(
    imap_account: DovecotAccount, tmp_path: Path
) -> None:
    mails = make_mails(TOTAL)
    imap_account.append_many("INBOX", mails)
    box = replace(imap_account.mailbox_config(), batch_size=BATCH)
    cfg = write_config(
        tmp_path / "mailbot.toml",
        box,
        f"sqlite:///{tmp_path}/mb.sqlite3",
        projects=[{"key": "CLIENT", "name": "Client", "client_domains": ["client.example"]}],
        triage={"enabled": False},
    )
    url = tomllib.loads(cfg.read_text())["database"]["url"]  # PostgreSQL on such a run
    logs = [tmp_path / "killed.log", tmp_path / "again.log"]

    def log() -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())

    forks = ForkServer(cfg)
    try:
        forks.start(logs[0], KILLER, {}, "run", "--once")
        assert forks.wait(300) == -9, log()
        # Killed in between: two batches stored, the first moved, the second not yet.
        db = open_database(url)
        try:
            with db.session() as s:
                assert s.scalar(select(func.count()).select_from(StoredMessage)) == 2 * BATCH
        finally:
            db.dispose()
        assert len(imap_account.messages("INBOX")) == TOTAL - BATCH
        forks.start(logs[1], "", {}, "run", "--once")
        assert forks.wait(300) == 0, log()
    finally:
        forks.close()

    assert imap_account.messages("INBOX") == {}
    processed = imap_account.messages(PROCESSED)
    ids = [str(message_from_bytes(data)["Message-ID"]) for data in processed.values()]
    assert len(ids) == TOTAL and len(set(ids)) == TOTAL  # each moved exactly once
    db = open_database(url)
    try:
        with db.session() as s:
            rows = s.scalars(select(StoredMessage)).all()
            assert len(rows) == TOTAL  # each stored once
            assert all(row.item_id is not None for row in rows)  # and filed
            items = s.scalar(select(func.count()).select_from(Item))
            assert items is not None and 0 < items <= TOTAL
            answers = s.execute(
                select(OutboxMail.message_pk, func.count())
                .where(OutboxMail.kind == "ack")
                .group_by(OutboxMail.message_pk)
            ).all()
            assert all(n == 1 for _pk, n in answers)  # never queued twice
    finally:
        db.dispose()
