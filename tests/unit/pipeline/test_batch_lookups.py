"""Filing and answering read what a batch needs in a few queries up front (threads, earlier
Message-IDs, references, breakers, earlier acknowledgements): the routes, items, numbers and
decisions are those of every mail asking the database on its own, a bad mail is still rolled
back alone, and the statements per mail stay few."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

import mailbot.pipeline.file
import mailbot.pipeline.route
from mailbot.config_types import ProjectConfig
from mailbot.message import Message
from mailbot.pipeline.machine import Pipeline
from mailbot.pipeline.stages import ANSWER, FILE
from mailbot.storage.models import Event, Item, MessageState, StoredMessage
from tests.support.pipeline import MaildirBot, client_mail

ALIAS = "projects+acme@agency.example"
ACME = ProjectConfig(
    key="ACME",
    name="ACME web shop",
    client_domains=("acme.example",),
    alias=ALIAS,
    pm="pm@agency.example",
)
POISON = "poison"  # routing raises on the mail with this in its subject
DATE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    real = mailbot.pipeline.route.route_to_project

    def route(message: Message, *args: Any, **kw: Any) -> Any:
        if POISON in message.subject:
            raise RuntimeError("routing broke on this mail")
        return real(message, *args, **kw)

    monkeypatch.setattr(mailbot.pipeline.file, "route_to_project", route)


def per_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every mail asks the database on its own, as filing and answering did before."""
    monkeypatch.setattr(Pipeline, "_prepare", lambda *args: None)


def filed_as(bot: MaildirBot) -> dict[str, Any]:
    """Everything filing and answering decided, in a form two runs can be compared by."""
    with bot.session() as s:
        items = {i.id: i for i in s.scalars(select(Item))}
        messages = []
        for row in s.scalars(select(StoredMessage).order_by(StoredMessage.id)):
            item = items.get(row.item_id) if row.item_id else None
            kinds = s.scalars(
                select(Event.kind).where(Event.message_pk == row.id).order_by(Event.id)
            ).all()
            messages.append(
                (row.subject, row.state, item.ref if item else None, row.route, list(kinds))
            )
        numbered = sorted(
            (i.ref, i.title, i.status, i.needs_review, i.client_email) for i in items.values()
        )
    return {"messages": messages, "items": numbered, "decisions": bot.decisions()}


def one_batch(tmp_path: Path) -> dict[str, Any]:
    with MaildirBot(tmp_path, projects=(ACME,), date=DATE, max_attempts=3, retry_delay=0.0) as bot:
        first = bot.deliver("anna@acme.example", "Issue: login broken", "It fails.")
        bot.run()
        # One batch: a follow-up of a mail filed before, a new item, a mail that breaks
        # routing, a stranger writing to the project's alias, a reply to the new item of
        # this same batch, another new item (numbered as if the bad mail was never there)
        # and a second mail reusing the first one's Message-ID from another sender.
        bot.deliver("anna@acme.example", "Re: Issue: login broken", "Still.", reply_to=first)
        checkout = bot.deliver("carl@acme.example", "Issue: checkout broken", "Error 500.")
        bot.deliver("dora@acme.example", f"Issue: {POISON}", "Boom.")
        bot.deliver(
            "eve@stranger.example", "Question about the invoice", "Hi.", extra=f"To: {ALIAS}\r\n"
        )
        bot.deliver("carl@acme.example", "Re: Issue: checkout broken", "More.", reply_to=checkout)
        bot.deliver("anna@acme.example", "Issue: search broken", "Nothing found.")
        reused = client_mail(
            "mallory@acme.example",
            "Issue: cart broken",
            "Again.",
            message_id=bot.message_id(first),
            date=DATE,
        )
        bot.deliver_bytes(reused)
        bot.run()
        return filed_as(bot)


def test_a_batch_files_and_answers_as_each_mail_did_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poisoned: None
) -> None:
    batched = one_batch(tmp_path / "batched")
    by_subject = {
        subject: (state, ref, route) for subject, state, ref, route, _k in batched["messages"]
    }
    assert by_subject["Re: Issue: login broken"][:2] == (MessageState.ANSWERED, "ACME-1")
    assert by_subject["Re: Issue: login broken"][2]["step"] == "thread"
    assert by_subject["Issue: checkout broken"][:2] == (MessageState.ANSWERED, "ACME-2")
    assert by_subject[f"Issue: {POISON}"][:2] == (MessageState.FAILED, None)  # alone
    assert by_subject["Question about the invoice"][2]["step"] == "alias"
    # The reply to a mail of the same batch follows it up.
    assert by_subject["Re: Issue: checkout broken"][1:] == (
        "ACME-2",
        by_subject["Re: Issue: checkout broken"][2],
    )
    assert by_subject["Re: Issue: checkout broken"][2]["step"] == "thread"
    assert by_subject["Issue: search broken"][1] == "ACME-4"  # no number lost to the bad mail
    reused = next(m for m in batched["messages"] if m[0] == "Issue: cart broken")
    assert "review" in reused[4]  # the reused Message-ID is noticed

    per_mail(monkeypatch)
    assert one_batch(tmp_path / "alone") == batched


