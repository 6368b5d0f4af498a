"""Mails that used to stop a whole batch in triage are stored, classified and filed, with
their ordinary neighbours answered (fixtures: tests/fixtures/hostile/ORIGIN.md)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mailbot.config import Config
from mailbot.config_types import Folders, MailboxConfig, ProjectConfig, SiteConfig
from mailbot.sources.maildir import ensure_maildir
from mailbot.storage.db import open_database
from mailbot.storage.models import MessageState, OutboxMail, StoredMessage
from mailbot.triage import Triage
from tests.support.pipeline import make_pipeline

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"
ACME = ProjectConfig(key="ACME", name="ACME", client_domains=("acme-retail.example",))


def e088(*, in_subject: bool) -> bytes:
    """Over spaCy's max_length (1,000,000 characters) in the body or in the subject."""
    huge = "The checkout fails again " * 41_000
    subject = huge if in_subject else "Checkout fails"
    body = "See subject." if in_subject else huge
    return (
        f"From: Anna <anna@acme-retail.example>\r\nTo: team@agency.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <e088-{in_subject}@acme-retail.example>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def test_hostile_mails_in_one_batch_are_all_filed(tmp_path: Path, real_triage: Triage) -> None:
    root = tmp_path / "Maildir"
    ensure_maildir(root)
    mails = {
        "empty": (HOSTILE / "F5-empty-attachment-only.eml").read_bytes(),
        "companion": (HOSTILE / "F5-normal-companion.eml").read_bytes(),
        "punct": (HOSTILE / "F7-spacy-tokenizer-punct-20k.eml").read_bytes(),
        "e088-body": e088(in_subject=False),
        "e088-subject": e088(in_subject=True),
    }
    for n, data in enumerate(mails.values()):
        (root / "new" / f"{n}.M{n}.host").write_bytes(data)
    box = MailboxConfig(name="local", kind="maildir", path=root, folders=Folders(), batch_size=10)
    config = Config(
        mailboxes=(box,),
        database_url=f"sqlite:///{tmp_path}/mb.sqlite3",
        projects=(ACME,),
        site=SiteConfig(name="Agency", address="team@agency.example", domain="agency.example"),
        outbox_dir=tmp_path / "outbox",
    )
    db = open_database(config.database_url)
    stats = make_pipeline(config, db, triage=real_triage).run_once()
    assert (stats.stored, stats.failed, stats.set_aside) == (5, 0, 0)
    with db.session() as s:
        rows = s.scalars(select(StoredMessage)).all()
        assert {r.state for r in rows} == {MessageState.ANSWERED}
        assert all(r.category is not None and r.item_id is not None for r in rows)
        empty = next(r for r in rows if not r.subject)
        assert (empty.category, empty.needs_review) == ("feedback", True)
        acked = s.scalars(select(OutboxMail.rcpt_to).where(OutboxMail.kind == "ack")).all()
        assert acked  # the ordinary companion from a listed client is answered
