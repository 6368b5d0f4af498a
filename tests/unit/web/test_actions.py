"""The item page's actions: each works, is recorded with the person's name, and is refused
to a viewer (403), to a PM of another project (404) and without the CSRF token (403)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mailbot.storage.models import Event, OutboxMail
from tests.support.queue_bot import Bot
from tests.unit.web.conftest import page_csrf

ACTIONS = [
    ("ACME-1", "reclassify", {"category": "change_request", "reason": "a wish"}, "reclassified"),
    ("ACME-1", "move", {"project": "HX", "reason": "wrong client"}, "moved"),
    ("ACME-1", "assign", {"who": "lena"}, "assigned"),
    ("ACME-1", "note", {"text": "called the client"}, "note"),
    ("ACME-2", "merge", {"into": "ACME-1"}, "merged"),
    ("ACME-2", "assess", {"effort": "3 days", "cost": "EUR 2,400"}, "impact_assessed"),
    ("ACME-1", "status", {"status": "in_progress", "note": "on it"}, "status"),
]


def _events(bot: Bot, kind: str) -> list[Event]:
    with bot.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind)))


@pytest.mark.parametrize(("ref", "action", "form", "kind"), ACTIONS)
def test_each_action_works_and_names_the_person(
    signed_in: Callable[[str], TestClient],
    people: Bot,
    ref: str,
    action: str,
    form: dict[str, str],
    kind: str,
) -> None:
    admin = signed_in("admin")
    response = admin.post(f"/items/{ref}/{action}", data={**form, "csrf": page_csrf(admin)})
    assert response.status_code == 303, response.text
    assert "done=" in response.headers["location"]
    events = _events(people, kind)
    assert events and events[-1].actor == "admin"


@pytest.mark.parametrize(("ref", "action", "form", "kind"), ACTIONS)
def test_nobody_else_may(
    signed_in: Callable[[str], TestClient],
    people: Bot,
    ref: str,
    action: str,
    form: dict[str, str],
    kind: str,
) -> None:
    before = len(_events(people, kind))
    wei = signed_in("wei")  # a viewer of HX: ACME is not even visible
    assert (
        wei.post(f"/items/{ref}/{action}", data={**form, "csrf": page_csrf(wei)}).status_code == 403
    )
    assert (
        wei.post("/items/HX-1/note", data={"text": "x", "csrf": page_csrf(wei)}).status_code == 403
    )
    lena = signed_in("lena")  # pm of ACME
    assert (
        lena.post("/items/HX-1/note", data={"text": "x", "csrf": page_csrf(lena)}).status_code
        == 404
    )
    assert lena.post(f"/items/{ref}/{action}", data=form).status_code == 403  # no CSRF token
    assert len(_events(people, kind)) == before


def test_the_status_mail_is_previewed_in_the_clients_language_then_sent_once(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    admin = signed_in("admin")
    preview = admin.get("/items/HX-1/status?status=in_progress&note=正在修复")
    assert preview.status_code == 200
    assert "正在修复" in preview.text and "HX-1" in preview.text
    assert not people.outbox("status")  # a preview sends nothing
    form = {"status": "in_progress", "note": "正在修复", "notify": "1", "csrf": page_csrf(admin)}
    assert admin.post("/items/HX-1/status", data=form).status_code == 303
    assert admin.post("/items/HX-1/status", data=form).status_code == 400  # already in progress
    sent = people.outbox("status")
    assert len(sent) == 1
    mail = message_from_bytes(sent[0].raw, policy=policy.default)
    body = mail.get_body(("plain",))  # type: ignore[union-attr]
    assert body is not None and "正在修复" in body.get_content()


def test_a_status_mail_goes_out_right_after_the_click(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    people.config = dataclasses.replace(
        people.config, web=dataclasses.replace(people.config.web, send_at_once=True)
    )
    admin = signed_in("admin")
    form = {"status": "in_progress", "note": "on it", "notify": "1", "csrf": page_csrf(admin)}
    assert admin.post("/items/ACME-1/status", data=form).status_code == 303
    for thread in admin.app.state.web.sending:  # type: ignore[attr-defined]
        thread.join(timeout=30)
    assert people.config.outbox_dir is not None
    written = list(people.config.outbox_dir.glob("*-status.eml"))
    assert len(written) == 1, "the status mail was not delivered at once"
    assert [m.state for m in people.outbox("status")] == ["sent"]


def test_the_status_mail_can_be_edited_before_it_goes(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    import html as html_module
    import re

    admin = signed_in("admin")
    preview = admin.get("/items/HX-1/status?status=in_progress")
    match = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', preview.text, re.S)
    assert match, "the preview has no editable mail"
    generated = html_module.unescape(match.group(1))
    assert "HX-1" in generated
    # Sent as previewed: the template's mail, with its HTML part.
    unchanged = {"status": "in_progress", "notify": "1", "body": generated.replace("\n", "\r\n")}
    unchanged |= {"original": generated, "csrf": page_csrf(admin)}
    assert admin.post("/items/HX-1/status", data=unchanged).status_code == 303
    first = message_from_bytes(people.outbox("status")[0].raw, policy=policy.default)
    assert first.get_body(("html",)) is not None
    # Edited: the PM's words go out, as plain text.
    edited = generated.replace("HX-1", "HX-1（已安排工程师王工今晚处理）", 1)
    form = {"status": "resolved", "notify": "1", "body": edited, "original": generated}
    assert (
        admin.post("/items/HX-1/status", data={**form, "csrf": page_csrf(admin)}).status_code == 303
    )
    second = message_from_bytes(people.outbox("status")[-1].raw, policy=policy.default)
    assert second.get_body(("html",)) is None
    text = second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "已安排工程师王工今晚处理" in text


def test_approval_is_requested_after_an_assessment(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    admin = signed_in("admin")
    assert (
        admin.post("/items/ACME-2/request-approval", data={"csrf": page_csrf(admin)}).status_code
        == 400
    )
    admin.post("/items/ACME-2/assess", data={"effort": "2 days", "csrf": page_csrf(admin)})
    assert (
        admin.post("/items/ACME-2/request-approval", data={"csrf": page_csrf(admin)}).status_code
        == 303
    )
    with people.session() as session:
        kinds = [m.kind for m in session.scalars(select(OutboxMail))]
    assert "approval" in kinds
    page = admin.get("/items/ACME-2").text
    assert 'id="action-request-approval"' in page and 'id="action-assess"' in page


def test_a_viewer_sees_no_forms(signed_in: Callable[[str], TestClient]) -> None:
    page = signed_in("wei").get("/items/HX-1").text
    assert 'id="action-' not in page
    assert 'id="action-reclassify"' in signed_in("lena").get("/items/ACME-1").text
