"""The projects pages: where each project stands, set by its PM with the functions of
`mailbot project`; another project's page is not found, a viewer sees but cannot set."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from starlette.testclient import TestClient

from mailbot.storage.models import Event, Item
from tests.support.queue_bot import Bot
from tests.unit.web.conftest import page_csrf


def test_a_pm_sets_the_status_and_a_milestone(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    lena = signed_in("lena")
    listing = lena.get("/projects")
    assert listing.status_code == 200
    assert 'data-project="ACME"' in listing.text and 'data-project="HX"' not in listing.text
    page = lena.get("/projects/ACME")
    assert page.status_code == 200 and 'id="standing">on track<' in page.text
    added = lena.post(
        "/projects/ACME/milestone",
        data={"name": "UAT", "due": "2026-12-04", "csrf": page_csrf(lena, "/projects/ACME")},
    )
    assert added.status_code == 303
    status = lena.post(
        "/projects/ACME/status",
        data={
            "status": "at_risk",
            "note": "waiting for the payment provider",
            "csrf": page_csrf(lena, "/projects/ACME"),
        },
    )
    assert status.status_code == 303
    page = lena.get("/projects/ACME")
    assert 'data-milestone="UAT"' in page.text and "2026-12-04" in page.text
    assert 'id="standing">at risk<' in page.text and "waiting for the payment provider" in page.text
    with people.session() as s:
        kinds = [(e.kind, e.actor) for e in s.scalars(select(Event).where(Event.actor == "lena"))]
    assert ("milestone", "lena") in kinds and ("project_status", "lena") in kinds


def test_other_projects_are_not_found_and_viewers_cannot_set(
    signed_in: Callable[[str], TestClient],
) -> None:
    lena = signed_in("lena")
    assert lena.get("/projects/HX").status_code == 404
    assert lena.get("/projects/TRIAGE").status_code == 404
    wei = signed_in("wei")  # viewer of HX, pages in Chinese
    page = wei.get("/projects/HX")
    assert page.status_code == 200 and 'id="project-status"' not in page.text
    assert "里程碑" in page.text
    refused = wei.post(
        "/projects/HX/status", data={"status": "delayed", "csrf": page_csrf(wei, "/projects/HX")}
    )
    assert refused.status_code == 403


def test_target_date_and_waiting_on_the_item_page(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    admin = signed_in("admin")
    csrf = page_csrf(admin)
    assert (
        admin.post("/items/ACME-1/target", data={"target": "2026-12-02", "csrf": csrf}).status_code
        == 303
    )
    assert (
        admin.post(
            "/items/ACME-1/waiting", data={"note": "PayPal login", "by": "2026-12-01", "csrf": csrf}
        ).status_code
        == 303
    )
    page = admin.get("/items/ACME-1")
    assert "2026-12-02" in page.text and "PayPal login" in page.text
    with people.session() as s:
        item = s.scalars(select(Item).where(Item.ref == "ACME-1")).one()
        assert item.target_date is not None and item.waiting_note == "PayPal login"
    assert admin.post("/items/ACME-1/waiting", data={"done": "1", "csrf": csrf}).status_code == 303
    bad = admin.post("/items/ACME-1/target", data={"target": "soon", "csrf": csrf})
    assert bad.status_code == 400 and "is not a date" in bad.text
    with people.session() as s:
        assert s.scalars(select(Item).where(Item.ref == "ACME-1")).one().waiting_since is None


def test_the_project_overview_counts_what_is_open(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    admin = signed_in("admin")
    csrf = page_csrf(admin)
    admin.post("/items/ACME-2/waiting", data={"note": "the logo as SVG", "csrf": csrf})
    page = admin.get("/projects/ACME").text
    assert 'id="open-count">2<' in page  # ACME-1 and ACME-2
    assert 'data-category="issue"' in page and 'data-category="change_request"' in page
    assert 'id="waiting-count">1<' in page and "the logo as SVG" in page
    assert '<span data-stage="submitted">submitted <b>1</b></span>' in page
    with people.session() as s:
        item = s.scalars(select(Item).where(Item.ref == "ACME-1")).one()
        item.status = "resolved"
    assert 'id="open-count">1<' in admin.get("/projects/ACME").text
