"""Two daemons, one PostgreSQL database, one inbox: each message and each acknowledgement once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.storage.db import open_database
from mailbot.storage.models import Item, OutboxMail, OutboxState, StoredMessage
from tests.servers import DovecotAccount
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config
from tests.support.mails import make_mails

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 500


def test_two_daemons_never_process_or_answer_twice(
    imap_account: DovecotAccount, smtp_sink: SmtpSink, tmp_path: Path, database_backend: str
) -> None:
    if database_backend != "postgresql":
        pytest.skip("several daemons share a PostgreSQL database; set MAILBOT_TEST_DATABASE_URL")
    mails = make_mails(TOTAL)
    imap_account.append_many("INBOX", mails)
    box = imap_account.mailbox_config(idle=True, batch_size=25)
    configs = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        configs.append(
            write_config(
                folder / "mailbot.toml",
                box,
                f"sqlite:///{tmp_path}/shared.sqlite3",
                projects=[
                    {"key": "CLIENT", "name": "Client", "client_domains": ["client.example"]}
                ],
                smtp_port=smtp_sink.port,
                site={"name": "Team", "address": "team@agency.example"},
                acknowledgements={"max_per_sender_per_hour": 100_000},
                logging={"level": "WARNING"},
            )
        )
    db = open_database(f"sqlite:///{tmp_path}/shared.sqlite3")  # the same server database
    # The logs go to files: a pipe nobody reads until the end fills and stalls a daemon.
    log_files = [(c.parent / "daemon.log").open("wb") for c in configs]
    daemons = [
        subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(c), "run"], stderr=log)
        for c, log in zip(configs, log_files, strict=True)
    ]
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with db.session() as s:
                sent = s.scalar(
                    select(func.count())
                    .select_from(OutboxMail)
                    .where(OutboxMail.state == OutboxState.SENT)
                )
            if sent == TOTAL:
                break
            assert all(d.poll() is None for d in daemons), "a daemon died"
            time.sleep(0.5)
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        for d, log in zip(daemons, log_files, strict=True):
            d.wait(timeout=60)
            log.close()
        logs = [(c.parent / "daemon.log").read_text(errors="replace") for c in configs]
    with db.session() as s:
        # What the database looked like, in case an assertion below fails.
        states = dict(
            s.execute(select(StoredMessage.state, func.count()).group_by(StoredMessage.state)).all()
        )
        outbox = dict(
            s.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state)).all()
        )
    report = f"messages by state {states}, outbox by state {outbox}\n" + "\n".join(logs)
    assert all(d.returncode == 0 for d in daemons), report
    assert all("Traceback" not in log for log in logs), report
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == TOTAL, report
        assert s.scalar(select(func.count()).select_from(Item)) == TOTAL
        refs = s.scalars(select(Item.ref)).all()
        assert len(set(refs)) == TOTAL  # refs unique across both daemons
    assert imap_account.messages("INBOX") == {}
    processed = imap_account.messages("mailbot/processed")
    assert len(processed) == TOTAL
    answered = [str(message_from_bytes(r.content)["In-Reply-To"]) for r in smtp_sink.messages]
    assert len(answered) == TOTAL and len(set(answered)) == TOTAL  # one acknowledgement each
