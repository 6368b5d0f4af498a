"""Free disk space: doctor names the short disk, the daemon waits while it is short and goes on
by itself, and an outbox file that cannot be written waits for the next drain."""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config import Config, load_config
from mailbot.errors import ConfigError
from mailbot.ops.checks import FAIL, PASS
from mailbot.ops.space import MB, Place, Space, SpaceGuard, check_space, places, shortage
from mailbot.outgoing.compose import Composed
from mailbot.outgoing.delivery import write_outbox
from mailbot.outgoing.outbox import enqueue
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import OutboxMail, OutboxState


def config_with(tmp_path: Path, extra: str = "") -> Config:
    path = tmp_path / "mailbot.toml"
    path.write_text(
        f'[mailbox]\nname = "in"\nkind = "maildir"\npath = "{tmp_path / "Maildir"}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "db" / "mb.sqlite3"}"\n'
        f'[outbox]\ndirectory = "{tmp_path / "outbox"}"\n{extra}',
        encoding="utf-8",
    )
    return load_config(path)


def free(mb_by_what: dict[str, float]):  # type: ignore[no-untyped-def]
    """A measure that reports the given free megabytes per place."""

    def measure(place: Place) -> Space:
        return Space(place, int(mb_by_what[place.what] * MB))

    return measure


def test_the_database_folder_and_the_outbox_folder_are_watched(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    assert [(p.what, p.path) for p in places(config)] == [
        ("the database", tmp_path / "db"),
        ("the outbox folder", tmp_path / "outbox"),
    ]
    server = dataclasses.replace(config, database_url="postgresql+psycopg://u@db.example/mb")
    assert [p.what for p in places(server)] == ["the outbox folder"]
    assert config.min_free_space_mb == 64  # the default


def test_a_folder_not_made_yet_is_measured_on_its_parent(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    assert shortage(dataclasses.replace(config, min_free_space_mb=1)) is None  # real statvfs
    huge = dataclasses.replace(config, min_free_space_mb=10**12)
    assert "the database" in (shortage(huge) or "")


def test_a_short_disk_is_named_with_what_it_has_and_what_is_kept(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    measure = free({"the database": 500, "the outbox folder": 12.5})
    reason = shortage(config, measure)
    assert reason is not None
    assert "the outbox folder" in reason and "12.5 MB free" in reason and "64 MB" in reason
    assert "the database" not in reason
    assert shortage(config, free({"the database": 64, "the outbox folder": 64})) is None
    off = dataclasses.replace(config, min_free_space_mb=0)
    assert shortage(off, free({"the database": 0, "the outbox folder": 0})) is None


def test_doctor_says_mail_waits_on_the_server_and_what_to_do(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    checks = check_space(config, free({"the database": 3, "the outbox folder": 900}))
    assert [(c.subject, c.status) for c in checks] == [
        ("the database", FAIL),
        ("the outbox folder", PASS),
    ]
    assert "waits on the server" in checks[0].detail and "3.0 MB free" in checks[0].detail
    assert "free space" in checks[0].action


def test_min_free_space_must_not_be_negative(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_free_space_mb"):
        config_with(tmp_path, "[processing]\nmin_free_space_mb = -1\n")
    assert config_with(tmp_path, "[processing]\nmin_free_space_mb = 0\n").min_free_space_mb == 0


def test_the_guard_logs_once_when_it_stops_and_once_when_it_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    space = {"the database": 1.0, "the outbox folder": 900.0}
    guard = SpaceGuard(config_with(tmp_path), free(space), every=1e-9)
    with caplog.at_level(logging.WARNING, logger="mailbot.space"):
        assert guard.shortage() and guard.shortage()
        space["the database"] = 900.0
        assert guard.shortage() is None and guard.shortage() is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "stopped taking new mail",
        "there is disk space again",
    ]


def test_a_watcher_fetches_nothing_while_a_disk_is_short(tmp_path: Path) -> None:
    from mailbot.daemon import watch_mailbox

    config = config_with(tmp_path)
    space = {"the database": 1.0, "the outbox folder": 900.0}
    guard = SpaceGuard(config, free(space), every=1e-9)
    stop = threading.Event()
    looks: list[str] = []

    class Source:
        def __enter__(self) -> Source:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def wait(self, timeout: float) -> bool:
            stop.set()
            return False

    class Pipeline:
        stop_event = stop

        def source_factory(self, box: object, stop_event: object) -> Source:
            return Source()

        def intake(self, source: object, box: object, **_kw: object) -> object:
            looks.append("intake")
            return dataclasses.make_dataclass("Stats", [("stored", int), ("fetched", int)])(0, 0)

    waits = iter(range(3))

    def short_wait(timeout: float | None = None) -> bool:
        if next(waits) == 2:
            space["the database"] = 900.0  # space came back while we waited
        return False

    stop.wait = short_wait  # type: ignore[method-assign]
    watch_mailbox(Pipeline(), config.mailboxes[0], threading.Event(), None, guard)  # type: ignore[arg-type]
    assert looks == ["intake"]  # only once there was space


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/m.sqlite3")
    yield database
    database.dispose()


def composed(key: str) -> Composed:
    return Composed(
        message_id=f"mailbot.{key}@agency.example",
        subject="Re: Export times out",
        mail_from="team@agency.example",
        rcpt_to=("maria@client.example",),
        raw=b"Subject: x\r\n\r\nbody\r\n",
        dedupe_key=key,
    )


def test_an_outbox_file_that_cannot_be_written_waits_and_is_written_once(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        for key in ("ack-1", "ack-2"):
            enqueue(session, composed(key), kind="ack", message_pk=None)
    folder = tmp_path / "outbox"
    real_fdopen = os.fdopen

    def full_disk(fd: int, *args: object, **kwargs: object) -> object:
        handle = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

        def write(data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = write
        return handle

    monkeypatch.setattr(os, "fdopen", full_disk)
    stats = write_outbox(db, folder, now=datetime.now(UTC))
    assert (stats.sent, stats.waiting, stats.busy) == (0, 2, False)  # due again soon, not spun on
    assert list(folder.iterdir()) == []  # no half-written file left behind
    with db.session() as session:
        rows = session.scalars(select(OutboxMail)).all()
        assert [(r.state, r.claimed_by) for r in rows] == [(OutboxState.PENDING, None)] * 2

    monkeypatch.setattr(os, "fdopen", real_fdopen)  # space is back
    assert write_outbox(db, folder, now=datetime.now(UTC)).sent == 2
    assert write_outbox(db, folder, now=datetime.now(UTC)).sent == 0
    assert sorted(p.name for p in folder.iterdir()) == ["000001-ack.eml", "000002-ack.eml"]


def test_a_full_disk_is_told_from_other_errors_through_the_driver_wrapping() -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from mailbot.ops.space import out_of_space

    assert out_of_space(OSError(errno.ENOSPC, "No space left on device"))
    driver = sqlite3.OperationalError("database or disk is full")
    assert out_of_space(OperationalError("COMMIT", {}, driver))
    assert not out_of_space(OperationalError("COMMIT", {}, sqlite3.OperationalError("locked")))
    assert not out_of_space(ValueError("bad"))
    wrapped = RuntimeError("store failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert out_of_space(wrapped)
