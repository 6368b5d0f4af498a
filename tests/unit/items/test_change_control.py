"""Reading a client's answer, the impact assessment, the approval request and their commands."""

from __future__ import annotations

import json as _json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, ProjectConfig, SiteConfig
from mailbot.items.change_control import (
    ChangeControlError,
    assess,
    find_item,
    interpret_reply,
    load_phrases,
    request_approval,
)
from mailbot.outgoing.templates import TemplateLibrary
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Blob, Event, Item, OutboxMail, StoredMessage

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

APPROVALS = [
    "Approved, please go ahead.",
    "Approved.",
    "OK to proceed.",
    "Yes, go ahead!",
    "We approve the change. Thanks!",
    "No problem, go ahead.",
    "Approved. Can you start on Monday?",  # the question is about something else
    "APPROVED",
    "同意，请尽快安排。",
    "同意。",
    "批准",
    "可以，就按这个方案。",
    "没问题，按这个做",
    "沒問題，按這個做。",
    "同意！谢谢",
]
REJECTIONS = [
    "Rejected.",
    "Not approved.",
    "We decline, too expensive.",
    "We do not approve this change.",
    "We don’t approve this.",  # a curly apostrophe
    "Please do not proceed.",
    "不同意",
    "不同意，预算不够。",
    "暂不做了，谢谢",
    "先不做",
    "不批准",
    "不可以",
    "拒绝。",
]
AMBIGUOUS = [
    "",
    "Let me check with my boss",
    "Thanks for the assessment.",
    "can we approve later?",  # a question
    "Could we go ahead next month?",
    "Approved? I thought that was agreed already.",
    "可以吗？",
    "是否可以先做一部分",
    "We cannot go ahead with this.",  # negated approval, not a listed rejection
    "I'm not sure we can go ahead",
    "我们不太同意",  # "同意" with a negation before it
    "Approved. Rejected.",  # both
    "同意第一部分，第二部分不同意。",
    "Approved if you can deliver by Friday.",  # a condition
    "Approved. But let me check with finance first.",
    "同意，不过预算要再商量。",
    "我问一下领导再回复您",
    "好的，收到",
]


@pytest.mark.parametrize("text", APPROVALS)
def test_clear_approvals(text: str) -> None:
    decision = interpret_reply(text)
    assert decision.kind == "approve", decision.evidence
    assert decision.evidence.startswith('"')  # the client's own words, quoted


@pytest.mark.parametrize("text", REJECTIONS)
def test_clear_rejections(text: str) -> None:
    decision = interpret_reply(text)
    assert decision.kind == "reject", decision.evidence


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_everything_else_is_ambiguous(text: str) -> None:
    assert interpret_reply(text).kind == "ambiguous"


def test_ambiguity_is_explained() -> None:
    assert "question" in interpret_reply("can we approve later?").evidence
    assert "negation" in interpret_reply("我们不太同意").evidence
    assert "both" in interpret_reply("Approved. Rejected.").evidence
    assert "let me check" in interpret_reply("Let me check with my boss").evidence
    assert "no approval or rejection" in interpret_reply("Thanks.").evidence


def test_words_inside_other_words_do_not_count() -> None:
    assert interpret_reply("I disagree.").kind == "reject"  # not "agree"
    assert interpret_reply("The proceedings were fine.").kind == "ambiguous"  # not "proceed"


def test_a_broken_phrases_file_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "phrases.toml"
    path.write_text("version = 1\n[approve]\nphrases = ['ok']\n", encoding="utf-8")
    with pytest.raises(ChangeControlError, match="cannot read the approval phrases") as err:
        load_phrases(path)
    assert "[reject]" in err.value.hint


# --- assessment and approval request ---------------------------------------------------

ACME = ProjectConfig(key="ACME", name="ACME web shop", client_domains=("acme.example",))


def client_mail(subject: str) -> bytes:
    return (
        f"From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\nSubject: {subject}\r\n"
        "Message-ID: <c1@client>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease add a region filter.\r\n"
    ).encode()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(f"sqlite:///{tmp_path}/mb.sqlite3")
    yield database  # type: ignore[misc]
    database.dispose()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    box = MailboxConfig(name="local", kind="maildir", path=tmp_path / "md", folders=Folders())
    return Config(
        mailboxes=(box,),
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
        projects=(ACME,),
        site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
    )


