"""The web workspace on the `filed` bot (ACME-1, ACME-2, HX-1) with three people.

- `admin` (every project), `lena` (pm of ACME), `wei` (viewer of HX, pages in Chinese).
`web` is a signed-out test client; `signed_in(name)` gives one signed in as that person.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from mailbot.accounts.users import add_user
from mailbot.web.app import create_app
from tests.support.queue_bot import Bot
from tests.support.queue_fixtures import bot, filed, filed_once  # noqa: F401

PASSWORD = "correct horse battery"
PEOPLE = {
    "admin": {"role": "admin", "projects": ()},
    "lena": {"role": "pm", "projects": ("ACME",), "display_name": "Lena Wu"},
    "wei": {"role": "viewer", "projects": ("HX",), "language": "zh-Hans"},
}
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    """The web app's time, which a test moves on."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def people(filed: Bot) -> Bot:  # noqa: F811
    # Mail a page queues stays queued, so tests see it; the test of sending at once turns
    # this back on.
    filed.config = dataclasses.replace(
        filed.config, web=dataclasses.replace(filed.config.web, send_at_once=False)
    )
    with filed.session() as session:
        for name, opts in PEOPLE.items():
            add_user(session, filed.config, name, PASSWORD, actor="test", **opts)  # type: ignore[arg-type]
    return filed


@pytest.fixture
def web(people: Bot, clock: Clock) -> Iterator[TestClient]:
    app = create_app(people.config, people.db, clock=clock)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    form = client.get("/login")
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf_of(form.text), "next": "/"}
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def signed_in(people: Bot, clock: Clock) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(name: str) -> TestClient:
        app = create_app(people.config, people.db, clock=clock)
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return sign_in(client, name)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)
