"""What a tracker issue or note says: the client's new text, and their attachments listed."""

from __future__ import annotations

import pytest

from mailbot.connectors.filing import client_text
from mailbot.parse.parser import parse_bytes
from tests.support.mails import make_mail

pytestmark = pytest.mark.no_database


def test_the_clients_text_and_attachments_are_listed() -> None:
    message = parse_bytes(make_mail(3, lang="zh", attachment=True))
    text = client_text(message)
    assert text.startswith(f"From: {message.from_.email}\nSubject: {message.subject}\n\n")  # type: ignore[union-attr]
    assert message.new_text.strip()[:20] in text
    assert "\nAttachments:\n- report.pdf (application/pdf, " in text
    assert text.rstrip().endswith("bytes)")


def test_a_mail_without_text_says_so() -> None:
    raw = b"From: a@acme.example\r\nSubject: (empty)\r\nMessage-ID: <e@x>\r\n\r\n"
    assert client_text(parse_bytes(raw)).endswith("\n\n(no text)")