def add_item(db: Database, category: str = "change_request", status: str = "submitted") -> None:
    raw = client_mail("Region filter")
    with db.session() as s:
        s.add(Blob(sha256="a" * 64, size=len(raw), data=raw))
        item = Item(
            ref="ACME-1",
            project_key="ACME",
            number=1,
            category=category,
            status=status,
            title="Region filter",
            client_email="anna@acme.example",
            client_name="Anna",
            language="en",
        )
        s.add(item)
        s.flush()
        s.add(
            StoredMessage(
                sha256="a" * 64,
                message_id="c1@client",
                from_email="anna@acme.example",
                from_name="Anna",
                subject="Region filter",
                subject_normalized="Region filter",
                item_id=item.id,
                account="local",
                folder="INBOX",
                state="filed",
            )
        )


def test_assess_stores_the_impact_and_puts_it_under_review(db: Database) -> None:
    add_item(db)
    with db.session() as s:
        item = find_item(s, "acme-1")
        assess(s, item, effort="3 days", schedule="+1 week", cost="EUR 2,400", actor="lena")
    with db.session() as s:
        item = find_item(s, "ACME-1")
        assert item.status == "under_review"
        assert item.impact is not None and item.impact["cost"] == "EUR 2,400"
        kinds = [e.kind for e in s.scalars(select(Event).order_by(Event.id))]
        assert kinds == ["status", "impact_assessed"]


def test_assess_refuses_what_is_not_an_open_change_request(db: Database) -> None:
    add_item(db, category="issue", status="new")
    with db.session() as s, pytest.raises(ChangeControlError, match="not a change request"):
        assess(s, find_item(s, "ACME-1"), effort="1 day", schedule="", cost="", actor="lena")
    with db.session() as s, pytest.raises(ChangeControlError, match="no item"):
        find_item(s, "ACME-99")


def test_assess_needs_a_figure(db: Database) -> None:
    add_item(db)
    with db.session() as s, pytest.raises(ChangeControlError, match="effort, the schedule or"):
        assess(s, find_item(s, "ACME-1"), effort=" ", schedule=None, cost="", actor="lena")


def test_request_approval_needs_an_assessment(db: Database, config: Config) -> None:
    add_item(db)
    with db.session() as s, pytest.raises(ChangeControlError, match="no impact assessment"):
        request_approval(s, config, find_item(s, "ACME-1"), actor="lena", now=NOW)


def test_a_new_assessment_needs_a_new_request(db: Database, config: Config) -> None:
    add_item(db)
    with db.session() as s:
        item = find_item(s, "ACME-1")
        assess(s, item, effort="3 days", schedule="", cost="EUR 2,400", actor="lena")
        first = request_approval(s, config, item, actor="lena", now=NOW)
        assess(s, item, effort="5 days", schedule="", cost="EUR 4,000", actor="lena")
        assert item.approval_requested_at is None
        second = request_approval(s, config, item, actor="lena", now=NOW)
        assert first is not None and second is not None
        assert first.message_id != second.message_id
        assert b"EUR 4,000" in second.raw or "EUR 4,000" in _text(second)


def test_the_same_figures_assessed_again_are_asked_again(db: Database, config: Config) -> None:
    add_item(db)
    with db.session() as s:
        item = find_item(s, "ACME-1")
        assess(s, item, effort="3 days", schedule="", cost="", actor="lena", now=NOW)
        assert request_approval(s, config, item, actor="lena", now=NOW) is not None
        later = NOW + timedelta(days=1)
        assess(s, item, effort="3 days", schedule="", cost="", actor="lena", now=later)
        assert request_approval(s, config, item, actor="lena", now=later) is not None
        assert item.approval_requested_at == later


def _text(outbox: OutboxMail) -> str:
    from email import message_from_bytes, policy

    mail = message_from_bytes(outbox.raw, policy=policy.default)
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


