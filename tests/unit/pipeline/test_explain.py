"""`explain` runs the real stages for one mail and keeps nothing."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.cli import main
from mailbot.config_types import AuthPolicy
from mailbot.pipeline.explain import explain
from mailbot.pipeline.trust import TrustChecks
from mailbot.storage.models import Event, Item, OutboxMail, StoredMessage
from tests.support.fake_triage import SubjectTriage
from tests.support.pipeline import client_mail
from tests.unit.pipeline.test_stage_failures import Inbox


def counts(inbox: Inbox) -> tuple[int, ...]:
    with inbox.db.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0
            for t in (StoredMessage, Item, OutboxMail, Event)
        )


def eml(message_id: str, subject: str, reply_to: str | None = None) -> bytes:
    return client_mail(
        "Anna <anna@acme.example>",
        subject,
        "The export fails.",
        message_id=message_id,
        date=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        reply_to=reply_to,
    )


def test_every_stage_decides_and_nothing_is_kept(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    inbox.deliver_bytes(eml("first@acme.example", "Export fails"))
    pipeline = inbox.pipeline()
    pipeline.run_once()
    before = counts(inbox)

    def run(data: bytes) -> dict[str, dict[str, object]]:
        return explain(
            inbox.config,
            inbox.db,
            data,
            triage=SubjectTriage(),
            acknowledger=pipeline.acknowledger,
            hooks=pipeline.hooks,
        ).stages

    new = run(eml("second@acme.example", "Please change the logo"))
    assert new["classify"]["category"] == "change_request"
    assert new["route"]["step"] == "domain" and new["file"]["item"] == "ACME-2"
    assert new["answer"]["mail"][0]["to"] == ["anna@acme.example"]
    follow_up = run(eml("third@acme.example", "Re: Export fails", reply_to="first@acme.example"))
    assert follow_up["route"]["step"] == "thread" and follow_up["file"]["item"] == "ACME-1"
    assert "follow-up" in str(follow_up["answer"]["decision"])
    assert follow_up["answer"]["mail"] == []
    checks = follow_up["answer"]["checks"]
    assert [c.split(":")[0] for c in checks][-1] == "follow_up"  # the check that said no
    assert checks[0] == "enabled: on"
    # A mail stored already: what was decided then, from the record.
    again = run(eml("first@acme.example", "Export fails"))
    assert again["store"]["duplicate_of"] == 1 and again["file"]["item"] == "ACME-1"
    assert str(again["answer"]["decision"]).startswith("queued")
    assert counts(inbox) == before  # nothing stored, filed or queued


def test_the_command_prints_json_and_explains_a_bad_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = Inbox(tmp_path)
    cfg = tmp_path / "mailbot.toml"
    cfg.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{inbox.root}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/mb.sqlite3"\n[triage]\nenabled = false\n'
        '[[projects]]\nkey = "ACME"\nname = "ACME"\nclient_domains = ["acme.example"]\n'
    )
    mail = tmp_path / "mail.eml"
    mail.write_bytes(eml("x@acme.example", "Export fails"))
    assert main(["--config", str(cfg), "explain", "--json", str(mail)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["stages"]) == ["parse", "classify", "route", "file", "answer"]
    assert out["stages"]["file"]["item"] == "ACME-1"
    assert main(["--config", str(cfg), "explain", str(tmp_path / "missing.eml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_explain_shows_who_sent_it_and_why_nothing_is_answered(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path)
    pipeline = inbox.pipeline()
    trusted = dataclasses.replace(
        inbox.config, authentication=AuthPolicy(trusted_authserv_ids=("mx.agency.example",))
    )
    forged = client_mail(
        "Anna <anna@acme.example>",
        "New bank details",
        "Please pay to the new account.",
        message_id="forged@acme.example",
        extra="Authentication-Results: mx.agency.example; dmarc=fail header.from=acme.example\r\n",
    )
    stages = explain(
        trusted,
        inbox.db,
        forged,
        triage=SubjectTriage(),
        acknowledger=pipeline.acknowledger,
        hooks=pipeline.hooks,
        trust=TrustChecks(trusted),
    ).stages
    assert stages["classify"]["sender"]["status"] == "failed"
    assert stages["classify"]["spam"]["status"] == "ham"
    assert stages["classify"]["needs_review"] is True
    assert "possible impersonation" in stages["answer"]["decision"]
