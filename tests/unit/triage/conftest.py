from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.resources import rules_dir, triage_model_dir
from mailbot.triage import Triage
from mailbot.triage.engine import RuleSet

EML_DIR = Path(__file__).parent / "eml"


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return RuleSet.load(rules_dir())


@pytest.fixture(scope="session")
def triage() -> Triage:
    return Triage.load(model_dir=triage_model_dir())


def eml(
    subject: str, body: str, extra_headers: str = "", content_type: str = "text/plain"
) -> bytes:
    headers = (
        "From: Anna Berg <anna@client.example>\r\n"
        "To: team@agency.example\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <t1@client.example>\r\n"
        "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"{extra_headers}"
    )
    return (headers + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")