# --- the queue commands ----------------------------------------------------------------


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "mailbot.toml"
    lines = [
        "[mailbox]",
        'name = "local"',
        'kind = "maildir"',
        f"path = {_json.dumps(str(tmp_path / 'md'))}",
        "[database]",
        f"url = {_json.dumps(f'sqlite:///{tmp_path}/mb.sqlite3')}",
        "[site]",
        'name = "Agency"',
        'address = "team@agency.example"',
        "[[projects]]",
        'key = "ACME"',
        'name = "ACME web shop"',
        'client_domains = ["acme.example"]',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_queue_commands_assess_and_request_approval(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.cli import main

    add_item(db)
    path = str(write_config(tmp_path))
    assess_args = ["ACME-1", "--effort", "3 days", "--cost", "EUR 2,400", "--actor", "lena"]
    assert main(["--config", path, "queue", "assess", *assess_args]) == 0
    assert main(["--config", path, "queue", "request-approval", "ACME-1"]) == 0
    assert main(["--config", path, "queue", "request-approval", "ACME-1", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ACME-1 is under_review; impact recorded."
    assert "approval request to anna@acme.example queued" in out[2]
    assert _json.loads(out[3])["queued"] is None  # asked once per assessment
    with db.session() as s:
        [mail] = s.scalars(select(OutboxMail)).all()
        assert mail.kind == "approval" and mail.rcpt_to == ["anna@acme.example"]
        assert find_item(s, "ACME-1").approval_requested_at is not None
        actors = {e.kind: e.actor for e in s.scalars(select(Event))}
        assert actors["impact_assessed"] == "lena"


def test_the_queue_commands_explain_what_cannot_be_done(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.cli import main

    add_item(db)
    path = str(write_config(tmp_path))
    assert main(["--config", path, "queue", "request-approval", "ACME-1"]) == 2
    err = capsys.readouterr().err
    assert "[MB710] ACME-1 has no impact assessment" in err
    assert "what to do: assess it first: mailbot queue assess ACME-1" in err


# --- templates -------------------------------------------------------------------------

IMPACT = {"effort": "3 days", "schedule": "+1 week", "cost": "EUR 2,400", "notes": "See plan."}


@pytest.mark.parametrize(
    ("language", "facts"),
    [
        ("en", ["ACME-1", "EUR 2,400", '"Approved"', '"Rejected"', "Nothing changes"]),
        ("zh-Hans", ["ACME-1", "EUR 2,400", "“同意”", "“不同意”", "在您确认批准之前"]),
        ("zh-Hant", ["ACME-1", "EUR 2,400", "「同意」", "「不同意」", "在您核准之前"]),
    ],
)
def test_every_approval_template_renders(language: str, facts: list[str]) -> None:
    context = {
        "ref": "ACME-1",
        "project": {"name": "ACME web shop", "key": "ACME"},
        "client_name": "",
        "subject": "Region filter <b>",
        "impact": IMPACT,
        "pm_name": "Lena Wu",
        "team_signature": "Agency",
    }
    rendered = TemplateLibrary().render("approval", "change_request", language, context)
    assert rendered.language_used == language and rendered.html is not None
    for fact in facts:
        assert fact in rendered.text
    assert "Region filter <b>" in rendered.text and "&lt;b&gt;" in rendered.html
    # The approval phrases we ask for are read back as such.
    assert interpret_reply(facts[2].strip('"“”「」')).kind == "approve"
    assert interpret_reply(facts[3].strip('"“”「」')).kind == "reject"


@pytest.mark.parametrize(
    ("kind", "category", "language", "fmt"),
    [
        ("approval", "ambiguous", "en", "txt"),
        ("approval", "ambiguous", "zh-Hans", "txt"),
        ("escalation", "notice", "en", "html"),
        ("escalation", "notice", "zh-Hans", "html"),
    ],
)
def test_every_pm_notice_template_renders(
    kind: str, category: str, language: str, fmt: str
) -> None:
    context = {
        "ref": "ACME-1",
        "project": {"name": "ACME web shop", "key": "ACME"},
        "status": "under_review",
        "pm_name": "Lena Wu",
        "team_signature": "Agency",
        "client": "Anna <anna@acme.example>",
        "subject": "Region filter",
        "new_text": "Let me check with my boss",
        "evidence": "no approval or rejection in the answer",
        "reasons": ["escalate.urgent.en: Asks for urgent handling"],
    }
    rendered = TemplateLibrary().render(kind, category, language, context)
    assert rendered.language_used == language
    assert "ACME-1" in rendered.text and "Let me check with my boss" in rendered.text
    assert (rendered.html is not None) == (fmt == "html")


@pytest.mark.parametrize("language", ["en", "zh-Hans", "zh-Hant"])
@pytest.mark.parametrize(
    ("status", "facts"),
    [
        ("approved", {"en": "approval", "zh-Hans": "同意实施", "zh-Hant": "同意執行"}),
        ("rejected", {"en": "not to be done", "zh-Hans": "暂不实施", "zh-Hant": "暫不執行"}),
    ],
)
def test_every_decision_template_renders(status: str, facts: dict[str, str], language: str) -> None:
    context = {
        "ref": "ACME-1",
        "project": {"name": "ACME web shop", "key": "ACME"},
        "client_name": "Anna",
        "subject": "Region filter",
        "pm_name": "Lena Wu",
        "team_signature": "Agency",
    }
    rendered = TemplateLibrary().render("decision", status, language, context)
    assert rendered.language_used == language and rendered.html is not None
    assert facts[language] in rendered.text and "ACME-1" in rendered.text
    assert facts[language] in rendered.html
