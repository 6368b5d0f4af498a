"""The courier process: delivers the outbox while a drain goes on, stops when told or orphaned."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.config import Config
from mailbot.config_types import SmtpConfig
from mailbot.outgoing.compose import Composed
from mailbot.outgoing.courier import delivering, usable
from mailbot.outgoing.outbox import SendStats, enqueue
from mailbot.storage.db import Database, open_database, resolve_url
from mailbot.storage.models import OutboxMail, OutboxState
from tests.support.waiting import wait_for


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        mailboxes=(), database_url=f"sqlite:///{tmp_path}/m.sqlite3", outbox_dir=tmp_path / "outbox"
    )


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    database = open_database(config.database_url)
    yield database
    database.dispose()


def header(config: Config) -> bytes:
    """What `delivering` writes first: the config, with the database the tests really use."""
    return pickle.dumps((replace(config, database_url=resolve_url(config.database_url)), 30))


def queue(db: Database, keys: range) -> None:
    with db.session() as session:
        for n in keys:
            composed = Composed(
                message_id=f"mailbot.ack-{n}@agency.example",
                subject=f"Re: request {n}",
                mail_from="team@agency.example",
                rcpt_to=("maria@client.example",),
                raw=f"Subject: Re: request {n}\r\n\r\nbody\r\n".encode(),
                dedupe_key=f"ack:{n}",
            )
            enqueue(session, composed, kind="ack", message_pk=None)


def sent(db: Database) -> int:
    with db.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMail)
                .where(OutboxMail.state == OutboxState.SENT)
            )
            or 0
        )


def test_it_delivers_what_is_queued_meanwhile_each_mail_once(config: Config, db: Database) -> None:
    queue(db, range(0, 30))
    with delivering(config) as process:
        assert process is not None
        assert wait_for(lambda: sent(db) == 30, timeout=60)
        queue(db, range(30, 45))  # queued while it runs: found on its next look
        assert wait_for(lambda: sent(db) == 45, timeout=60)
    assert process.returncode == 0  # told to stop at the block's end, and it did
    assert config.outbox_dir is not None
    files = sorted(p.name for p in config.outbox_dir.iterdir())
    assert len(files) == 45 and all(name.endswith("-ack.eml") for name in files)
    with db.session() as session:
        assert session.scalars(select(OutboxMail.claimed_by).distinct()).all() == [None]


def test_it_stops_when_its_parent_is_gone(config: Config, db: Database) -> None:
    queue(db, range(0, 1))  # a database to work on, as in a drain
    # The parent's end (even kill -9) closes the courier's stdin.
    process = subprocess.Popen(
        [sys.executable, "-m", "mailbot.outgoing.courier"], stdin=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(header(config))
    process.stdin.close()
    assert process.wait(timeout=60) == 0


def test_it_is_used_only_where_another_process_can_reach_the_outbox(config: Config) -> None:
    assert usable(config)
    assert not usable(replace(config, database_url="sqlite://"))
    assert not usable(replace(config, outbox_dir=None))  # nowhere to deliver to
    smtp = SmtpConfig(host="127.0.0.1", port=25, from_address="team@agency.example")
    assert usable(replace(config, outbox_dir=None, smtp=smtp))


def test_ctrl_c_is_left_to_the_drain_and_a_stop_request_ends_it(
    config: Config, db: Database
) -> None:
    queue(db, range(0, 5))
    process = subprocess.Popen(
        [sys.executable, "-m", "mailbot.outgoing.courier"], stdin=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(header(config))
    process.stdin.flush()
    try:
        assert wait_for(lambda: sent(db) == 5, timeout=60)  # running, signals set up
        process.send_signal(signal.SIGINT)  # the drain decides; the courier goes on
        queue(db, range(5, 8))
        assert wait_for(lambda: sent(db) == 8, timeout=60)
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.stdin.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_mail_a_full_disk_refused_is_not_tried_again_every_moment(
    config: Config, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbot.outgoing import courier, delivery

    calls: list[int] = []

    def no_room(*_args: object, **_kwargs: object) -> SendStats:
        calls.append(1)
        return SendStats(waiting=3)

    monkeypatch.setattr(delivery, "deliver_outbox", no_room)
    monkeypatch.setattr(courier, "POLL", 0.001)
    monkeypatch.setattr(courier, "ROOM_WAIT", 30.0)
    reading, writing = os.pipe()
    stop = threading.Event()
    worker = threading.Thread(target=courier.serve, args=(config, os.fdopen(reading, "rb"), stop))
    worker.start()
    try:
        assert wait_for(lambda: len(calls) >= 1, timeout=30)
        assert not wait_for(lambda: len(calls) >= 2, timeout=0.5)  # waiting for room
    finally:
        stop.set()
        os.close(writing)
        worker.join(30)
    assert not worker.is_alive()
