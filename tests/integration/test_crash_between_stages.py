"""kill -9 between every pair of stages: after a restart each mail is filed once and
answered once, nothing is lost and nothing is doubled.

The daemon process is the real `mailbot run --once`, forked from a process that has
imported mailbot and loaded the model (`ForkServer`); a few lines run first make it kill
itself (SIGKILL, no clean-up of any kind) right after the chosen step has committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.storage.db import open_database
from mailbot.storage.models import Item, MessageState, OutboxMail, StoredMessage
from tests.integration.running import ForkServer
from tests.support.configs import _routed

pytestmark = pytest.mark.integration

# Run before mailbot: a SIGKILL after the point named in $KILL_POINT.
KILLER = """
import os, signal
from mailbot.pipeline import machine
point = os.environ["KILL_POINT"]
advance_stage = machine.Pipeline.advance_stage
def killing(self, stage, stats, ids=None, **kw):
    if point == "stored" and stage.name == "parse":
        os.kill(os.getpid(), signal.SIGKILL)  # the batch is stored, nothing parsed
    moved = advance_stage(self, stage, stats, ids, **kw)
    if moved and stage.name == point:
        os.kill(os.getpid(), signal.SIGKILL)  # this stage committed, the next not begun
    return moved
machine.Pipeline.advance_stage = killing
if point == "unmoved":
    settle = machine.Pipeline._settle
    def killing_settle(self, source, items):
        if items:
            os.kill(os.getpid(), signal.SIGKILL)  # the batch committed, no server copy moved
        settle(self, source, items)
    machine.Pipeline._settle = killing_settle
if point == "sent":
    send = machine.Pipeline.send
    def killing_send(self, **kw):
        send(self, **kw)
        os.kill(os.getpid(), signal.SIGKILL)
    machine.Pipeline.send = killing_send
"""
POINTS = ["stored", "parse", "unmoved", "classify", "file", "answer", "sent"]


def config(folder: Path, url: str) -> Path:
    cfg = folder / "mailbot.toml"
    cfg.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{folder / "Maildir"}"\n'
        f'[database]\nurl = "{url}"\n'
        '[site]\nname = "Agency"\naddress = "team@agency.example"\ndomain = "agency.example"\n'
        f'[outbox]\ndirectory = "{folder / "outbox"}"\n'
        '[[projects]]\nkey = "ACME"\nname = "ACME"\nclient_domains = ["acme.example"]\n'
    )
    return cfg


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """One process with the model loaded for all the runs of this module."""
    folder = tmp_path_factory.mktemp("forks")
    server = ForkServer(config(folder, f"sqlite:///{folder}/unused.sqlite3"))
    yield server
    server.close()


def mail(n: int, subject: str) -> bytes:
    return (
        f"From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <k{n}@acme.example>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nThe checkout fails with error 500.\r\n"
    ).encode()


@pytest.mark.parametrize("point", POINTS)
def test_kill_after_each_step_then_restart_files_and_answers_each_mail_once(
    tmp_path: Path, point: str, forks: ForkServer
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n, subject in enumerate(["Login broken", "Please change the logo", "Export fails"], 1):
        (maildir / "new" / f"{n}.M{n}.host").write_bytes(mail(n, subject))
    url = _routed(f"sqlite:///{tmp_path}/mb.sqlite3", tmp_path)
    cfg = config(tmp_path, url)
    args = ("run", "--once")
    logs = [tmp_path / "killed.log", tmp_path / "again.log"]

    def log() -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())

    forks.start(logs[0], KILLER, {"KILL_POINT": point}, *args, config=cfg)
    assert forks.wait(timeout=300) == -9, log()
    forks.start(logs[1], "", {}, *args, config=cfg)
    assert forks.wait(timeout=300) == 0, log()

    db = open_database(url)
    try:
        with db.session() as s:
            states = s.scalars(select(StoredMessage.state)).all()
            assert sorted(states) == [MessageState.ANSWERED] * 3
            assert s.scalar(select(func.count()).select_from(Item)) == 3
            assert s.scalar(select(func.count()).select_from(OutboxMail)) == 3
    finally:
        db.dispose()
    sent = [message_from_bytes(p.read_bytes()) for p in (tmp_path / "outbox").glob("*.eml")]
    assert sorted(str(m["To"]) for m in sent) == ["Anna <anna@acme.example>"] * 3
    assert len({str(m["In-Reply-To"]) for m in sent}) == 3  # one answer per mail
    assert list((maildir / "new").iterdir()) == []  # every server copy moved, none twice
