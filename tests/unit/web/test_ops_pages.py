"""The operations pages: failed mail (outbox), breakers, spam and the client summaries.

Each action changes the database and records who did it; a viewer may not act, a pm
only on their own projects, and a form without its CSRF token changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from starlette.testclient import TestClient

from mailbot.accounts.users import add_user, change_user
from mailbot.pipeline.breakers import trip
from mailbot.pipeline.spam import mark_spam
from mailbot.storage.models import (
    Breaker,
    Event,
    Item,
    MessageState,
    OutboxMail,
    OutboxState,
    Report,
    StoredMessage,
)
from tests.support.queue_bot import Bot
from tests.unit.web.conftest import NOW, PASSWORD, Clock, page_csrf

SignedIn = Callable[[str], TestClient]


def events(bot: Bot, kind: str) -> list[Event]:
    with bot.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


# --- outbox ----------------------------------------------------------------------------


def fail_acks(bot: Bot) -> dict[str, OutboxMail]:
    """Every acknowledgement failed for good; the last one of each project, by project."""
    with bot.session() as s:
        s.execute(
            update(OutboxMail)
            .where(OutboxMail.kind == "ack")
            .values(state=OutboxState.FAILED, attempts=5, last_error="550 5.1.1 <x>: no such user")
        )
        found = {}
        for mail in s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack")):
            row = s.get(StoredMessage, mail.message_pk)
            item = s.get(Item, row.item_id) if row and row.item_id else None
            assert item is not None
            found[item.project_key] = mail
        return found


def add_digest_failure(bot: Bot) -> str:
    with bot.session() as s:
        mail = OutboxMail(
            kind="digest",
            dedupe_key="digest:pm@agency.example:2026-11-23",
            message_id="<digest-1@agency.example>",
            mail_from="team@agency.example",
            rcpt_to=["pm@agency.example"],
            subject="Your digest",
            raw=b"Subject: Your digest\r\n\r\nx",
            state=OutboxState.FAILED,
            attempts=5,
            last_error="connection refused",
        )
        s.add(mail)
        s.flush()
        return f"o{mail.id}"


def test_the_outbox_shows_each_person_their_projects_failures(
    people: Bot, signed_in: SignedIn
) -> None:
    acks = fail_acks(people)
    digest = add_digest_failure(people)
    acme, hx = f"o{acks['ACME'].id}", f"o{acks['HX'].id}"
    admin = signed_in("admin").get("/outbox").text
    for key in (acme, hx, digest):
        assert f'data-key="{key}"' in admin
    assert "550 5.1.1 &lt;x&gt;: no such user" in admin and "anna@acme.example" in admin
    lena = signed_in("lena").get("/outbox").text
    assert f'data-key="{acme}"' in lena
    assert f'data-key="{hx}"' not in lena and f'data-key="{digest}"' not in lena
    assert "Resend" in lena
    wei = signed_in("wei").get("/outbox")
    assert wei.status_code == 200 and f'data-key="{hx}"' in wei.text
    assert f'data-key="{acme}"' not in wei.text
    assert "/resend" not in wei.text  # a viewer reads


def test_resend_queues_the_same_mail_again_once(people: Bot, signed_in: SignedIn) -> None:
    acks = fail_acks(people)
    mail = acks["ACME"]
    lena = signed_in("lena")
    response = lena.post(f"/outbox/o{mail.id}/resend", data={"csrf": page_csrf(lena, "/outbox")})
    assert response.status_code == 303
    with people.session() as s:
        again = s.get(OutboxMail, mail.id)
        assert again is not None
        assert (again.state, again.attempts) == (OutboxState.PENDING, 0)
        assert again.message_id == mail.message_id  # the same mail: sent once
        assert s.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == mail.dedupe_key))
    [event] = events(people, "outgoing_requeued")
    assert event.actor == "lena" and event.detail["outbox"] == mail.id
    page = lena.get(response.headers["location"]).text
    assert "is queued again" in page and f'data-key="o{mail.id}"' not in page


def test_resend_is_refused_outside_ones_projects_and_roles(
    people: Bot, signed_in: SignedIn
) -> None:
    acks = fail_acks(people)
    digest = add_digest_failure(people)
    lena, wei = signed_in("lena"), signed_in("wei")
    token = page_csrf(lena, "/outbox")
    assert lena.post(f"/outbox/o{acks['HX'].id}/resend", data={"csrf": token}).status_code == 404
    assert lena.post(f"/outbox/{digest}/resend", data={"csrf": token}).status_code == 404
    wei_token = page_csrf(wei, "/outbox")
    assert wei.post(f"/outbox/o{acks['HX'].id}/resend", data={"csrf": wei_token}).status_code == 403
    assert lena.post(f"/outbox/o{acks['ACME'].id}/resend").status_code == 403  # no CSRF token
    with people.session() as s:
        states = {m.state for m in s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack"))}
        assert states == {OutboxState.FAILED}
    assert events(people, "outgoing_requeued") == []


def test_a_set_aside_message_is_retried_from_its_stage(people: Bot, signed_in: SignedIn) -> None:
    people.deliver("someone@elsewhere.example", "issue: where is my parcel")
    people.run()
    with people.session() as s:
        row = s.scalars(select(StoredMessage).order_by(StoredMessage.id.desc())).first()
        assert row is not None
        row.state, row.failed_stage, row.error = MessageState.SET_ASIDE, "answer", "boom"
        key = f"m{row.id}"
    # Mail of no client project is TRIAGE's: lena (ACME) does not see it.
    assert f'data-key="{key}"' not in signed_in("lena").get("/outbox").text
    admin = signed_in("admin")
    page = admin.get("/outbox").text
    assert f'data-key="{key}"' in page and "Retry" in page
    response = admin.post(f"/outbox/{key}/resend", data={"csrf": page_csrf(admin, "/outbox")})
    assert response.status_code == 303
    with people.session() as s:
        again = s.get(StoredMessage, int(key[1:]))
        assert again is not None and again.state == MessageState.FILED and again.attempts == 0
    [event] = events(people, "requeued")
    assert event.actor == "admin" and event.detail["stage"] == "answer"


# --- breakers --------------------------------------------------------------------------


def test_breakers_show_in_the_persons_time_zone_and_a_pm_clears_one(
    people: Bot, signed_in: SignedIn
) -> None:
    with people.session() as s:
        trip(s, "loop@acme.example", "12 mails in 10 minutes", NOW, people.config)
        change_user(s, people.config, "lena", timezone="Asia/Shanghai", actor="test")
    lena = signed_in("lena")
    page = lena.get("/breakers").text
    assert 'data-address="loop@acme.example"' in page and "12 mails in 10 minutes" in page
    # 12:00 UTC is 20:00 in Shanghai; the breaker ends a day later.
    assert re.search(r"Nov 23, 2026, 8:00\sPM", page) and re.search(r"Nov 24, 2026, 8:00\sPM", page)
    response = lena.post(
        "/breakers/clear",
        data={"csrf": page_csrf(lena, "/breakers"), "address": "loop@acme.example"},
    )
    assert response.status_code == 303
    with people.session() as s:
        assert s.get(Breaker, "loop@acme.example") is None
    [event] = events(people, "breaker_cleared")
    assert event.actor == "lena" and event.detail["address"] == "loop@acme.example"
    assert "is answered again" in lena.get(response.headers["location"]).text


def test_a_viewer_or_a_form_without_token_clears_no_breaker(
    people: Bot, signed_in: SignedIn
) -> None:
    with people.session() as s:
        trip(s, "loop@huaxin.example", "a loop", NOW, people.config)
    wei = signed_in("wei")
    page = wei.get("/breakers")
    assert page.status_code == 200 and "loop@huaxin.example" in page.text
    assert "/breakers/clear" not in page.text
    token = page_csrf(wei, "/breakers")
    form = {"csrf": token, "address": "loop@huaxin.example"}
    assert wei.post("/breakers/clear", data=form).status_code == 403
    lena = signed_in("lena")
    assert lena.post("/breakers/clear", data={"address": "loop@huaxin.example"}).status_code == 403
    unknown = {"csrf": page_csrf(lena, "/breakers"), "address": "nobody@acme.example"}
    refused = lena.post("/breakers/clear", data=unknown)
    assert refused.status_code == 400 and "no breaker is on" in refused.text
    with people.session() as s:
        assert s.get(Breaker, "loop@huaxin.example") is not None
    assert events(people, "breaker_cleared") == []


# --- spam ------------------------------------------------------------------------------


def spam_mail(bot: Bot) -> str:
    """A stranger's mail, called spam by the filter; its key."""
    bot.deliver(
        "Cheap Pills <promo@spam.example>",
        "<b>WIN</b> a prize",
        '<script>alert("x")</script> Click <a href="http://evil.example">here</a>',
    )
    bot.run()
    with bot.session() as s:
        row = s.scalars(select(StoredMessage).order_by(StoredMessage.id.desc())).first()
        assert row is not None
        key = f"m{row.id}"
        mark_spam(s, [key], actor="filter-test", now=NOW, reason="prize mail")
        row.spam_check = {
            "status": "spam",
            "score": 12.5,
            "threshold": 5.0,
            "source": "rspamd",
            "reasons": ["BAYES_99", "URIBL_BLACK"],
        }
    return key


