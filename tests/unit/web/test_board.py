"""The change-request board: columns by stage, only the person's projects."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.testclient import TestClient

from mailbot.items.actions import set_status
from tests.support.queue_bot import Bot


def _column(html: str, stage: str) -> str:
    match = re.search(rf'data-stage="{stage}">(.*?)</section>', html, re.S)
    assert match, f"no {stage} column"
    return match.group(1)


def test_change_requests_stand_in_the_column_of_their_stage(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    lena = signed_in("lena")
    assert 'data-ref="ACME-2"' in _column(lena.get("/board").text, "submitted")
    with people.session() as session:
        set_status(session, people.config, "ACME-2", "approved", actor="lena")
    page = lena.get("/board?project=ACME").text
    assert 'data-ref="ACME-2"' in _column(page, "approved")
    assert 'data-ref="ACME-2"' not in _column(page, "submitted")


def test_the_board_shows_only_the_persons_projects(signed_in: Callable[[str], TestClient]) -> None:
    wei = signed_in("wei")
    assert 'data-ref="ACME-2"' not in wei.get("/board").text
    assert wei.get("/board?project=ACME").status_code == 404
    assert "变更请求" in wei.get("/board").text
