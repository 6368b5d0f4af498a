"""The queue and the item page: what each person sees, and what they may not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from starlette.testclient import TestClient


def test_a_pm_sees_the_queue_of_their_projects_only(signed_in: Callable[[str], TestClient]) -> None:
    page = signed_in("lena").get("/")
    assert page.status_code == 200
    assert 'data-ref="ACME-1"' in page.text and 'data-ref="ACME-2"' in page.text
    assert 'data-ref="HX-1"' not in page.text
    everything = signed_in("admin").get("/").text
    assert all(f'data-ref="{ref}"' in everything for ref in ("ACME-1", "ACME-2", "HX-1"))


def test_a_guessed_url_of_another_project_is_not_found(
    signed_in: Callable[[str], TestClient],
) -> None:
    lena = signed_in("lena")
    assert lena.get("/items/HX-1").status_code == 404
    assert lena.get("/items/NOPE-9").status_code == 404
    assert lena.get("/?project=HX").text.count("data-ref=") == 0
    assert signed_in("wei").get("/items/ACME-1").status_code == 404


def test_the_item_page_shows_the_thread_verdict_and_history(
    signed_in: Callable[[str], TestClient],
) -> None:
    page = signed_in("lena").get("/items/ACME-1")
    assert page.status_code == 200
    text = page.text
    assert "Checkout fails" in text and "Error 500 when we pay." in text
    assert "Also with PayPal." in text  # the follow-up, in order
    assert text.index("Error 500 when we pay.") < text.index("Also with PayPal.")
    assert "verdict" in text and "History" in text


def test_filters_and_search(signed_in: Callable[[str], TestClient]) -> None:
    admin = signed_in("admin")
    assert admin.get("/?category=change_request").text.count("data-ref=") == 1
    assert 'data-ref="HX-1"' in admin.get("/?q=登录").text
    assert admin.get("/?q=PayPal").text.count("data-ref=") == 1
    rows = admin.get("/queue/rows?project=HX", headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text and 'data-ref="HX-1"' in rows.text


def test_client_text_is_escaped(signed_in: Callable[[str], TestClient], people) -> None:  # type: ignore[no-untyped-def]
    people.deliver(
        "Eve <eve@acme.example>",
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(2)"> <a href="javascript:alert(3)">x</a>',
    )
    people.run()
    admin = signed_in("admin")
    queue = admin.get("/").text
    assert "<script>alert(1)</script>" not in queue and "&lt;script&gt;" in queue
    ref = next(line for line in queue.splitlines() if "&lt;script&gt;" in line)
    assert ref
    item = admin.get("/items/ACME-3").text
    assert "<img src=x" not in item and 'href="javascript:' not in item


def test_the_chinese_user_gets_chinese_pages(signed_in: Callable[[str], TestClient]) -> None:
    page = signed_in("wei").get("/")
    assert '<html lang="zh-Hans">' in page.text


def test_polling_costs_nothing_until_something_changes(
    signed_in: Callable[[str], TestClient],
    people,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    import html
    import re

    admin = signed_in("admin")
    page = admin.get("/").text
    poll = html.unescape(re.search(r'id="rows" hx-get="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    assert "since=" in poll
    unchanged = admin.get(poll, headers={"HX-Request": "true"})
    assert unchanged.status_code == 204 and unchanged.text == ""
    people.deliver("Anna <anna@acme.example>", "Invoice PDF is empty", "The PDF has no pages.")
    people.run()
    fresh = admin.get(poll, headers={"HX-Request": "true"})
    assert fresh.status_code == 200 and "Invoice PDF is empty" in fresh.text
    newer = html.unescape(re.search(r'id="rows" hx-get="([^"]+)"', fresh.text).group(1))  # type: ignore[union-attr]
    assert newer != poll and admin.get(newer, headers={"HX-Request": "true"}).status_code == 204
    clock.now = clock.now + timedelta(minutes=1)  # the ages shown move on
    assert admin.get(newer, headers={"HX-Request": "true"}).status_code == 200


def test_the_history_reads_as_lines_with_the_record_folded(
    signed_in: Callable[[str], TestClient],
) -> None:
    from mailbot.storage.models import Event
    from mailbot.web.pages.item import event_summary

    status = Event(
        kind="status", actor="lena", detail={"from": "new", "to": "in_progress", "reason": "on it"}
    )
    assert event_summary(status) == "new → in_progress · on it"
    filed = Event(kind="filed", detail={"item": "ACME-1", "route": "thread", "notes": [{"x": 1}]})
    assert event_summary(filed) == "ACME-1 · thread"
    other = Event(kind="unknown_kind", detail={"a": "b", "nested": {"c": 1}})
    assert event_summary(other) == "b"
    page = signed_in("admin").get("/items/HX-1").text
    assert "route={" not in page and "checks=[" not in page  # no raw records in the lines
    assert '<details class="record">' in page and "后台登录不了" in page