def add_person(bot: Bot, name: str, role: str, projects: tuple[str, ...]) -> None:
    with bot.session() as s:
        add_user(s, bot.config, name, PASSWORD, role=role, projects=projects, actor="test")


def test_spam_is_for_admins_and_triage_only(people: Bot, signed_in: SignedIn) -> None:
    key = spam_mail(people)
    add_person(people, "tri", "pm", ("TRIAGE",))
    lena = signed_in("lena")
    denied = lena.get("/spam")
    assert denied.status_code == 403 and f'data-key="{key}"' not in denied.text
    token = page_csrf(lena, "/")
    assert lena.post("/spam/not-spam", data={"csrf": token, "key": key}).status_code == 403
    assert lena.post("/spam/mark", data={"csrf": token, "key": "m1"}).status_code == 403
    for name in ("admin", "tri"):
        page = signed_in(name).get("/spam")
        assert page.status_code == 200 and f'data-key="{key}"' in page.text
    text = page.text
    assert "promo@spam.example" in text and "12.5 / 5" in text and "rspamd" in text
    assert "URIBL_BLACK" in text
    # The mail's text only inside <details>, escaped; its HTML never.
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    assert "<b>WIN</b>" not in text and "&lt;b&gt;WIN&lt;/b&gt;" in text
    assert 'href="http://evil.example"' not in text
    details = text[text.index('<details class="spam-text">') :]
    assert details.index("&lt;script&gt;") < details.index("</details>")


