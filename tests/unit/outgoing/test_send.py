"""send_templated: the language, the shared context, threading from the stored columns, one row."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, ProjectConfig, SiteConfig
from mailbot.message import Address
from mailbot.outgoing.compose import ComposeError
from mailbot.outgoing.send import (
    Audience,
    choose_language,
    send_templated,
    shared_context,
    template_library,
)
from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Blob, Item, OutboxMail, StoredMessage

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
ACME = ProjectConfig(
    key="ACME",
    name="ACME web shop",
    client_domains=("acme.example",),
    language="zh-Hans",
    pm="pm@agency.example",
    pm_name="Lena Wu",
)
NOTICE = {"reasons": ["urgent"], "client": "Anna <anna@acme.example>", "new_text": "Help."}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    box = MailboxConfig(name="local", kind="maildir", path=tmp_path / "md", folders=Folders())
    return Config(
        mailboxes=(box,),
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
        projects=(ACME,),
        site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
    )


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    database = open_database(config.database_url)
    yield database
    database.dispose()


def add_item(session: Session, *, language: str | None = "en", **row: Any) -> StoredMessage:
    """An item and the client's mail as the parse stage stores it; the bytes are not a mail."""
    session.add(Blob(sha256="a" * 64, size=7, data=b"garbage"))
    item = Item(
        ref="ACME-7",
        project_key="ACME",
        number=7,
        category="issue",
        status="resolved",
        title="Export times out",
        client_email="anna@acme.example",
        client_name="Anna",
        language=language,
    )
    session.add(item)
    session.flush()
    values: dict[str, Any] = {
        "message_id": "c1@client",
        "references": ["root@client"],
        "from_email": "anna@acme.example",
        "from_name": "Anna",
        "recipients": {"to": [], "cc": [], "reply_to": []},
        "subject": "Re: Export times out",
        "subject_normalized": "Export times out",
        **row,
    }
    stored = StoredMessage(
        sha256="a" * 64, item_id=item.id, account="local", folder="INBOX", state="filed", **values
    )
    session.add(stored)
    session.flush()
    return stored


