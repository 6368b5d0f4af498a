"""Faults at the database boundary under the running daemon (`mailbot run`, a process of its own).

- PostgreSQL: the daemon's connections are killed (pg_terminate_backend) again and again while
  it drains; the shared server itself is never stopped.
- SQLite: a reader keeps a transaction open for the whole drain, and a writer holds the lock
  past the busy timeout, so the daemon's own writes fail with "database is locked".
- A full disk, on a small tmpfs holding the SQLite file and the outbox folder: below
  processing.min_free_space_mb the daemon takes no new mail and doctor says why; filled to the
  last byte, every write fails. Either way it goes on by itself once space returns.

Each ends with every mail stored once, filed once, answered once and written once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.integration.running import Bench
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

KILLS = 6  # connection kills, each while the daemon is mid-work; it backs off after each
SHORT_BUSY_TIMEOUT = "import mailbot.storage.db as db; db.SQLITE_BUSY_TIMEOUT_MS = 300"


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    made = Bench(tmp_path)
    yield made
    made.close()


def _kill_connections(url: str) -> int:
    """pg_terminate_backend on every other connection to the test's database."""
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (parsed.database,),
        ).fetchall()
    return sum(1 for (killed,) in rows if killed)


def test_postgres_connections_killed_mid_batch_lose_and_double_nothing(
    bench: Bench, database_backend: str
) -> None:
    if database_backend != "postgresql":
        pytest.skip("kills PostgreSQL connections; set MAILBOT_TEST_DATABASE_URL")
    bench.deliver(40)
    daemon = bench.start()
    kills = 0
    try:
        assert wait_for(lambda: bench.count_stored() > 0, 120), bench.log()
        for _ in range(KILLS):
            bench.deliver(10)  # there is always work when the connections die
            before = bench.count_stored() + bench.answered()

            def moved_on(since: int = before) -> bool:
                return bench.count_stored() + bench.answered() != since

            assert wait_for(moved_on, 60), bench.log()  # mid-work: it has moved since
            kills += _kill_connections(bench.url) > 0
        assert wait_for(bench.done, 180, every=0.3), bench.log()
    finally:
        code = bench.stop(daemon)
    assert code == 0, bench.log()
    assert kills == KILLS, bench.log()
    bench.assert_each_once()


def test_a_long_sqlite_reader_stalls_nothing_and_a_held_lock_is_waited_out(
    bench: Bench, database_backend: str
) -> None:
    if database_backend != "sqlite":
        pytest.skip("SQLite locking; the PostgreSQL run kills connections instead")
    database = make_url(bench.url).database
    assert database is not None
    bench.deliver(15)
    daemon = bench.start(SHORT_BUSY_TIMEOUT)
    reader = sqlite3.connect(database, isolation_level=None, timeout=30)
    writer = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        assert wait_for(lambda: bench.count_stored() > 0, 120), bench.log()
        # A reader (a report, a backup, sqlite3 at a prompt) keeps one snapshot open throughout.
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        assert wait_for(bench.done, 120, every=0.3), bench.log()

        # Another writer holds the lock far past the daemon's busy timeout.
        writer.execute("BEGIN IMMEDIATE")
        bench.deliver(15)
        assert wait_for(lambda: "database is locked" in bench.log_text(), 60), bench.log()
        assert bench.answered() == 15, bench.log()
        writer.execute("ROLLBACK")
        assert wait_for(bench.done, 180, every=0.3), bench.log()
    finally:
        with contextlib.suppress(sqlite3.Error):
            reader.execute("ROLLBACK")
        reader.close()
        writer.close()
        code = bench.stop(daemon)
    assert code == 0, bench.log()
    bench.assert_each_once()


# --- a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs for the database and the outbox folder (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _fill(disk: Path, leave: int) -> Path:
    """A file that leaves about `leave` bytes free on `disk` (none: up to ENOSPC)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while _free_bytes(disk) > leave + 256 * 1024:
            os.write(fd, b"\0" * (256 * 1024))
        with contextlib.suppress(OSError):  # to the last block: ENOSPC ends it
            while leave == 0:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    return filler


def _doctor(bench: Bench) -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(bench.config), "doctor", "--json"],
        capture_output=True,
        timeout=120,
    )
    return list(json.loads(done.stdout)["checks"])


def test_short_of_space_the_daemon_waits_says_why_and_goes_on(
    tmp_path: Path, small_disk: Path
) -> None:
    bench = Bench(tmp_path, outbox=small_disk / "outbox", database=small_disk / "mb.sqlite3")
    text = bench.config.read_text().replace(
        "[processing]\n", "[processing]\nmin_free_space_mb = 8\n"
    )
    bench.config.write_text(text)
    bench.deliver(5)
    daemon = bench.start()
    try:
        assert wait_for(bench.done, 120, every=0.3), bench.log()
        filler = _fill(small_disk, leave=4 * 1024 * 1024)
        assert wait_for(lambda: "stopped taking new mail" in bench.log_text(), 30), bench.log()
        bench.deliver(5)
        disk_checks = [c for c in _doctor(bench) if c["name"] == "disk space"]
        outbox_check = next(c for c in disk_checks if c["subject"] == "the outbox folder")
        assert outbox_check["status"] == "fail", disk_checks
        assert "waits on the server" in outbox_check["detail"], outbox_check
        assert bench.waiting() == 5, bench.log()  # not taken while the disk is short

        filler.unlink()  # space returns; nobody restarts anything
        assert wait_for(bench.done, 120, every=0.3), bench.log()
        assert "there is disk space again" in bench.log_text(), bench.log()
        assert {c["status"] for c in _doctor(bench) if c["name"] == "disk space"} == {"pass"}
    finally:
        code = bench.stop(daemon)
        bench.close()
    assert code == 0, bench.log()
    bench.assert_each_once()


def test_a_disk_full_to_the_last_byte_loses_nothing_and_recovers_by_itself(
    tmp_path: Path, small_disk: Path
) -> None:
    bench = Bench(tmp_path, outbox=small_disk / "outbox", database=small_disk / "mb.sqlite3")
    text = bench.config.read_text().replace(
        "[processing]\n", "[processing]\nmin_free_space_mb = 0\n"
    )
    bench.config.write_text(text)
    bench.deliver(5)
    daemon = bench.start()
    try:
        assert wait_for(bench.done, 120, every=0.3), bench.log()
        filler = _fill(small_disk, leave=0)
        assert _free_bytes(small_disk) < 8192
        bench.deliver(10)
        full = ("No space left", "database or disk is full", os.strerror(errno.ENOSPC))
        assert wait_for(lambda: any(f in bench.log_text() for f in full), 60), bench.log()
        filler.unlink()
        assert wait_for(bench.done, 240, every=0.3), bench.log()
        assert "Traceback" not in bench.log_text(), bench.log()  # said in words, not a bug
    finally:
        code = bench.stop(daemon)
        bench.close()
    assert code == 0, bench.log()
    bench.assert_each_once()
