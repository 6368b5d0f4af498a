"""The health page: admins only; the quick checks from the database, doctor on demand."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient


def test_admins_see_the_health_of_the_site(signed_in: Callable[[str], TestClient]) -> None:
    admin = signed_in("admin")
    quick = admin.get("/health")
    assert quick.status_code == 200
    assert 'data-check="last fetch"' in quick.text and 'data-check="outbox pending"' in quick.text
    assert 'id="run-doctor"' in quick.text
    full = admin.get("/health?doctor=1")
    assert full.status_code == 200
    assert 'data-check="config"' in full.text and 'data-check="database"' in full.text
    assert 'data-check="maildir"' in full.text  # the bot's Maildir mailbox was looked at


def test_nobody_else_does(signed_in: Callable[[str], TestClient]) -> None:
    assert signed_in("lena").get("/health").status_code == 403
    wei = signed_in("wei")
    page = wei.get("/health")
    assert page.status_code == 403
    assert "/health" not in wei.get("/").text  # not in the menu either
