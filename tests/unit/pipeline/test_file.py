"""The file stage through the pipeline: items, threads, reopening, refs, noise, failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.config_types import AckConfig, ProjectConfig, SiteConfig
from mailbot.pipeline.machine import Pipeline, RunStats
from mailbot.storage.models import Event, Item, MessageState, StoredMessage
from tests.support.pipeline import MaildirBot, client_mail

ACME = ProjectConfig(key="ACME", name="ACME", client_domains=("acme.example",))


def mail(
    n: int,
    subject: str,
    sender: str = "anna@acme.example",
    reply_to: int | None = None,
    extra: str = "",
) -> bytes:
    return client_mail(
        f"Anna <{sender}>",
        subject,
        "Some text.",
        message_id=f"m{n}@acme.example",
        reply_to=f"m{reply_to}@acme.example" if reply_to else None,
        extra=extra,
    )


class Inbox(MaildirBot):
    """ACME alone, filing only: no acknowledgements, no site, no outbox."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(
            tmp_path,
            projects=(ACME,),
            site=SiteConfig(),
            outbox_dir=None,
            retry_delay=0.0,  # each run retries what failed in the last one
            acknowledgements=AckConfig(enabled=False),
        )


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Inbox]:
    with Inbox(tmp_path) as box:
        yield box


def test_a_thread_is_one_item_with_all_its_messages(inbox: Inbox) -> None:
    inbox.deliver_bytes(mail(1, "Login broken"))
    inbox.deliver_bytes(mail(2, "Re: Login broken", reply_to=1))
    inbox.run()
    inbox.deliver_bytes(mail(3, "Re: Login broken", reply_to=2))
    inbox.run()
    [item] = inbox.items()
    assert (item.ref, item.category, item.status, item.project_key) == (
        "ACME-1",
        "issue",
        "new",
        "ACME",
    )
    with inbox.db.session() as s:
        rows = s.scalars(select(StoredMessage).order_by(StoredMessage.id)).all()
        assert [r.item_id for r in rows] == [item.id] * 3
        assert {r.state for r in rows} == {MessageState.ANSWERED}
        assert [r.route["step"] for r in rows] == ["domain", "thread", "thread"]  # type: ignore[index]


def test_refs_are_per_project_and_monotonic(inbox: Inbox) -> None:
    for n, subject in enumerate(["Bug one", "Please change the logo", "Thanks!"], start=1):
        inbox.deliver_bytes(mail(n, subject))
    inbox.deliver_bytes(mail(4, "Hello", sender="stranger@elsewhere.example"))
    inbox.run()
    got = [(i.ref, i.category, i.status) for i in inbox.items()]
    assert got == [
        ("ACME-1", "issue", "new"),
        ("ACME-2", "change_request", "submitted"),
        ("ACME-3", "feedback", "received"),
        ("TRIAGE-1", "issue", "new"),
    ]


def test_still_broken_reopens_a_resolved_issue_and_thanks_does_not(inbox: Inbox) -> None:
    inbox.deliver_bytes(mail(1, "Export fails"))
    inbox.run()
    with inbox.db.session() as s:
        s.scalars(select(Item)).one().status = "resolved"
    inbox.deliver_bytes(mail(2, "Re: Export fails, thanks", reply_to=1))
    inbox.run()
    assert inbox.items()[0].status == "resolved"  # feedback on the item, no new item
    inbox.deliver_bytes(mail(3, "Re: Export fails again", reply_to=1))
    inbox.run()
    [item] = inbox.items()
    assert item.status == "reopened" and item.escalate
    with inbox.db.session() as s:
        status = s.scalars(select(Event).where(Event.kind == "status")).one()
        assert status.detail["from"] == "resolved" and status.detail["to"] == "reopened"


def test_an_unsure_issue_verdict_on_a_resolved_issue_goes_to_review_instead(inbox: Inbox) -> None:
    inbox.deliver_bytes(mail(1, "Export fails"))
    inbox.run()
    with inbox.db.session() as s:
        s.scalars(select(Item)).one().status = "resolved"
    inbox.deliver_bytes(mail(2, "Re: Export fails (unsure)", reply_to=1))
    inbox.run()
    [item] = inbox.items()
    assert (item.status, item.escalate, item.needs_review) == ("resolved", False, True)
    with inbox.db.session() as s:
        review = s.scalars(select(Event).where(Event.kind == "review")).one()
        assert "closed issue" in review.detail["reasons"][0]


def test_noise_is_stored_but_not_filed_as_an_item(inbox: Inbox) -> None:
    inbox.deliver_bytes(mail(1, "Automatic reply: away", extra="Auto-Submitted: auto-replied\r\n"))
    inbox.run()
    assert inbox.items() == []
    with inbox.db.session() as s:
        row = s.scalars(select(StoredMessage)).one()
        assert (row.state, row.category) == (MessageState.ANSWERED, "none")


def test_a_filing_failure_is_retried_then_set_aside(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailbot.pipeline.stages

    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError("bug in filing")

    monkeypatch.setattr(mailbot.pipeline.stages, "file_message", broken)
    inbox.deliver_bytes(mail(1, "Bug"))
    inbox.deliver_bytes(mail(2, "Another bug"))
    for _ in range(3):
        inbox.run()
    with inbox.db.session() as s:
        states = s.scalars(select(StoredMessage.state)).all()
        assert states == [MessageState.SET_ASIDE] * 2
        assert (
            s.scalar(select(func.count()).select_from(Event).where(Event.kind == "set_aside")) == 2
        )
    monkeypatch.undo()
    inbox.run()  # set aside means set aside: not retried any more
    assert inbox.items() == []


def test_a_crash_between_store_and_filing_is_finished_next_run(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox.deliver_bytes(mail(1, "Bug"))
    # As if killed after the intake, before any later stage.
    monkeypatch.setattr(Pipeline, "advance", lambda self, failed_now=None, **_: RunStats())
    inbox.run()
    assert inbox.items() == []
    monkeypatch.undo()
    inbox.run()
    assert [i.ref for i in inbox.items()] == ["ACME-1"]


def test_items_and_route_commands(
    inbox: Inbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from mailbot.cli import main

    cfg = tmp_path / "mailbot.toml"
    cfg.write_text(
        f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{inbox.root}"\n'
        f'[database]\nurl = "sqlite:///mb.sqlite3"\n[triage]\nenabled = false\n'
        '[[projects]]\nkey = "ACME"\nname = "ACME"\nclient_domains = ["acme.example"]\n'
    )
    inbox.deliver_bytes(mail(1, "Login broken"))
    inbox.deliver_bytes(mail(2, "Re: Login broken", reply_to=1))
    assert main(["--config", str(cfg), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "items", "--json"]) == 0
    [item] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert item["ref"] == "ACME-1" and item["message_ids"] == ["m1@acme.example", "m2@acme.example"]
    assert item["needs_review"] is True  # triage off: a person classifies it
    follow_up = tmp_path / "follow.eml"
    follow_up.write_bytes(mail(3, "Re: Login broken", reply_to=2))
    stranger = tmp_path / "stranger.eml"
    stranger.write_bytes(mail(4, "Hi", sender="x@elsewhere.example"))
    assert main(["--config", str(cfg), "route", "--json", str(follow_up), str(stranger)]) == 0
    routes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (routes[0]["item"], routes[0]["step"]) == ("ACME-1", "thread")
    assert (routes[1]["project"], routes[1]["step"]) == (None, "unassigned")