def test_not_spam_sends_it_round_again_and_records_who(people: Bot, signed_in: SignedIn) -> None:
    key = spam_mail(people)
    add_person(people, "tri", "pm", ("TRIAGE",))
    tri = signed_in("tri")
    response = tri.post(
        "/spam/not-spam", data={"csrf": page_csrf(tri, "/spam"), "key": key, "reason": "a client"}
    )
    assert response.status_code == 303
    with people.session() as s:
        row = s.get(StoredMessage, int(key[1:]))
        assert row is not None and row.spam_status == "ham" and row.state == MessageState.PARSED
    [event] = events(people, "not_spam")
    assert event.actor == "tri" and event.detail["reason"] == "a client"
    assert f'data-key="{key}"' not in tri.get(response.headers["location"]).text


def test_marking_spam_is_checked_against_the_persons_projects(
    people: Bot, signed_in: SignedIn
) -> None:
    add_person(people, "tri", "pm", ("TRIAGE",))
    add_person(people, "triview", "viewer", ("TRIAGE",))
    with people.session() as s:
        acme = s.scalars(select(StoredMessage).join(Item).where(Item.ref == "ACME-2")).first()
        assert acme is not None
        acme_key = f"m{acme.id}"
    tri = signed_in("tri")
    token = page_csrf(tri, "/spam")
    assert tri.post("/spam/mark", data={"csrf": token, "key": acme_key}).status_code == 404
    viewer = signed_in("triview")
    assert viewer.get("/spam").status_code == 200
    form = {"csrf": page_csrf(viewer, "/spam"), "key": acme_key}
    assert viewer.post("/spam/mark", data=form).status_code == 403
    admin = signed_in("admin")
    assert admin.post("/spam/mark", data={"key": acme_key}).status_code == 403  # no CSRF token
    assert events(people, "spam") == []
    form = {"csrf": page_csrf(admin, "/spam"), "key": acme_key, "reason": "SEO offer"}
    assert admin.post("/spam/mark", data=form).status_code == 303
    with people.session() as s:
        row = s.get(StoredMessage, acme.id)
        assert row is not None and row.spam_status == "spam"
    [event] = events(people, "spam")
    assert event.actor == "admin" and event.detail == {"reason": "SEO offer"}
    assert f'data-key="{acme_key}"' in admin.get("/spam").text


