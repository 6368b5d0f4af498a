"""Each failure names its project, so a PM is shown only their own projects' failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mailbot.pipeline.failures import FailureError, list_failures, requeue, show_failure
from mailbot.storage.models import (
    Event,
    Item,
    MessageState,
    OutboxMail,
    OutboxState,
    StoredMessage,
)
from tests.support.queue_bot import Bot
from tests.support.queue_fixtures import bot, filed, filed_once  # noqa: F401

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _fail(target: Bot, mail_id: int) -> None:
    with target.session() as s:
        s.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(state=OutboxState.FAILED, attempts=5, last_error="550 mailbox unavailable")
        )


def test_failures_carry_their_project(filed: Bot) -> None:  # noqa: F811
    with filed.session() as s:
        acks = {
            s.get(Item, s.get(StoredMessage, m.message_pk).item_id).project_key: m.id  # type: ignore[union-attr]
            for m in s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack"))
        }
        digest = OutboxMail(
            kind="digest",
            dedupe_key="digest:pm@agency.example:2026-11-23",
            message_id="<d1@agency.example>",
            mail_from="team@agency.example",
            rcpt_to=["pm@agency.example"],
            subject="Digest",
            raw=b"x",
            state=OutboxState.FAILED,
            attempts=5,
            last_error="timed out",
        )
        s.add(digest)
        s.flush()
        digest_key = f"o{digest.id}"
    _fail(filed, acks["ACME"])
    _fail(filed, acks["HX"])
    stray = filed.deliver("someone@elsewhere.example", "issue: hello")
    filed.run()
    with filed.session() as s:
        row = s.scalars(select(StoredMessage).order_by(StoredMessage.id.desc())).first()
        assert row is not None and stray
        row.state, row.failed_stage, row.item_id = MessageState.SET_ASIDE, "file", None
        row.error = "boom"
        message_key = f"m{row.id}"
    with filed.session() as s:
        everything = {f.key: f.project for f in list_failures(s)}
        assert everything == {
            message_key: "TRIAGE",
            f"o{acks['ACME']}": "ACME",
            f"o{acks['HX']}": "HX",
            digest_key: None,
        }
        acme = list_failures(s, projects=["ACME"])
        assert [f.key for f in acme] == [f"o{acks['ACME']}"]
        assert acme[0].people == ("anna@acme.example",) and acme[0].subject
        assert [f.key for f in list_failures(s, projects=["TRIAGE", "HX"])] == [
            message_key,
            f"o{acks['HX']}",
        ]
        assert show_failure(s, f"o{acks['HX']}").failure.project == "HX"
        assert show_failure(s, digest_key).failure.project is None


def test_a_status_notice_and_a_summary_belong_to_their_project(filed: Bot) -> None:  # noqa: F811
    with filed.session() as s:
        item = s.scalars(select(Item).where(Item.ref == "HX-1")).one()
        for key in (f"status:{item.id}:resolved:7", "summary:ACME:2026-W48", "approval:HX-1:ab"):
            s.add(
                OutboxMail(
                    kind=key.partition(":")[0],
                    dedupe_key=key,
                    message_id=f"<{key}@agency.example>",
                    mail_from="team@agency.example",
                    rcpt_to=["c@example.com"],
                    subject=key,
                    raw=b"x",
                    state=OutboxState.FAILED,
                    attempts=1,
                )
            )
    with filed.session() as s:
        found = {f.subject: f.project for f in list_failures(s)}
        assert found == {
            f"status:{item.id}:resolved:7": "HX",
            "summary:ACME:2026-W48": "ACME",
            "approval:HX-1:ab": "HX",
        }
        [summary] = [f for f in list_failures(s, projects=["ACME"])]
        assert requeue(s, [summary.key], actor="lena", now=NOW) == [summary.key]
        event = s.scalars(select(Event).where(Event.kind == "outgoing_requeued")).one()
        assert event.actor == "lena"


def test_the_command_lists_one_projects_failures(
    filed: Bot,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    with filed.session() as s:
        ids = {
            m.subject: m.id for m in s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack"))
        }
    for mail_id in ids.values():
        _fail(filed, mail_id)
    code, out, _err = filed.cli(capsys, "failed", "list", "--project", "hx", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["project"] for r in rows] == ["HX"] and rows[0]["people"] == [
        "wangfang@huaxin.example"
    ]


def test_a_mail_being_tried_right_now_is_not_requeued(filed: Bot) -> None:  # noqa: F811
    with filed.session() as s:
        mail = s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack")).first()
        assert mail is not None
        mail.state, mail.attempts, mail.last_error = OutboxState.PENDING, 2, "421 try later"
        mail.claimed_by, mail.next_attempt_at = "host:1", NOW + timedelta(minutes=5)
        key = f"o{mail.id}"
    with filed.session() as s, pytest.raises(FailureError, match="being tried right now"):
        requeue(s, [key], actor="lena", now=NOW)
    with filed.session() as s:  # the lease has ended: the worker is gone
        assert requeue(s, [key], actor="lena", now=NOW + timedelta(minutes=6)) == [key]
