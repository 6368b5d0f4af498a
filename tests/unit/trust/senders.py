"""Mails and a DKIM key for the sender-check tests: signed with a key made here and
published through an injected DNS lookup, so nothing leaves the machine."""

from __future__ import annotations

import base64
from collections.abc import Callable

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailbot.message import Message
from mailbot.parse import parse_bytes

SELECTOR = b"s2024"
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


def mail(
    sender: str = "Anna Li <anna@acme-retail.example>",
    *,
    headers: tuple[str, ...] = (),
    body: str = "Hello team,\r\n\r\nWe approve the change request ACME-7.\r\n",
    subject: str = "Re: [ACME-7] New checkout page",
) -> bytes:
    """One mail as received; `headers` come first, as a receiving server adds them."""
    head = [
        *headers,
        f"From: {sender}",
        "To: team@agency.example",
        f"Subject: {subject}",
        "Date: Tue, 01 Dec 2026 09:30:00 +0000",
        "Message-ID: <c0ffee@acme-retail.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode("utf-8")


def parsed(raw: bytes) -> Message:
    return parse_bytes(raw)


class Key:
    """An RSA key pair: signs mails, and answers DNS for its selector like a zone would."""

    def __init__(self, bits: int = 1024) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self.pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        self.asked: list[tuple[bytes, float]] = []

    def sign(self, raw: bytes, domain: str, selector: bytes = SELECTOR) -> bytes:
        signature = dkim.sign(raw, selector, domain.encode(), self.pem, include_headers=SIGNED)
        return signature + raw

    def dns(self, zone: dict[bytes, bytes | None] | None = None) -> Callable[..., bytes | None]:
        """A dnsfunc publishing this key for every domain, or the records of `zone`."""

        def lookup(name: bytes, timeout: float = 5) -> bytes | None:
            self.asked.append((name, timeout))
            return self.record if zone is None else zone.get(name)

        return lookup
