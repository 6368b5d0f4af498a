"""Only listed clients get automatic answers; keywords, aliases or copied tags file a mail
but never make a stranger a client (fixtures: tests/fixtures/hostile/ORIGIN.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.config import Config
from mailbot.config_types import AckConfig, Folders, MailboxConfig, ProjectConfig, SiteConfig
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import open_database
from mailbot.storage.models import Event, Item, OutboxMail
from tests.support.fake_triage import SubjectTriage
from tests.support.pipeline import make_pipeline

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"
ACME = ProjectConfig(
    key="ACME",
    name="ACME",
    client_domains=("acme-retail.example",),
    alias="team+acme@agency.example",
    keywords=("web shop", "ACME", "网店"),
)


def run(tmp_path: Path, files: dict[str, bytes], unknown_senders: str = "triage") -> list[str]:
    root = tmp_path / "Maildir"
    ensure_maildir(root)
    for n, data in enumerate(files.values()):
        # Dated long ago, delivered now: only its arrival counts for answering.
        (root / "new" / f"{n}.M{n}.host").write_bytes(data)
    box = MailboxConfig(name="local", kind="maildir", path=root, folders=Folders())
    config = Config(
        mailboxes=(box,),
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
        projects=(ACME,),
        site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
        acknowledgements=AckConfig(unknown_senders=unknown_senders),
        outbox_dir=tmp_path / "outbox",
    )
    db = open_database(config.database_url)
    make_pipeline(config, db, triage=SubjectTriage()).run_once()
    with db.session() as s:
        assert [i.project_key for i in s.scalars(select(Item))] == ["ACME"] * len(files)
        answered = [
            e.detail["ack"] for e in s.scalars(select(Event).where(Event.kind == "answered"))
        ]
        acked = list(s.scalars(select(OutboxMail.rcpt_to).where(OutboxMail.kind == "ack")))
    db.dispose()
    return answered if not acked else [*answered, *(r[0] for r in acked)]


def client(subject: str) -> bytes:
    return (
        "From: Anna <anna@acme-retail.example>\r\nTo: team@agency.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <c@acme-retail.example>\r\n"
        f"Date: {datetime.now(UTC):%a, %d %b %Y %H:%M:%S +0000}\r\n\r\nThe checkout fails.\r\n"
    ).encode()


def test_strangers_filed_by_keyword_or_alias_are_not_answered(tmp_path: Path) -> None:
    decisions = run(
        tmp_path,
        {
            "keyword": (HOSTILE / "F12-keyword-stranger.eml").read_bytes(),
            "alias": (HOSTILE / "F12-alias-outsider.eml").read_bytes(),
            "client": client("Checkout fails"),
        },
    )
    assert "not a listed client of ACME (filed by keywords)" in decisions[0]
    assert "not a listed client of ACME (filed by alias)" in decisions[1]
    assert decisions[2].startswith("queued") and decisions[3] == "anna@acme-retail.example"


@pytest.mark.parametrize("unknown_senders", ["acknowledge"])
def test_a_site_may_choose_to_answer_strangers(tmp_path: Path, unknown_senders: str) -> None:
    decisions = run(
        tmp_path,
        {"keyword": (HOSTILE / "F12-keyword-stranger.eml").read_bytes()},
        unknown_senders=unknown_senders,
    )
    assert decisions[0].startswith("queued")
