"""`mailbot pushes list | requeue`: what did not reach the tracker or chat, sent again."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from mailbot.connectors import pushes
from mailbot.storage.models import Event, Push, PushState
from tests.support.queue_bot import Bot

Capture = pytest.CaptureFixture[str]


def test_a_person_sees_and_sends_again_what_was_set_aside(bot: Bot, capsys: Capture) -> None:
    code, out, _ = bot.cli(capsys, "pushes", "list")
    assert code == 0 and out == "nothing is waiting for the tracker or the chat\n"
    with bot.session() as session:
        made = pushes.enqueue(
            session,
            connector="tracker:ACME",
            kind="create",
            dedupe_key="create:1",
            payload={"ref": "ACME-1"},
        )
        assert made is not None
        session.execute(
            update(Push).values(
                state=PushState.FAILED, attempts=3, last_error="POST /issues.json answered 422"
            )
        )
    code, out, _ = bot.cli(capsys, "pushes", "list")
    assert out.startswith(f"{made.id}  create to tracker:ACME  ACME-1  failed, 3 tries: POST")
    code, out, _ = bot.cli(capsys, "pushes", "list", "--json")
    assert json.loads(out)["error"] == "POST /issues.json answered 422"
    code, out, _ = bot.cli(capsys, "pushes", "requeue", str(made.id), "--actor", "lena")
    assert code == 0 and out == f"push {made.id} goes again at the daemon's next turn\n"
    with bot.session() as session:
        row = session.get(Push, made.id)
        assert row is not None and (row.state, row.attempts) == (PushState.PENDING, 0)
        (event,) = session.query(Event).filter(Event.kind == "push_requeued").all()
        assert event.actor == "lena" and event.detail["attempts"] == 3
    code, _, err = bot.cli(capsys, "pushes", "requeue", "999")
    assert code != 0 and "push 999 is not waiting" in err
