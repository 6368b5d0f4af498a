"""`mailbot queue ...`: the JSON contracts scripts rely on, errors, tables and discovery."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

import mailbot.cli.queue
from mailbot.storage.models import Event, Item
from tests.support.queue_bot import Bot

Capture = pytest.CaptureFixture[str]
SUMMARY_KEYS = {
    "ref", "project", "category", "status", "title", "client", "client_name", "language",
    "assignee", "confidence", "needs_review", "escalate", "flags", "created_at", "age_seconds",
    "sla_due_at", "sla", "first_response_at",
}  # fmt: skip


def refs(rows: list[dict[str, object]]) -> list[object]:
    return [row["ref"] for row in rows]


def test_list_json_contract(filed: Bot, capsys: Capture) -> None:
    rows = filed.cli_json(capsys, "queue", "list")
    assert refs(rows) == ["ACME-1", "ACME-2", "HX-1"]
    assert set(rows[0]) == SUMMARY_KEYS
    first = rows[0]
    assert (first["category"], first["status"], first["client"]) == (
        "issue",
        "acknowledged",
        "anna@acme.example",
    )
    assert first["sla"] == "due" and first["flags"] == ""
    due = datetime.fromisoformat(first["sla_due_at"]) - datetime.fromisoformat(first["created_at"])
    assert due == timedelta(hours=4)


def test_list_filters(filed: Bot, capsys: Capture) -> None:
    assert refs(filed.cli_json(capsys, "queue", "list", "--project", "hx")) == ["HX-1"]
    got = filed.cli_json(capsys, "queue", "list", "--category", "change_request")
    assert refs(got) == ["ACME-2"]
    assert refs(filed.cli_json(capsys, "queue", "list", "--search", "登录")) == ["HX-1"]
    # Found in a follow-up's new text, not in the title.
    assert refs(filed.cli_json(capsys, "queue", "list", "--search", "paypal")) == ["ACME-1"]
    assert filed.cli_json(capsys, "queue", "list", "--search", "100%") == []
    assert filed.cli_json(capsys, "queue", "list", "--needs-review") == []
    assert filed.cli_json(capsys, "queue", "list", "--unassigned") == []
    assert filed.cli_json(capsys, "queue", "list", "--older-than", "1h") == []
    assert filed.cli_json(capsys, "queue", "list", "--escalated") == []


def test_overdue_and_older_than(filed: Bot, capsys: Capture) -> None:
    with filed.session() as s:  # ACME-1 and ACME-2 came in five hours ago
        five_hours_ago = datetime.now(UTC) - timedelta(hours=5)
        s.execute(update(Item).where(Item.project_key == "ACME").values(created_at=five_hours_ago))
    assert refs(filed.cli_json(capsys, "queue", "list", "--older-than", "3h")) == [
        "ACME-1",
        "ACME-2",
    ]
    rows = filed.cli_json(capsys, "queue", "list", "--overdue")
    assert refs(rows) == ["ACME-1"]  # the change request has 24 hours
    assert rows[0]["sla"] == "breached" and "L" in rows[0]["flags"]


def test_closed_items_only_with_all_or_a_status(filed: Bot, capsys: Capture) -> None:
    filed.cli_json(capsys, "queue", "status", "ACME-1", "closed")
    assert "ACME-1" not in refs(filed.cli_json(capsys, "queue", "list"))
    assert "ACME-1" in refs(filed.cli_json(capsys, "queue", "list", "--all"))
    assert refs(filed.cli_json(capsys, "queue", "list", "--status", "closed")) == ["ACME-1"]


def test_show_json_contract(filed: Bot, capsys: Capture) -> None:
    detail = filed.cli_json(capsys, "queue", "show", "acme-1")
    assert set(detail) >= SUMMARY_KEYS
    assert {"old_refs", "merged_into", "impact", "messages", "events"} <= set(detail)
    first, second = detail["messages"]
    assert (first["message_id"], second["message_id"]) == ("m1@client", "m4@client")
    assert first["new_text"] == "Error 500 when we pay."
    assert first["reasons"] == ["decided by test subject rule"]
    assert first["route"]["step"] == "domain" and first["route"]["explanation"]
    assert second["route"]["step"] == "thread"
    kinds = [e["kind"] for e in detail["events"]]
    assert {"stored", "created", "filed", "status"} <= set(kinds)


def test_move_then_show_by_the_old_ref(filed: Bot, capsys: Capture) -> None:
    moved = filed.cli_json(capsys, "queue", "move", "ACME-2", "HX", "--reason", "wrong client")
    assert moved == {"ref": "HX-2", "old_ref": "ACME-2", "project": "HX"}
    detail = filed.cli_json(capsys, "queue", "show", "ACME-2")
    assert detail["ref"] == "HX-2" and detail["old_refs"] == ["ACME-2"]


def test_every_action_json_and_the_actor(
    filed: Bot, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "lena")
    assert filed.cli_json(capsys, "queue", "reclassify", "ACME-2", "issue") == {
        "ref": "ACME-2",
        "category": "issue",
        "status": "new",
    }
    assert filed.cli_json(capsys, "queue", "assign", "ACME-2", "dev@agency.example") == {
        "ref": "ACME-2",
        "assignee": "dev@agency.example",
    }
    note = filed.cli_json(capsys, "queue", "note", "ACME-2", "called", "the", "client")
    assert note["ref"] == "ACME-2" and note["text"] == "called the client"
    split = filed.cli_json(capsys, "queue", "split", "m4@client", "--actor", "max")
    assert split == {"ref": "ACME-3", "category": "issue", "status": "new"}
    merged = filed.cli_json(capsys, "queue", "merge", "ACME-3", "ACME-1")
    assert merged == {"ref": "ACME-3", "merged_into": "ACME-1", "status": "merged"}
    with filed.session() as s:
        actors = {e.kind: e.actor for e in s.scalars(select(Event)) if e.actor != "mailbot"}
    assert actors == {
        "reclassified": "lena",
        "assigned": "lena",
        "note": "lena",
        "created": "max",
        "split": "max",
        "merged": "lena",
        "merged_from": "lena",
    }


def test_status_notify_json_and_the_mail_written(filed: Bot, capsys: Capture) -> None:
    before = set(filed.outbox_files())
    result = filed.cli_json(
        capsys, "queue", "status", "HX-1", "in_progress", "--notify", "--note", "已安排工程师"
    )
    assert result["ref"] == "HX-1" and result["status"] == "in_progress"
    assert result["notified"].endswith("@agency.example") and result["delivered_now"] == 1
    [new] = set(filed.outbox_files()) - before
    mail = message_from_bytes(new.read_bytes(), policy=policy.default)
    assert mail["In-Reply-To"] == "<m3@client>"
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "HX-1" in body and "已安排工程师" in body and "已经开始处理" in body
    # Nothing more on the next pipeline run.
    filed.run()
    assert len(set(filed.outbox_files()) - before) == 1


def test_errors_are_plain_words_with_what_to_do(filed: Bot, capsys: Capture) -> None:
    code, out, err = filed.cli(capsys, "queue", "show", "NOPE-1")
    assert code == 2 and out == ""
    assert "[MB950] no item 'NOPE-1'" in err and "what to do:" in err
    code, _, err = filed.cli(capsys, "queue", "status", "ACME-2", "resolved")
    assert code == 2 and "[MB700]" in err and "allowed next: under_review, approved" in err
    code, _, err = filed.cli(capsys, "queue", "list", "--older-than", "3 days")
    assert code == 2 and "30m, 12h, 3d or 2w" in err


def test_tables_for_people(filed: Bot, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # rich draws for 80 columns when not on a terminal
    code, out, _ = filed.cli(capsys, "queue", "list")
    assert code == 0
    for text in ("ACME-1", "HX-1", "acknowledged", "SLA due", "Checkout fails", "flags:"):
        assert text in out
    code, out, _ = filed.cli(capsys, "queue", "show", "ACME-1")
    assert code == 0
    for text in ("ACME-1", "Also with PayPal.", "decided by test subject rule", "history"):
        assert text in out


def test_a_long_queue_is_shown_a_page_at_a_time(
    filed: Bot, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    every = refs(filed.cli_json(capsys, "queue", "list"))
    assert len(every) >= 2
    first = refs(filed.cli_json(capsys, "queue", "list", "--limit", "1"))
    second = refs(filed.cli_json(capsys, "queue", "list", "--limit", "1", "--page", "2"))
    assert first + second == every[:2]
    code, out, _ = filed.cli(capsys, "queue", "list", "--limit", "1")
    assert code == 0 and every[0] in out and every[1] not in out
    assert f"1-1 of {len(every)} shown: --page 2 for the next 1" in out
    code, out, _ = filed.cli(capsys, "queue", "list", "--limit", "0")
    assert code == 0 and all(ref in out for ref in every) and "shown:" not in out
    code, _, err = filed.cli(capsys, "queue", "list", "--page", "0")
    assert code != 0 and "--limit 0 shows all" in err


def test_sub_commands_added_later_are_found(
    filed: Bot, capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "cmd_later.py").write_text(
        "import argparse\nNAME = 'later'\nHELP = 'added later'\n"
        "def add_arguments(parser):\n"
        "    parser.add_argument('ref')\n"
        "    parser.add_argument('--json', action='store_true', help='its own --json')\n"
        "def run(args):\n"
        "    print('later', args.ref, args.json, args.actor)\n"
        "    return 0\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(mailbot.cli.queue, "__path__", [*mailbot.cli.queue.__path__, str(extra)])
    monkeypatch.delitem(sys.modules, "mailbot.cli.queue.cmd_later", raising=False)
    code, out, _ = filed.cli(capsys, "queue", "later", "ACME-2", "--json", "--actor", "lena")
    assert code == 0 and out == "later ACME-2 True lena\n"


def test_a_reader_that_goes_away_is_not_an_error(
    filed: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import sys

    from mailbot.cli import main

    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` has read what it wanted and left
    saved = os.dup(1)
    broken = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdout", broken)
    try:
        code = main(["--config", str(filed.config_path), "items", "--json"])
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert code == 0
