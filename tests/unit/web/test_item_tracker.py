"""The item page names the item's issue in the team's tracker, with a link only to a web page."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from starlette.testclient import TestClient

from mailbot.storage.models import Item, TrackerLink
from tests.support.pipeline import client_mail
from tests.support.queue_bot import Bot


def _item_with_link(people: Bot, url: str) -> str:
    people.deliver_bytes(
        client_mail(
            "Anna <anna@acme.example>",
            "Export fails",
            "The CSV export stops.",
            message_id="tracker-1@acme.example",
        )
    )
    people.run()
    with people.session() as s:
        item = s.scalars(select(Item).where(Item.title == "Export fails")).one()
        s.add(
            TrackerLink(
                item_id=item.id,
                connector="redmine",
                remote_id="123",
                remote_key="#123",
                url=url,
                remote_status="In Progress",
            )
        )
        s.commit()
        return item.ref


def test_the_tracker_issue_is_linked(signed_in: Callable[[str], TestClient], people: Bot) -> None:
    ref = _item_with_link(people, "https://redmine.agency.example/issues/123")
    page = signed_in("lena").get(f"/items/{ref}").text
    assert 'href="https://redmine.agency.example/issues/123"' in page
    assert "#123</a> · In Progress" in page


def test_a_tracker_url_that_is_not_a_web_page_is_not_a_link(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    ref = _item_with_link(people, "javascript:alert(1)")
    page = signed_in("lena").get(f"/items/{ref}").text
    assert "javascript:" not in page and "#123 · In Progress" in page