# --- summaries -------------------------------------------------------------------------


def summary_time(clock: Clock) -> None:
    """The web's clock at the time the items were filed, so the week has them."""
    clock.now = datetime.now(UTC) + timedelta(minutes=1)


def test_the_summaries_list_and_preview_what_the_client_would_get(
    people: Bot, signed_in: SignedIn, clock: Clock
) -> None:
    summary_time(clock)
    lena = signed_in("lena")
    page = lena.get("/summaries").text
    assert 'data-project="ACME"' in page and 'data-project="HX"' not in page
    assert "not made yet" in page
    preview = lena.get("/summaries/ACME/preview")
    assert preview.status_code == 200
    assert "anna@acme.example" in preview.text and "ACME-1" in preview.text
    assert '<pre class="body mailtext">' in preview.text
    assert lena.get("/summaries/HX/preview").status_code == 404
    assert lena.get("/summaries/TRIAGE/preview").status_code == 404
    # In the client's language, whatever the reader's.
    wei = signed_in("wei").get("/summaries/HX/preview")
    assert wei.status_code == 200 and "华信物流" in wei.text and "HX-1" in wei.text
    english = signed_in("admin").get("/summaries/HX/preview").text
    assert "华信物流项目周报" in english
    with people.session() as s:
        assert s.scalars(select(Report)).all() == []  # a preview records nothing


def test_the_preview_escapes_client_text(people: Bot, signed_in: SignedIn, clock: Clock) -> None:
    people.deliver("Anna <anna@acme.example>", "issue: <script>alert(1)</script> broken")
    people.run()
    summary_time(clock)
    text = signed_in("lena").get("/summaries/ACME/preview").text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)" in text


def test_hold_then_release_queues_the_summary_once(
    people: Bot, signed_in: SignedIn, clock: Clock
) -> None:
    summary_time(clock)
    lena = signed_in("lena")
    token = page_csrf(lena, "/summaries")
    response = lena.post("/summaries/ACME/hold", data={"csrf": token})
    assert response.status_code == 303
    with people.session() as s:
        [report] = s.scalars(select(Report)).all()
        assert (report.scope, report.state, report.outbox_id) == ("ACME", "held", None)
        period = report.period
    [held] = events(people, "summary_held")
    assert held.actor == "lena" and held.detail == {"project": "ACME", "period": period}
    page = lena.get(response.headers["location"]).text
    assert "waits for you" in page and "/summaries/ACME/release" in page
    form = {"csrf": token, "period": period}
    assert lena.post("/summaries/ACME/release", data=form).status_code == 303
    assert lena.post("/summaries/ACME/release", data=form).status_code == 303  # again: nothing
    with people.session() as s:
        report = s.scalars(select(Report)).one()
        assert report.state == "queued" and report.outbox_id is not None
        [mail] = s.scalars(select(OutboxMail).where(OutboxMail.kind == "summary")).all()
        assert mail.rcpt_to == ["anna@acme.example"]
    [released] = events(people, "summary_released")
    assert released.actor == "lena"
    refused = lena.post("/summaries/ACME/hold", data=form)
    assert refused.status_code == 400 and "already sent" in refused.text


def test_summaries_refuse_viewers_other_projects_and_missing_tokens(
    people: Bot, signed_in: SignedIn, clock: Clock
) -> None:
    summary_time(clock)
    wei, lena = signed_in("wei"), signed_in("lena")
    page = wei.get("/summaries").text
    assert 'data-project="HX"' in page and "/summaries/HX/hold" not in page
    assert wei.post("/summaries/HX/hold", data={"csrf": page_csrf(wei)}).status_code == 403
    assert lena.post("/summaries/HX/hold", data={"csrf": page_csrf(lena)}).status_code == 404
    assert lena.post("/summaries/ACME/hold").status_code == 403  # no CSRF token
    with people.session() as s:
        assert s.scalars(select(Report)).all() == []
    assert events(people, "summary_held") == []
