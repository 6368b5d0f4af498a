"""Every queue action on items made by the real pipeline: effects, audit events, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from mailbot.errors import MailbotError
from mailbot.items import actions as qa
from mailbot.items.actions import ActionError
from mailbot.items.lifecycle import StatusError
from mailbot.storage.models import Correction, Event, Item, StoredMessage
from tests.support.queue_bot import Bot


def events(session, item: Item, kind: str) -> list[Event]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Event).where(Event.item_id == item.id, Event.kind == kind)))


def test_the_pipeline_made_the_items_the_tests_expect(filed: Bot) -> None:
    with filed.session() as s:
        refs = {i.ref: (i.category, i.status) for i in s.scalars(select(Item))}
    assert refs == {
        "ACME-1": ("issue", "acknowledged"),
        "ACME-2": ("change_request", "submitted"),
        "HX-1": ("issue", "acknowledged"),
    }


def test_reclassify_restarts_the_lifecycle_and_records_corrections(filed: Bot) -> None:
    with filed.session() as s:
        item = qa.reclassify(s, filed.config, "acme-1", "change_request", actor="lena", reason="x")
        assert (item.category, item.status, item.needs_review) == (
            "change_request",
            "submitted",
            False,
        )
        corrections = list(s.scalars(select(Correction).order_by(Correction.id)))
        assert [(c.field, c.old_value, c.new_value, c.actor) for c in corrections] == [
            ("category", "issue", "change_request", "lena")
        ] * 2
        assert corrections[0].text == "Checkout fails\nError 500 when we pay."
        assert corrections[1].text.startswith("Re: Checkout fails\nAlso with PayPal.")
        [event] = events(s, item, "reclassified")
        assert event.actor == "lena" and event.detail["from"] == "issue"
        assert event.detail["status_from"] == "acknowledged" and event.detail["reason"] == "x"


def test_reclassify_refuses_unknown_and_unchanged_categories(filed: Bot) -> None:
    with filed.session() as s:
        with pytest.raises(ActionError, match="unknown category"):
            qa.reclassify(s, filed.config, "ACME-1", "bug", actor="lena")
        with pytest.raises(ActionError, match="already issue"):
            qa.reclassify(s, filed.config, "ACME-1", "issue", actor="lena")


def test_an_unknown_ref_says_what_to_do(filed: Bot) -> None:
    with filed.session() as s, pytest.raises(ActionError) as err:
        qa.find_item(s, "ACME-99")
    assert "no item 'ACME-99'" in str(err.value) and "queue list --all" in str(err.value)
    assert err.value.code == "MB950"


def test_a_reply_from_our_side_is_not_a_training_example(filed: Bot) -> None:
    filed.deliver("Lena <pm@agency.example>", "Re: Checkout fails", "Seen.", reply_to="m1@client")
    filed.run()
    with filed.session() as s:
        assert len(qa.item_messages(s, filed.item("ACME-1", s))) == 3
        qa.reclassify(s, filed.config, "ACME-1", "feedback", actor="lena")
        senders = {c.message.from_email for c in []}
        pks = [c.message_pk for c in s.scalars(select(Correction))]
        senders = {s.get(StoredMessage, pk).from_email for pk in pks}  # type: ignore[union-attr]
    assert senders == {"anna@acme.example"} and len(pks) == 2


def test_move_renumbers_and_the_old_ref_still_finds_the_item(filed: Bot) -> None:
    with filed.session() as s:
        item = qa.move(s, filed.config, "ACME-2", "hx", actor="lena", reason="wrong client")
        assert (item.ref, item.project_key, item.number) == ("HX-2", "HX", 2)
        [event] = events(s, item, "moved")
        assert event.detail["from"] == "ACME-2" and event.detail["to"] == "HX-2"
        [correction] = s.scalars(select(Correction))
        assert (correction.field, correction.old_value, correction.new_value) == (
            "project",
            "ACME",
            "HX",
        )
    with filed.session() as s:
        assert qa.find_item(s, "ACME-2").ref == "HX-2"
        assert qa.old_refs(s, qa.find_item(s, "HX-2")) == ["ACME-2"]
        # Numbers are never reused: the next ACME item is ACME-3.
        assert qa.move(s, filed.config, "HX-2", "ACME", actor="lena").ref == "ACME-3"
        assert qa.find_item(s, "ACME-2").ref == "ACME-3"


def test_move_refuses_an_unknown_project(filed: Bot) -> None:
    with filed.session() as s, pytest.raises(ActionError, match="no project 'NOPE'") as err:
        qa.move(s, filed.config, "ACME-1", "NOPE", actor="lena")
    assert "ACME, HX, TRIAGE" in str(err.value)


def test_status_follows_the_lifecycle(filed: Bot) -> None:
    with filed.session() as s:
        change = qa.set_status(s, filed.config, "ACME-1", "in_progress", actor="lena", note="on it")
        assert change.item.status == "in_progress" and change.outbox is None
        assert change.event.detail == {
            "from": "acknowledged",
            "to": "in_progress",
            "reason": "on it",
        }
        assert change.item.first_response_at is None  # no mail to the client: not a response
    with filed.session() as s, pytest.raises(StatusError, match="allowed next: resolved, closed"):
        qa.set_status(s, filed.config, "ACME-1", "submitted", actor="lena")


def test_status_notify_queues_one_threaded_mail_and_meets_the_sla(filed: Bot) -> None:
    with filed.session() as s:
        change = qa.set_status(
            s, filed.config, "HX-1", "in_progress", actor="lena", notify=True, now=NOW
        )
        assert change.outbox is not None and change.outbox.kind == "status"
        assert change.outbox.rcpt_to == ["wangfang@huaxin.example"]
        assert change.outbox.dedupe_key == f"status:{change.item.id}:in_progress:{change.event.id}"
        assert change.item.first_response_at is not None
        assert change.item.first_response_at.replace(tzinfo=UTC) == NOW
        [first] = events(s, change.item, "first_response")
        assert first.actor == "lena"
        mail = message_from_bytes(change.outbox.raw, policy=policy.default)
    assert mail["In-Reply-To"] == "<m3@client>" and mail["Content-Language"] == "zh-Hans"
    assert mail["Subject"] == "Re: 后台登录不了 [HX-1]"
    assert "HX-1" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_failed_notification_leaves_the_status_as_it_was(bot: Bot) -> None:
    # A PM's own mail makes an item with no client message to reply to.
    bot.deliver("Lena <pm@agency.example>", "Staging is down", "Internal.")
    bot.run()
    with pytest.raises(ActionError, match="no message from the client") as err, bot.session() as s:
        qa.set_status(s, bot.config, "TRIAGE-1", "in_progress", actor="lena", notify=True)
    assert "without --notify" in str(err.value)
    with bot.session() as s:
        item = bot.item("TRIAGE-1", s)
        assert (item.status, item.first_response_at) == ("new", None)
        assert events(s, item, "status") == []


def test_a_status_without_a_template_is_a_clear_error(filed: Bot) -> None:
    from mailbot.items.actions import notify_status

    with filed.session() as s, pytest.raises(MailbotError, match="no status template"):
        item = filed.item("ACME-2", s)
        notify_status(s, filed.config, item, "no_such_status", event_id=1, note=None, now=NOW)


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_assign_and_unassign(filed: Bot) -> None:
    with filed.session() as s:
        assert qa.assign(s, "ACME-1", "dev@agency.example", actor="lena").assignee == (
            "dev@agency.example"
        )
        assert qa.assign(s, "ACME-1", "-", actor="lena").assignee is None
        trail = events(s, filed.item("ACME-1", s), "assigned")
        kinds = [(e.detail["from"], e.detail["to"]) for e in trail]
        assert kinds == [(None, "dev@agency.example"), ("dev@agency.example", None)]
        with pytest.raises(ActionError, match="already assigned to nobody"):
            qa.assign(s, "ACME-1", "-", actor="lena")


def test_a_note_is_an_internal_event_only(filed: Bot) -> None:
    sent_before = len(filed.outbox_files())
    with filed.session() as s:
        event = qa.add_note(s, "ACME-1", "  Client called, wants a fix by Friday. ", actor="lena")
        assert event.kind == "note"
        assert event.detail == {"text": "Client called, wants a fix by Friday."}
        with pytest.raises(ActionError, match="empty"):
            qa.add_note(s, "ACME-1", "   ", actor="lena")
    filed.run()
    assert len(filed.outbox_files()) == sent_before


def test_merge_moves_messages_and_marks_the_source(filed: Bot) -> None:
    with filed.session() as s:
        target = qa.merge(s, "ACME-2", "ACME-1", actor="lena", reason="same request")
        source = filed.item("ACME-2", s)
        assert target.ref == "ACME-1"
        assert (source.status, source.merged_into_id) == ("merged", target.id)
        assert len(qa.item_messages(s, target)) == 3 and qa.item_messages(s, source) == []
        assert events(s, source, "merged")[0].detail["into"] == "ACME-1"
        assert events(s, target, "merged_from")[0].detail["from"] == "ACME-2"
    with filed.session() as s:
        with pytest.raises(ActionError, match="was merged into another item"):
            qa.set_status(s, filed.config, "ACME-2", "under_review", actor="lena")
        with pytest.raises(ActionError, match="itself merged into ACME-1"):
            qa.merge(s, "HX-1", "ACME-2", actor="lena")
        with pytest.raises(ActionError, match="into itself"):
            qa.merge(s, "ACME-1", "acme-1", actor="lena")


def test_a_follow_up_after_a_merge_lands_on_the_target(filed: Bot) -> None:
    with filed.session() as s:
        qa.merge(s, "ACME-2", "ACME-1", actor="lena")
    filed.deliver("anna@acme.example", "Re: New banner change", "And blue.", reply_to="m2@client")
    filed.run()
    with filed.session() as s:
        assert len(qa.item_messages(s, filed.item("ACME-1", s))) == 4


def test_split_makes_a_new_item_of_one_message(filed: Bot) -> None:
    with filed.session() as s:
        new = qa.split(s, "<m4@client>", actor="lena", reason="a different bug")
        assert (new.ref, new.project_key, new.category, new.status) == (
            "ACME-3",
            "ACME",
            "issue",
            "new",
        )
        [row] = qa.item_messages(s, new)
        assert row.message_id == "m4@client" and new.client_email == "anna@acme.example"
        source = filed.item("ACME-1", s)
        assert [r.message_id for r in qa.item_messages(s, source)] == ["m1@client"]
        assert events(s, source, "split")[0].detail["to"] == "ACME-3"
        with pytest.raises(ActionError, match="only message of ACME-1"):
            qa.split(s, str(qa.item_messages(s, source)[0].id), actor="lena")
        with pytest.raises(ActionError, match="no stored message '999'"):
            qa.split(s, "999", actor="lena")


def test_a_split_message_keeps_its_clients_regional_wording(filed: Bot) -> None:
    with filed.session() as s:
        source = filed.item("ACME-1", s)
        row = s.scalars(select(StoredMessage).where(StoredMessage.message_id == "m4@client")).one()
        assert row.from_email == source.client_email
        source.language, row.language = "zh-Hant-HK", "zh-Hant"  # a Hong Kong client
        assert qa.split(s, "<m4@client>", actor="lena").language == "zh-Hant-HK"
