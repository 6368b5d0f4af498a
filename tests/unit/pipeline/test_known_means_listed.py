"""Only listed clients get automatic answers; keywords, aliases or copied tags file a mail
but never make a stranger a client (fixtures: tests/fixtures/hostile/ORIGIN.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.config_types import AckConfig, ProjectConfig
from tests.support.pipeline import MaildirBot, client_mail

HOSTILE = Path(__file__).parents[2] / "fixtures" / "hostile"
ACME = ProjectConfig(
    key="ACME",
    name="ACME",
    client_domains=("acme-retail.example",),
    alias="team+acme@agency.example",
    keywords=("web shop", "ACME", "网店"),
)


def run(tmp_path: Path, files: dict[str, bytes], unknown_senders: str = "triage") -> list[str]:
    with MaildirBot(
        tmp_path, projects=(ACME,), acknowledgements=AckConfig(unknown_senders=unknown_senders)
    ) as bot:
        for data in files.values():
            # Dated long ago, delivered now: only its arrival counts for answering.
            bot.deliver_bytes(data)
        bot.run()
        assert [i.project_key for i in bot.items()] == ["ACME"] * len(files)
        answered = bot.decisions()
        acked = [o.rcpt_to for o in bot.outbox("ack")]
    return answered if not acked else [*answered, *(r[0] for r in acked)]


def client(subject: str) -> bytes:
    return client_mail(
        "Anna <anna@acme-retail.example>",
        subject,
        "The checkout fails.",
        message_id="c@acme-retail.example",
        date=datetime.now(UTC),
    )


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