def parsed(row: OutboxMail) -> EmailMessage:
    mail = message_from_bytes(row.raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def body(mail: EmailMessage) -> str:
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return str(text).replace("\r\n", "\n")


def status_mail(session: Session, config: Config, row: StoredMessage) -> OutboxMail | None:
    item = session.get(Item, row.item_id)
    return send_templated(
        session,
        config,
        kind="status",
        category="resolved",
        item=item,
        thread_from=row,
        dedupe_key="status:7:resolved:1",
        now=NOW,
    )


def test_a_reply_threads_from_the_stored_columns_once(db: Database, config: Config) -> None:
    with db.session() as s:
        row = add_item(s)
        sent = status_mail(s, config, row)
        assert sent is not None and sent.message_pk == row.id and sent.kind == "status"
        mail = parsed(sent)
        assert mail["In-Reply-To"] == "<c1@client>"
        assert mail["References"].split() == ["<root@client>", "<c1@client>"]
        assert mail["Subject"] == "Re: Export times out [ACME-7]"
        assert mail["To"] == "Anna <anna@acme.example>"
        assert mail["Auto-Submitted"] == "auto-replied"
        assert mail["Content-Language"] == "en"  # the item's language, not the project's
        text = body(mail)
        assert text.startswith("Dear Anna,") and "Export times out" in text
        assert text.endswith("Kind regards,\nLena Wu\nAgency\n")  # the PM signs
        assert status_mail(s, config, row) is None  # the dedupe key: queued once


def test_the_answer_goes_to_the_reply_to_address(db: Database, config: Config) -> None:
    desk = {"to": [], "cc": [], "reply_to": [{"name": "Desk", "email": "desk@acme.example"}]}
    with db.session() as s:
        sent = status_mail(s, config, add_item(s, recipients=desk))
        assert sent is not None and sent.rcpt_to == ["desk@acme.example"]
        assert body(parsed(sent)).startswith("Dear Anna,")  # the writer is greeted


def test_a_mail_without_a_sender_reaches_nobody(db: Database, config: Config) -> None:
    with db.session() as s, pytest.raises(ComposeError, match="nobody"):
        status_mail(s, config, add_item(s, from_email=None, from_name=None))


def test_a_pm_notice_is_fresh_and_in_the_pm_language(db: Database, config: Config) -> None:
    with db.session() as s:
        row = add_item(s, language="zh-Hans")
        item = s.get(Item, row.item_id)
        sent = send_templated(
            s,
            config,
            kind="escalation",
            category="notice",
            item=item,
            audience=Audience.PM,
            subject="[Escalation] ACME-7: Export times out",
            context={**NOTICE, "subject": "Export times out"},
            dedupe_key="escalation:x",
            message_pk=row.id,
            now=NOW,
        )
        assert sent is not None and sent.rcpt_to == ["pm@agency.example"]
        mail = parsed(sent)
        assert mail["In-Reply-To"] is None and mail["Auto-Submitted"] == "auto-generated"
        assert mail["Subject"] == "[Escalation] ACME-7: Export times out"
        assert mail["Content-Language"] == "en"  # projects.pm_language, not the client's
        assert body(mail).startswith("Hello Lena Wu,")


def test_without_a_pm_address_a_pm_notice_reaches_nobody(db: Database, config: Config) -> None:
    no_pm = dataclasses.replace(config, projects=(dataclasses.replace(ACME, pm=None),))
    with db.session() as s, pytest.raises(ComposeError, match="nobody"):
        send_templated(
            s,
            no_pm,
            kind="escalation",
            category="notice",
            item=s.get(Item, add_item(s).item_id),
            audience=Audience.PM,
            subject="x",
            context={**NOTICE, "subject": "x"},
            dedupe_key="escalation:y",
            now=NOW,
        )


def test_a_fresh_mail_takes_its_subject_from_the_kinds_subject_template(
    db: Database, config: Config
) -> None:
    with db.session() as s:
        sent = send_templated(
            s,
            config,
            kind="digest",
            category="daily",
            audience=Audience.PM,
            to=[Address("", "lena@agency.example"), Address("", "wang@agency.example")],
            context={
                "ref": "Digest 2026-11-27",
                "recipient": "lena@agency.example",
                "period": "2026-11-27",
                "since": "2026-11-26 09:30",
                "until": "2026-11-27 09:30",
                "timezone": "UTC",
                "day": NOW.date(),
                "projects": [],
                "unassigned_new": [],
                "unassigned_open": 0,
                "filed_unanswered": 0,
                "max_age_hours": 24,
                "totals": dict.fromkeys(
                    ("new", "needs_review", "escalations", "overdue", "unassigned", "held"), 0
                ),
            },
            language="en",
            dedupe_key="digest:lena:2026-11-27",
            now=NOW,
        )
        assert sent is not None and sent.message_pk is None
        assert sent.rcpt_to == ["lena@agency.example", "wang@agency.example"]
        assert sent.subject and "2026" in sent.subject
        assert parsed(sent)["To"] == "lena@agency.example, wang@agency.example"


@pytest.mark.parametrize(
    ("item_language", "asked", "expected"),
    [
        ("zh-Hant", None, ("zh-Hant", "zh-Hans")),
        ("mixed", None, ("zh-Hans", "zh-Hans")),  # triage could not tell: the project default
        (None, None, ("zh-Hans", "zh-Hans")),
        ("zh-Hant", "en", ("en", "zh-Hans")),  # e.g. the language of this very mail
        ("zh-Hant", "mixed", ("zh-Hans", "zh-Hans")),
    ],
)
def test_the_language_is_the_items_then_the_projects_then_english(
    item_language: str | None, asked: str | None, expected: tuple[str, str]
) -> None:
    item = Item(project_key="ACME", language=item_language)
    chosen = choose_language(item=item, project=ACME, audience=Audience.CLIENT, language=asked)
    assert chosen == expected


def test_without_a_project_english_and_the_pm_reads_the_pm_language() -> None:
    mixed = Item(project_key="TRIAGE", language="mixed")
    assert choose_language(item=mixed, project=None, audience=Audience.CLIENT) == ("en", "en")
    item = Item(project_key="ACME", language="zh-Hant")
    assert choose_language(item=item, project=ACME, audience=Audience.PM) == ("en", "en")
    zh_pm = dataclasses.replace(ACME, pm_language="zh-Hans")
    assert choose_language(item=item, project=zh_pm, audience=Audience.PM) == ("zh-Hans", "en")


def test_one_template_library_per_templates_folder(config: Config, tmp_path: Path) -> None:
    own = dataclasses.replace(ACME, templates_dir=tmp_path / "acme")
    assert template_library(config, ACME) is template_library(config, None)
    assert template_library(config, own) is template_library(config, own)
    assert template_library(config, own) is not template_library(config, ACME)
    assert template_library(config, own).dirs[0] == tmp_path / "acme"


def test_the_pm_signs_to_clients_and_is_greeted_in_notices(config: Config) -> None:
    item = Item(ref="ACME-7", project_key="ACME", status="new", title="T", client_name="Anna")
    client = shared_context(config, item=item, project=ACME, audience=Audience.CLIENT)
    assert client == {
        "pm_name": "Lena Wu",
        "pm_named": True,
        "team_signature": "Agency",
        "project": {"name": "ACME web shop", "key": "ACME"},
        "ref": "ACME-7",
        "subject": "T",
        "status": "new",
        "client_name": "Anna",
    }
    nameless = dataclasses.replace(ACME, pm_name=None)
    to_client = shared_context(config, item=item, project=nameless, audience=Audience.CLIENT)
    to_pm = shared_context(config, item=item, project=nameless, audience=Audience.PM)
    assert (to_client["pm_name"], to_pm["pm_name"]) == ("Agency", "")  # signed; "Hello,"
    assert to_client["pm_named"] is False  # the team stands in: never "passed to Agency"
    unassigned = Item(ref="TRIAGE-1", project_key="TRIAGE", status="new", title="T")
    values = shared_context(config, item=unassigned, project=None, audience=Audience.CLIENT)
    assert values["project"] == {"name": "Agency", "key": "TRIAGE"}
    assert values["client_name"] == ""
