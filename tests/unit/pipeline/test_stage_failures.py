"""One bad mail never holds up the others: a failure in any stage stays with its message.

For each stage a mail that breaks it sits in one batch with ordinary mail: the others are
stored, filed and answered; the bad one is stored with its error, retried up to
max_attempts, set aside, listed by `mailbot failed`, and `requeue` brings it back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import mailbot.pipeline.file
import mailbot.pipeline.machine
import mailbot.pipeline.route
import mailbot.pipeline.stages
from mailbot.config_types import ProjectConfig
from mailbot.message import Message
from mailbot.pipeline.failures import list_failures, requeue, show_failure
from mailbot.storage.models import Item, MessageState, StoredMessage
from mailbot.triage import Verdict
from tests.support.fake_triage import SubjectTriage
from tests.support.pipeline import SUBJECT_TRIAGE, MaildirBot, client_mail

ACME = ProjectConfig(key="ACME", name="ACME web shop", client_domains=("acme.example",))
POISON = "poison"  # in the subject of the mail that breaks the stage under test


class PoisonTriage(SubjectTriage):
    """Raises on the poison mail, in a batch as alone (as spaCy's E088 would)."""

    def classify_many(self, messages: Iterable[Message]) -> list[Verdict]:
        return [self.classify(m) for m in messages]

    def classify(self, message: Message) -> Verdict:
        if POISON in message.subject:
            raise ValueError("[E088] Text of length 1000001 exceeds maximum of 1000000")
        return super().classify(message)


class Inbox(MaildirBot):
    """ACME alone; three attempts, each run retrying what failed in the last one."""

    def __init__(self, tmp_path: Path, triage: Any = SUBJECT_TRIAGE) -> None:
        super().__init__(
            tmp_path,
            projects=(ACME,),
            triage=triage,
            max_attempts=3,
            retry_delay=0.0,
            date=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
            message_ids="m{n}@acme.example",
        )

    def deliver(self, subject: str, sender: str = "anna@acme.example") -> int:  # type: ignore[override]
        return super().deliver(sender, subject, "The checkout is broken.")

    def states(self) -> dict[str, str]:
        with self.db.session() as s:
            return {r.subject or "": r.state for r in s.scalars(select(StoredMessage))}

    def acknowledged(self) -> set[str]:
        return {o.subject for o in self.outbox("ack")}


@pytest.fixture
def poison_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the named stage raise for the poison mail only."""
    stage = request.param

    def broken_for_poison(real: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            message = next(a for a in (*args, *kw.values()) if isinstance(a, Message))
            if POISON in message.subject:
                raise RuntimeError(f"{stage} broke on this mail")
            return real(*args, **kw)

        return wrapper

    if stage == "file":  # routing raises
        monkeypatch.setattr(
            mailbot.pipeline.file,
            "route_to_project",
            broken_for_poison(mailbot.pipeline.route.route_to_project),
        )
    elif stage == "answer":  # composing the acknowledgement raises
        monkeypatch.setattr(
            mailbot.pipeline.machine,
            "answer_one",
            broken_for_poison(mailbot.pipeline.stages.answer_one),
        )
    return str(stage)


def check_isolated_then_set_aside_then_requeued(inbox: Inbox, stage: str, fix: Any) -> None:
    inbox.deliver("Login broken")
    inbox.deliver(f"Checkout {POISON}")
    inbox.deliver("Search broken")
    inbox.run()
    states = inbox.states()
    assert states["Login broken"] == states["Search broken"] == MessageState.ANSWERED
    assert states[f"Checkout {POISON}"] == MessageState.FAILED
    assert len(inbox.acknowledged()) == 2  # the two good mails are answered
    with inbox.db.session() as s:
        [failure] = list_failures(s)
        assert (failure.where, failure.attempts, failure.set_aside) == (stage, 1, False)
        assert "broke" in failure.error or "E088" in failure.error
    inbox.run()
    inbox.run()  # the third attempt fails too: set aside
    inbox.run()  # and it is not tried again
    with inbox.db.session() as s:
        [failure] = list_failures(s)
        assert (failure.attempts, failure.set_aside) == (3, True)
        detail = show_failure(s, failure.key)
        kinds = [e["kind"] for e in detail.history]
        assert kinds[-4:] == ["failed", "retry_failed", "retry_failed", "set_aside"]
    # Fixed, then sent round again by a person: it goes all the way.
    fix()
    with inbox.db.session() as s:
        assert requeue(s, [failure.key], actor="pm", now=failure_now()) == [failure.key]
    inbox.run()
    assert set(inbox.states().values()) == {MessageState.ANSWERED}
    assert len(inbox.acknowledged()) == 3
    with inbox.db.session() as s:
        assert list_failures(s) == []
        assert len(s.scalars(select(Item)).all()) == 3


def failure_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.parametrize("poison_in", ["file", "answer"], indirect=True)
def test_a_failure_in_filing_or_answering_stays_with_its_mail(
    tmp_path: Path, poison_in: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox(tmp_path)
    check_isolated_then_set_aside_then_requeued(inbox, poison_in, monkeypatch.undo)


def test_a_triage_failure_stays_with_its_mail(tmp_path: Path) -> None:
    triage = PoisonTriage()
    inbox = Inbox(tmp_path, triage)

    def fix() -> None:
        inbox.triage = SubjectTriage()

    check_isolated_then_set_aside_then_requeued(inbox, "classify", fix)


def test_requeue_explains_an_unknown_id(tmp_path: Path) -> None:
    from mailbot.pipeline.failures import FailureError

    inbox = Inbox(tmp_path)
    with inbox.db.session() as s, pytest.raises(FailureError, match="has not failed"):
        requeue(s, ["m42"], actor="pm", now=failure_now())
    with inbox.db.session() as s, pytest.raises(FailureError, match="not a failure id"):
        requeue(s, ["x42"], actor="pm", now=failure_now())


def test_mail_over_max_message_bytes_is_stored_whole_and_read_by_its_header(
    tmp_path: Path,
) -> None:
    from mailbot.storage.models import Blob

    big = client_mail(
        "Anna <anna@acme.example>",
        "Screenshots of the broken checkout",
        "See the attached screenshots.\r\n" + "A" * 200_000,
        message_id="big@acme.example",
    )
    inbox = Inbox(tmp_path)
    inbox.config = dataclasses.replace(inbox.config, max_message_bytes=100_000)
    inbox.deliver_bytes(big)
    inbox.pipeline().run_once()
    with inbox.db.session() as s:
        row = s.scalars(select(StoredMessage)).one()
        assert s.get(Blob, row.sha256).data == big  # nothing lost
        assert row.subject == "Screenshots of the broken checkout"
        assert any(d.startswith("too large to read (0.2 MB)") for d in row.defects)
        assert "only its header was read" in (row.new_text or "")
        item = s.get(Item, row.item_id)
        assert item is not None and item.needs_review


@pytest.mark.parametrize("stage", ["file", "answer"])
def test_the_database_going_away_mid_stage_is_no_mails_fault(
    tmp_path: Path, stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed session or a restart while a stage works: the run stops and says so, no
    attempt is counted against any mail (three would set one aside), and the next run
    does it all."""
    import sqlalchemy.exc

    class AdminShutdown(Exception):
        sqlstate = "57P01"

    def database_gone(*args: Any, **kw: Any) -> Any:
        raise sqlalchemy.exc.OperationalError(
            "SELECT 1", {}, AdminShutdown("terminating connection due to administrator command")
        )

    if stage == "file":
        monkeypatch.setattr(mailbot.pipeline.file, "route_to_project", database_gone)
    else:
        monkeypatch.setattr(mailbot.pipeline.machine, "answer_one", database_gone)
    inbox = Inbox(tmp_path)
    inbox.deliver("Login broken")
    inbox.deliver("Search broken")
    with pytest.raises(sqlalchemy.exc.OperationalError, match="administrator command"):
        inbox.run()
    with inbox.db.session() as s:
        rows = s.scalars(select(StoredMessage)).all()
        assert [(r.attempts, r.state) for r in rows] == [(0, rows[0].state)] * 2
        assert rows[0].state not in (MessageState.FAILED, MessageState.SET_ASIDE)
        assert list_failures(s) == []
    monkeypatch.undo()  # the database is back
    inbox.run()
    assert set(inbox.states().values()) == {MessageState.ANSWERED}
    assert inbox.acknowledged() == {"Re: Login broken [ACME-1]", "Re: Search broken [ACME-2]"}
