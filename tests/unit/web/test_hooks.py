"""POST /hooks/tracker/{KEY}: a tracker's webhook, verified by its signature, read back
from the tracker before the item moves."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailbot.config_types import Secret
from mailbot.connectors.webhooks import issue_id, signature
from mailbot.web.app import create_app
from tests.servers.trackers import FakeRedmine
from tests.support.pipeline import ACME, MaildirBot

SECRET = "hook-secret-1"


@pytest.fixture
def redmine() -> Iterator[FakeRedmine]:
    with FakeRedmine() as server:
        yield server


def post(client: TestClient, body: bytes, **headers: str) -> tuple[int, str]:
    answer = client.post(
        "/hooks/tracker/ACME",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )
    return answer.status_code, answer.json()["detail"]


def test_a_signed_notice_moves_the_item_and_mails_the_client(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    hooked = redmine.tracker_config(webhook_secret=Secret(key="k", value=SECRET), poll_interval=0)
    with MaildirBot(tmp_path, projects=(dataclasses.replace(ACME, tracker=hooked),)) as bot:
        bot.deliver("wang@acme.example", "Login fails", "The login page says 500.")
        bot.run()
        redmine.move(1, "Resolved")
        client = TestClient(create_app(bot.config, bot.db), base_url="https://testserver")
        body = json.dumps({"payload": {"action": "updated", "issue": {"id": 1}}}).encode()

        assert post(client, body)[0] == 401  # unsigned
        assert post(client, body, **{"X-Mailbot-Signature": signature("wrong", body)})[0] == 401
        assert bot.item("ACME-1").status == "acknowledged"

        status, detail = post(client, body, **{"X-Mailbot-Signature": signature(SECRET, body)})
        assert (status, detail) == (200, "#1: status applied")
        assert bot.item("ACME-1").status == "resolved"
        assert len(bot.outbox("status")) == 1
        # The same notice again (a retry, a replay) changes nothing.
        again = post(client, body, **{"X-Hub-Signature-256": signature(SECRET, body)})
        assert again == (200, "#1: nothing to change")
        assert post(client, body, **{"X-Gitlab-Token": SECRET})[0] == 200
        assert post(client, body, **{"X-Hub-Signature": signature(SECRET, body)})[0] == 200
        assert post(client, body, **{"X-Gitlab-Token": "wrong"})[0] == 401
        assert len(bot.outbox("status")) == 1


def test_a_forged_body_cannot_set_a_status_the_tracker_does_not_have(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    hooked = redmine.tracker_config(webhook_secret=Secret(key="k", value=SECRET), poll_interval=0)
    with MaildirBot(tmp_path, projects=(dataclasses.replace(ACME, tracker=hooked),)) as bot:
        bot.deliver("wang@acme.example", "Login fails")
        bot.run()
        client = TestClient(create_app(bot.config, bot.db), base_url="https://testserver")
        body = json.dumps({"issue": {"id": 1, "status": {"name": "Closed"}}}).encode()
        status, _ = post(client, body, **{"X-Mailbot-Signature": signature(SECRET, body)})
        assert status == 200
        assert bot.item("ACME-1").status == "acknowledged"  # Redmine still says New
        for bad, code in ((b"not json", 400), (b"{}", 400)):
            assert post(client, bad, **{"X-Mailbot-Signature": signature(SECRET, bad)})[0] == code


def test_a_project_without_a_webhook_secret_has_no_hook(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(
        tmp_path, projects=(dataclasses.replace(ACME, tracker=redmine.tracker_config()),)
    ) as bot:
        client = TestClient(create_app(bot.config, bot.db), base_url="https://testserver")
        body = b'{"issue": {"id": 1}}'
        assert post(client, body, **{"X-Mailbot-Signature": signature(SECRET, body)})[0] == 404


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ({"payload": {"issue": {"id": 12}}}, "12"),
        ({"issue": {"id": 12}}, "12"),
        ({"issue": {"id": 99991, "number": 5}}, "5"),
        ({"object_attributes": {"id": 777, "iid": 6}}, "6"),
        ({"issue": {"key": "ACME-7"}}, "ACME-7"),
        ({"nothing": 1}, None),
        ([1, 2], None),
    ],
)
def test_the_issue_is_found_in_each_trackers_shape(body: object, found: str | None) -> None:
    assert issue_id(body) == found
