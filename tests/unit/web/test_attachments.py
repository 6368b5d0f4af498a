"""Attachments on the item page: listed, downloadable by those who see the item, served so
that no browser renders them (an HTML or SVG file from a stranger must never run)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from sqlalchemy import select
from starlette.testclient import TestClient

from mailbot.storage.models import Item, StoredMessage
from tests.support.queue_bot import Bot

EVIL_HTML = b"<html><script>alert(document.cookie)</script></html>"
PDF = b"%PDF-1.4 the signed acceptance form"


def mail_with_attachments() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna <anna@acme.example>"
    mail["To"] = "team@agency.example"
    mail["Subject"] = "Signed acceptance form"
    mail["Message-ID"] = "<att-1@acme.example>"
    mail.set_content("Please find the signed form attached.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="验收单 v2.pdf")
    mail.add_attachment(EVIL_HTML, maintype="text", subtype="html", filename="../../page.html")
    return mail.as_bytes()


def test_attachments_are_listed_and_downloaded_safely(
    signed_in: Callable[[str], TestClient], people: Bot
) -> None:
    people.deliver_bytes(mail_with_attachments())
    people.run()
    with people.session() as s:
        row = s.scalars(select(StoredMessage).where(StoredMessage.subject.like("Signed%"))).one()
        item_id, message_id = row.item_id, row.id
    assert item_id is not None
    lena = signed_in("lena")  # pm of ACME
    with people.session() as s:
        ref = s.get(Item, item_id).ref  # type: ignore[union-attr]
    page = lena.get(f"/items/{ref}").text
    assert f"/messages/{message_id}/attachments/0" in page and "验收单 v2.pdf" in page
    pdf = lena.get(f"/messages/{message_id}/attachments/0")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/octet-stream"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''%E9%AA%8C%E6%94%B6%E5%8D%95%20v2.pdf"
        in pdf.headers["content-disposition"]
    )
    html = lena.get(f"/messages/{message_id}/attachments/1")
    assert html.content == EVIL_HTML
    assert html.headers["content-type"] == "application/octet-stream"  # never text/html
    assert html.headers["content-security-policy"].startswith("sandbox")
    assert html.headers["x-content-type-options"] == "nosniff"
    assert 'filename="page.html"' in html.headers["content-disposition"]  # no path
    assert lena.get(f"/messages/{message_id}/attachments/2").status_code == 404
    # Someone who does not see the item learns nothing.
    assert signed_in("wei").get(f"/messages/{message_id}/attachments/0").status_code == 404
