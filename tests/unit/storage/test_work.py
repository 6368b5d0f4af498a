"""The one claim / attempt / backoff / set-aside mechanism, on the backend under test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.storage import work
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import OutboxMail, OutboxState

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
PENDING = OutboxMail.state == OutboxState.PENDING


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/work.sqlite3")
    with database.session() as s:
        for n in range(5):
            s.add(
                OutboxMail(
                    kind="ack",
                    dedupe_key=f"k{n}",
                    message_id=f"m{n}@agency.example",
                    mail_from="team@agency.example",
                    rcpt_to=["anna@acme.example"],
                    subject="s",
                    raw=b"x",
                    next_attempt_at=NOW - timedelta(seconds=1),
                )
            )
    yield database
    database.dispose()


def claim(db: Database, limit: int, now: datetime = NOW) -> list[int]:
    with db.session() as s:
        return work.claim(s, OutboxMail, PENDING, now=now, lease=LEASE, limit=limit)


def test_a_claim_takes_at_most_its_limit_and_hides_the_rows(db: Database) -> None:
    first = claim(db, 2)
    assert len(first) == 2
    second = claim(db, 10)
    assert len(second) == 3 and not set(first) & set(second)
    assert claim(db, 10) == []  # all leased
    assert sorted(claim(db, 10, NOW + LEASE + timedelta(seconds=1))) == sorted(first + second)


def test_a_claim_also_mine_takes_the_rows_this_process_holds_with_the_due_ones(
    db: Database,
) -> None:
    """Rows this process kept claimed for the next step are taken with the due ones, oldest
    first; a row another process holds is not, nor one that is not ready."""
    later = NOW + LEASE
    with db.session() as s:
        ids = sorted(s.scalars(select(OutboxMail.id)))
        s.execute(
            update(OutboxMail)
            .where(OutboxMail.id.in_(ids[1:3]))
            .values(claimed_by=work.worker_name(), next_attempt_at=later)
        )
        s.execute(
            update(OutboxMail)
            .where(OutboxMail.id == ids[3])
            .values(claimed_by="elsewhere:1", next_attempt_at=later)
        )
        s.execute(
            update(OutboxMail)
            .where(OutboxMail.id == ids[4])
            .values(claimed_by=work.worker_name(), state=OutboxState.SENT)
        )
    with db.session() as s:
        assert work.claim(s, OutboxMail, PENDING, now=NOW, lease=LEASE, limit=10) == [ids[0]]
    with db.session() as s:
        work.release(s, OutboxMail, [ids[0]], NOW)  # due again
        mine = work.claim(s, OutboxMail, PENDING, now=NOW, lease=LEASE, limit=10, also_mine=True)
    assert mine == ids[:3]


def test_failures_back_off_then_set_aside(db: Database) -> None:
    [row_id] = claim(db, 1)
    policy = work.RetryPolicy(max_attempts=2, base=60)
    with db.session() as s:
        outcome = work.fail(
            s,
            OutboxMail,
            row_id,
            attempts_before=0,
            error="421 try later",
            error_column="last_error",
            now=NOW,
            policy=policy,
            failed_values={},
            set_aside_values={"state": OutboxState.FAILED},
        )
    assert not outcome.set_aside and outcome.retry_at is not None
    assert NOW + timedelta(seconds=47) <= outcome.retry_at <= NOW + timedelta(seconds=60)
    with db.session() as s:
        outcome = work.fail(
            s,
            OutboxMail,
            row_id,
            attempts_before=1,
            error="421 still",
            error_column="last_error",
            now=NOW,
            policy=policy,
            failed_values={},
            set_aside_values={"state": OutboxState.FAILED},
        )
        assert outcome.set_aside
    with db.session() as s:
        row = s.get(OutboxMail, row_id)
        assert row is not None
        assert (row.state, row.attempts, row.last_error, row.claimed_by) == (
            OutboxState.FAILED,
            2,
            "421 still",
            None,
        )


def test_claims_of_a_dead_process_on_this_machine_are_taken_back(db: Database) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    holder = f"{work.worker_name().rpartition(':')[0]}:{dead.stdout.strip()}"
    ids = claim(db, 2)
    mine = claim(db, 3)  # the rest, held by this (living) process
    with db.session() as s:
        s.execute(update(OutboxMail).where(OutboxMail.id.in_(ids)).values(claimed_by=holder))
        assert work.release_dead_claims(s, OutboxMail, NOW) == 2  # ours (alive) stays
    assert sorted(claim(db, 10)) == sorted(ids)
    assert not set(mine) & set(claim(db, 10))


def test_retry_delays_double_and_stop_at_the_cap() -> None:
    policy = work.RetryPolicy(max_attempts=10, base=60, cap=3600)

    class NoJitter:
        def random(self) -> float:
            return 0.0

    delays = [policy.delay(n, NoJitter()) for n in range(1, 9)]  # type: ignore[arg-type]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]