@contextmanager
def counting(bot: MaildirBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Statements run while filing and answering batches: [file, answer]."""
    counts = [0, 0]
    stage: list[int] = []
    real = Pipeline._batch

    def batch(self: Pipeline, which: Any, ids: Any, stats: Any, chain: Any = None) -> None:
        stage.append(0 if which is FILE else 1 if which is ANSWER else -1)
        try:
            real(self, which, ids, stats, chain)
        finally:
            stage.pop()

    stages = threading.main_thread()  # the intake goes on beside, on a thread of its own

    def count(*_args: Any) -> None:
        if stage and stage[-1] >= 0 and threading.current_thread() is stages:
            counts[stage[-1]] += 1

    monkeypatch.setattr(Pipeline, "_batch", batch)
    event.listen(bot.db.engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(bot.db.engine, "before_cursor_execute", count)


def statements_per_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> float:
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(50):
            bot.deliver(f"client{n % 5}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        with counting(bot, monkeypatch) as counts:
            bot.run()
        assert len(bot.outbox("ack")) == 50
        return sum(counts) / 50


def test_filing_and_answering_a_batch_ask_few_statements_per_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batched = statements_per_mail(tmp_path / "batched", monkeypatch)
    per_mail(monkeypatch)
    alone = statements_per_mail(tmp_path / "alone", monkeypatch)
    assert batched <= 13, batched  # 10.4 on SQLite
    assert alone > 13, alone  # 19.2: a bound the per-mail lookups do not keep


def test_a_batch_counts_a_senders_answers_of_the_hour_as_each_mail_would(
    tmp_path: Path,
) -> None:
    """Answers within the hour before every mail of a batch are counted in the database,
    those at the ends read one by one: each mail's count is that of its own hour, in a batch
    of minutes and in one spread over more than an hour."""
    from datetime import timedelta
    from types import SimpleNamespace

    from sqlalchemy import update

    from mailbot.pipeline.answer import AckBatch

    base = DATE
    minutes = [-180, -70, -61, -60, -59, -45, -30, -1, 0, 1, 5, 59, 60, 61, 120]
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(len(minutes)):
            bot.deliver("anna@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.deliver("carl@acme.example", "Issue: cart broken", "Error.")
        bot.run()
        assert len(bot.outbox("ack")) == len(minutes) + 1
        with bot.session() as s:
            anna = s.scalars(
                select(StoredMessage.id)
                .where(StoredMessage.from_email == "anna@acme.example")
                .order_by(StoredMessage.id)
            ).all()
            for row_id, minute in zip(anna, minutes, strict=True):
                arrived = base + timedelta(minutes=minute)
                s.execute(
                    update(StoredMessage)
                    .where(StoredMessage.id == row_id)
                    .values(arrived_at=arrived)
                )
        answered = [base + timedelta(minutes=m) for m in minutes]

        def mail(sender: str, at: datetime) -> tuple[Any, Any, str]:
            row = SimpleNamespace(arrived_at=at, sha256=f"new-{sender}-{at.isoformat()}")
            message = SimpleNamespace(
                from_=SimpleNamespace(email=sender),
                in_reply_to=None,
                references=(),
                new_text="",
                subject_normalized="x",
            )
            return row, message, sender

        for spread in (0, 10, 59, 61, 150):  # minutes from the batch's first mail to its last
            times = [base + timedelta(minutes=m) for m in range(0, spread + 1, 5)]
            times.append(base + timedelta(minutes=spread))
            with bot.session() as s:
                batch = AckBatch.read(
                    s, [mail(who, t) for t in times for who in ("anna@acme.example", "x@y")]
                )
            for t in times:
                alone = sum(1 for a in answered if t - timedelta(hours=1) < a <= t)
                assert batch.acknowledged("anna@acme.example", t) == alone, (spread, t)
                assert batch.acknowledged("x@y", t) == 0


def test_a_senders_hour_is_read_from_indexes_not_from_all_the_senders_mail(
    tmp_path: Path,
) -> None:
    """The answers and repeats of a sender's last hour are found through the sender and
    arrival index: with an index on the sender alone, each batch read every mail the sender
    had ever written, a cost that grew with the database."""
    from mailbot.parse import parse_bytes
    from mailbot.pipeline.answer import AckBatch
    from mailbot.storage.models import Blob

    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(6):
            bot.deliver("anna@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.run()
        engine = bot.db.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("the plans read here are SQLite's")
        seen: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, parameters))

        with bot.session() as s:
            rows = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
            work = [
                (row, parse_bytes(s.get_one(Blob, row.sha256).data), "anna@acme.example")
                for row in rows[-3:]
            ]
            event.listen(engine, "before_cursor_execute", record)
            try:
                batch = AckBatch.read(s, work)
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert batch.acknowledged("anna@acme.example", rows[-1].arrived_at) >= 3
            plans = {
                statement: " | ".join(
                    str(step[-1])
                    for step in s.connection().exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {statement}", parameters
                    )
                )
                for statement, parameters in seen
            }
    by_sender = [plan for plan in plans.values() if "from_email" in plan or "sender" in plan]
    assert len(by_sender) >= 2, plans  # the hour's answers and the repeated texts
    for statement, plan in plans.items():
        assert "SCAN messages" not in plan and "SCAN outbox" not in plan, (statement, plan)
        if "outbox JOIN messages" in statement:
            assert "COVERING INDEX ix_messages_sender_arrival" in plan, plan
            assert "COVERING INDEX ix_outbox_message_kind" in plan, plan
        if "new_text IN" in statement:  # a repeat: the sender's mails of the hour
            assert "INDEX ix_messages_sender_arrival (from_email=? AND arrived_at>" in plan, plan


def test_a_batchs_new_items_are_written_in_one_statement(tmp_path: Path) -> None:
    """Their ids are taken at once (PostgreSQL: from the sequence, as many as the batch has
    mails), so the items are inserted together at the batch's end, not a few at a time."""
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        for n in range(40):
            bot.deliver(f"client{n % 4}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        statements: list[str] = []

        def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(bot.db.engine, "before_cursor_execute", record)
        try:
            bot.run()
        finally:
            event.remove(bot.db.engine, "before_cursor_execute", record)
        with bot.session() as s:
            refs = sorted(s.scalars(select(Item.ref)))
    assert refs == sorted(f"ACME-{n}" for n in range(1, 41))
    assert sum(st.startswith("INSERT INTO items ") for st in statements) == 1, statements
    assert sum("nextval(" in st for st in statements) <= 1


def test_classifying_a_batch_reads_its_rows_at_once_and_leaves_the_rest_as_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Classify does not load the columns it does not read; one it read after all would be
    # loaded row by row, a statement per mail.
    statements: list[str] = []
    classifying: list[threading.Thread] = []  # the thread classifying now, if any
    real = Pipeline._classify

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Classify's own: the intake goes on beside it, on a thread of its own.
        if classifying and threading.current_thread() is classifying[0]:
            statements.append(statement)

    def classify(self: Pipeline, ids: Any, stats: Any, chain: Any = None) -> list[int]:
        classifying.append(threading.current_thread())
        try:
            return real(self, ids, stats, chain)
        finally:
            classifying.clear()

    monkeypatch.setattr(Pipeline, "_classify", classify)
    with MaildirBot(tmp_path, projects=(ACME,)) as bot:
        # Listened to before the run: an engine's listeners must not change while another
        # thread (the intake) runs statements.
        event.listen(bot.db.engine, "before_cursor_execute", count)
        first = bot.deliver("client0@acme.example", "Issue: page broken", "Error 1.")
        for n in range(1, 50):
            bot.deliver(f"client{n % 5}@acme.example", f"Issue: page {n} broken", f"Error {n}.")
        bot.deliver("client1@acme.example", "Re: Issue: page broken", "Still.", reply_to=first)
        bot.run()
        assert len(bot.outbox("ack")) == 50  # the reply is a follow-up of the first item
        assert 0 < len(statements) < 51, statements
        with bot.session() as session:
            rows = session.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
            assert all(row.category and row.verdict and row.sender_check for row in rows)
            reply = rows[-1]
            assert reply.new_text.startswith("Still.") and reply.signals is not None
            assert reply.references and reply.recipients["to"] and reply.defects == []
