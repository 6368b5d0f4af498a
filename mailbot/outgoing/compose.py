"""Compose the email for a rendered template: threading, loop safety, safe headers.

Two shapes: a reply in the client's thread (`compose_reply`) and a fresh automatic mail
such as a PM notice or a report (`compose_notice`).

Threading: Gmail, Outlook, Apple Mail and QQ Mail put a reply in the client's
conversation by `In-Reply-To` / `References` and, when those are missing or stripped by
a gateway, by the subject without its `Re:` prefix. So both are set: the headers point
at the client's mail and the subject is `Re: <their subject> [REF]`, with no nested
prefixes and the reference only once.
"""

from __future__ import annotations

import binascii
import hashlib
import random
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import contentmanager, policy
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import Protocol

from mailbot.errors import MailbotError
from mailbot.message import Address
from mailbot.outgoing.templates import Rendered
from mailbot.parse.subject import normalize_subject


# policy.SMTP (CRLF line ends) limited to 7-bit output: non-ASCII text goes out as base64
# or quoted-printable and headers as RFC 2047 words, so no server needs 8BITMIME/SMTPUTF8.
class _HeaderClasses(HeaderRegistry):
    """The stdlib's header registry makes a new class for every header it is asked for
    (about a tenth of the time spent composing a mail); one per header name is enough."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(key)
        return made


MAIL_POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())
MAX_MSGID_CHARS = 250  # real ones are under 100; RFC 5322 lines end at 998
MAX_REFERENCES = 20  # keep the thread root and the newest ids; long chains get truncated
MAX_SUBJECT_CHARS = 200  # of the client's subject; the "Re: " and "[REF]" come on top
MAX_NOTICE_SUBJECT_CHARS = 250  # of a fresh mail's whole subject
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# Bidi overrides can make a subject display as something else than it says.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_SPACES = re.compile(r"\s+")
_MSGID_BAD = re.compile(r"[\s<>()\[\],;:\\\"]")
# A value the stdlib writes back exactly as given, on one line: printable ASCII, single spaces.
_AS_GIVEN = re.compile(r"^[!-~](?: ?[!-~])*$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9](?: ?[A-Za-z0-9])*$")
_LINE_ENDS = re.compile(r"\r\n|\r|\n")  # what the stdlib's generator writes as CRLF
_PLAIN_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


class _Written(str):
    """A header value that is its own folded line: the stdlib stores it as is and writes
    it back without parsing it again (parsing and folding were most of composing a mail)."""

    name: str

    def __new__(cls, name: str, value: str) -> _Written:
        written = super().__new__(cls, value)
        written.name = name
        return written

    def fold(self, *, policy: policy.Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


class _Lines:
    """A mail as the stdlib's generator writes an `EmailMessage`: each header line as its
    policy folds it, a blank line, the body as given (CRLF line ends already).

    Building the `EmailMessage` and running the generator over it cost a quarter of
    composing a reply, to write lines that are already written; the tests compare whole
    mails with the stdlib's bytes.
    """

    __slots__ = ("body", "lines")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.body = ""

    def __setitem__(self, name: str, value: object) -> None:
        # What `EmailMessage.__setitem__` stores and the generator writes: a value given
        # as text is parsed by its header class (which refuses line breaks) and folded.
        stored_name, stored = MAIL_POLICY.header_store_parse(name, value)
        self.lines.append(MAIL_POLICY.fold(stored_name, stored))

    def set_payload(self, payload: str) -> None:
        self.body = payload

    def as_bytes(self) -> bytes:
        return ("".join(self.lines) + "\r\n" + self.body).encode("ascii")


def _set(msg: _Lines, name: str, value: str | HeaderAddress | list[HeaderAddress]) -> None:
    """`msg[name] = value`, without the stdlib's parsing when the line needs no care.

    Only a line the stdlib would write unchanged is written so: short (no folding), plain
    ASCII, an address with a plain name or none; anything else goes through the stdlib.
    """
    text = _plain_address(value) if isinstance(value, HeaderAddress) else value
    if (
        isinstance(text, str)
        and len(name) + 2 + len(text) <= MAIL_POLICY.max_line_length
        and _AS_GIVEN.match(text)
        and "=?" not in text
    ):
        msg[name] = _Written(name, text)
    elif isinstance(value, str):
        msg[name] = value
    else:
        addresses = [value] if isinstance(value, HeaderAddress) else value
        key = tuple((a.display_name, a.addr_spec) for a in addresses)
        msg[name] = _Written(name, _folded_addresses(name, key))


@lru_cache(maxsize=4096)
def _folded_addresses(name: str, addresses: tuple[tuple[str, str], ...]) -> str:
    """An address line as the stdlib folds it (RFC 2047 names), without its name and line end.

    The team's From and a client's own address come back mail after mail; the stdlib parses
    and folds each such line again (a third of composing a reply to a Chinese name).
    """
    values = [HeaderAddress(display_name=n, addr_spec=a) for n, a in addresses]
    msg = EmailMessage(policy=MAIL_POLICY)
    msg[name] = values[0] if len(values) == 1 else values
    line = MAIL_POLICY.fold(name, msg[name])
    return line[len(name) + 2 : -len(MAIL_POLICY.linesep)]


def _encoded(text: str) -> tuple[str, str]:
    """The stdlib's choice of transfer encoding for UTF-8 text, and the encoded body.

    The stdlib takes base64 when the first ten lines come out longer in quoted-printable,
    which it finds out by encoding them so, a Python loop over every byte. Where base64
    wins for sure (Chinese: three bytes a character, each three characters in QP), that
    loop is skipped; the choice and the bytes stay the stdlib's.
    """
    cte = "base64" if _base64_for_sure(text) else None
    cte, data = contentmanager._encode_text(text, "utf-8", cte, MAIL_POLICY)  # type: ignore[attr-defined]
    return cte, data


_HIGH_BYTES = bytes(range(0x80, 0x100))


def _base64_for_sure(text: str) -> bool:
    """Whether the stdlib's heuristic (`contentmanager._encode_text`) picks base64 for `text`,
    decided without encoding it in QP; False also when that is not certain."""
    if text.isascii():
        return False  # 7bit, or quoted-printable for long lines: the stdlib decides
    lines = text.encode("utf-8").splitlines()[:10]
    sniff = b"\r\n".join(lines) + b"\r\n"
    high = len(sniff) - len(sniff.translate(None, _HIGH_BYTES))
    # QP writes each byte at least once and each of these as "=XX", and each CRLF as one
    # line end: it cannot be shorter than this.
    least_qp = len(sniff) - len(lines) + 2 * high
    return least_qp > len(binascii.b2a_base64(sniff))


def _set_body(msg: _Lines, text: str, html: str | None) -> None:
    """The body the stdlib's `set_content` and `add_alternative` make, written directly.

    The same headers, transfer encodings and bytes (tests compare them), without the
    stdlib parsing and folding each Content-* header again and generating each part:
    that was most of composing a reply. The parts of an alternative are written out
    here; the stdlib's generator writes a multipart whose body is a string as it is.
    """
    cte, data = _encoded(text)
    if html is None:
        msg["Content-Type"] = _Written("Content-Type", 'text/plain; charset="utf-8"')
        msg["Content-Transfer-Encoding"] = _Written("Content-Transfer-Encoding", cte)
        msg["MIME-Version"] = _Written("MIME-Version", "1.0")
        msg.set_payload(_LINE_ENDS.sub("\r\n", data))  # as the generator writes its lines
        return
    html_cte, html_data = _encoded(html)
    parts = [
        _part("plain", cte, data).encode("ascii"),
        _part("html", html_cte, html_data).encode("ascii"),
    ]
    boundary = _boundary(b"\r\n".join(parts))
    separator = f"\r\n--{boundary}\r\n"
    msg["MIME-Version"] = _Written("MIME-Version", "1.0")
    # The stdlib folds this line before the boundary, which never fits on the first line.
    msg["Content-Type"] = _Written(
        "Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'
    )
    msg.set_payload(
        f"--{boundary}\r\n"
        + separator.join(part.decode("ascii") for part in parts)
        + f"\r\n--{boundary}--\r\n"
    )


def _boundary(text: bytes) -> str:
    """A boundary as the stdlib's generator makes it, one that no line of `text` starts with.

    The stdlib compiles a pattern for every boundary it checks; a substring test is as
    sure and does not cost a tenth of a millisecond per mail.
    """
    boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
    candidate, counter = boundary, 0
    while f"--{candidate}".encode("ascii") in text:
        candidate, counter = f"{boundary}.{counter}", counter + 1
    return candidate


def _part(subtype: str, cte: str, data: str) -> str:
    """One text part as the stdlib's generator writes it: its headers, its lines in CRLF."""
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n" + _LINE_ENDS.sub("\r\n", data)
    )


def _plain_address(addr: HeaderAddress) -> str | None:
    """`Name <user@domain>` or `user@domain` when neither needs quoting; else None."""
    if not _PLAIN_ADDR.match(addr.addr_spec):
        return None
    if not addr.display_name:
        return addr.addr_spec
    return (
        f"{addr.display_name} <{addr.addr_spec}>" if _PLAIN_NAME.match(addr.display_name) else None
    )


class ComposeError(MailbotError):
    """A mail cannot be built, e.g. the client's address is unusable."""

    code = "MB810"


@dataclass(frozen=True, slots=True)
class Composed:
    message_id: str  # without angle brackets
    subject: str
    mail_from: str  # SMTP envelope sender
    rcpt_to: tuple[str, ...]  # SMTP envelope recipients
    raw: bytes  # the exact bytes to send, CRLF line ends
    dedupe_key: str  # what makes this email unique; the outbox refuses a second one


class Original(Protocol):
    """What a reply needs of the mail it answers: a stored message row or a parsed Message."""

    @property
    def message_id(self) -> str | None: ...
    @property
    def message_id_synthetic(self) -> bool: ...
    @property
    def references(self) -> Sequence[str]: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def subject_normalized(self) -> str | None: ...


def clean_header_text(value: str) -> str:
    """One line of text safe for a header: control characters and line breaks become
    spaces, runs of whitespace one space.

    This is what keeps a client's "Hello\\r\\nBcc: evil@x.com" a harmless subject
    instead of a new header.
    """
    out = []
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS:
            out.append(" ")
        else:
            out.append(char)
    return _SPACES.sub(" ", "".join(out)).strip()


def reply_subject(original_subject: str, ref: str) -> str:
    """`Re: <subject> [REF]`: one `Re:`, prefixes such as `回复：` dropped, `[REF]` once."""
    subject = normalize_subject(clean_header_text(original_subject))
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"
    tag = f"[{ref}]"
    if tag.lower() not in subject.lower():
        subject = f"{subject} {tag}" if subject else tag
    return f"Re: {subject}"


def stable_message_id(dedupe_key: str, domain: str) -> str:
    """A Message-ID (no brackets) that depends only on the key: a retry is the same email."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"mailbot.{digest}@{domain}"


def _msgid(value: str | None) -> str | None:
    """A client's Message-ID made safe to echo in our headers, or None if unusable."""
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    if not value or len(value) > MAX_MSGID_CHARS or _MSGID_BAD.search(value):
        return None  # a 100 KB "id" is an attack on every mail program that threads it
    if any(ord(c) < 33 or ord(c) > 126 for c in value):
        return None
    return value


def thread_references(original: Original) -> list[str]:
    """The References of our reply: theirs plus their Message-ID, root and newest kept."""
    ids: list[str] = []
    own = None if original.message_id_synthetic else original.message_id
    for value in (*original.references, own):
        clean = _msgid(value)
        if clean and clean not in ids:
            ids.append(clean)
    if len(ids) > MAX_REFERENCES:
        # RFC 5322 3.6.4: the first id is the thread root, the last ones the parents.
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _header_address(
    addr: Address, what: str, hint: str = "answer this mail by hand"
) -> HeaderAddress:
    email = addr.email.strip()
    if not email or any(ord(c) < 33 or ord(c) > 126 for c in email) or email.count("@") != 1:
        raise ComposeError(
            f"cannot send to the {what} address {email!r}",
            f"the address must be a plain ASCII user@domain; {hint}",
        )
    try:
        return _address(clean_header_text(addr.name), email)
    except (ValueError, IndexError) as err:
        raise ComposeError(f"cannot use the {what} address {email!r}: {err}", hint) from None


@lru_cache(maxsize=4096)
def _address(display_name: str, addr_spec: str) -> HeaderAddress:
    """The stdlib's checked address; it parses the addr-spec each time it is made."""
    return HeaderAddress(display_name=display_name, addr_spec=addr_spec)


def _build(
    rendered: Rendered,
    *,
    from_addr: Address,
    to: Sequence[Address],
    to_what: str,
    subject: str,
    date: datetime,
    dedupe_key: str,
    domain: str,
    auto_submitted: str,
    reply_to: Address | None = None,
    thread: Sequence[tuple[str, str]] = (),
    envelope_from: str | None = None,
    hint: str = "answer this mail by hand",
) -> Composed:
    """What both shapes share: addresses, subject, date, a stable id, loop guards, the body.

    `thread` is the In-Reply-To and References of a reply, set after the Message-ID.
    """
    if not _DOMAIN.match(domain):
        raise ValueError(f"not a usable Message-ID domain: {domain!r}")
    message_id = stable_message_id(dedupe_key, domain)
    msg = _Lines()
    _set(msg, "From", _header_address(from_addr, "From", hint))
    recipients = [_header_address(a, to_what, hint) for a in to]
    _set(msg, "To", recipients[0] if len(recipients) == 1 else recipients)
    if reply_to is not None:
        _set(msg, "Reply-To", _header_address(reply_to, "Reply-To", hint))
    _set(msg, "Subject", subject)
    _set(msg, "Date", format_datetime(date))
    _set(msg, "Message-ID", f"<{message_id}>")
    for name, value in thread:
        _set(msg, name, value)
    # RFC 3834: the standard mark of automatic mail ("auto-replied" for a reply,
    # "auto-generated" for a notice or a report). Vacation responders and other bots that
    # honour it do not answer us, which stops mail loops with a client's out-of-office.
    _set(msg, "Auto-Submitted", auto_submitted)
    # Exchange and Outlook ignore Auto-Submitted but honour this: no out-of-office,
    # auto-reply or read receipts back to the shared inbox.
    _set(msg, "X-Auto-Response-Suppress", "All")
    # No "Precedence": it is not standard (RFC 3834 advises against relying on it), and
    # "bulk"/"list" make Gmail and others file a personal reply as a newsletter or spam.
    _set_body(msg, rendered.text, rendered.html)
    _set(msg, "Content-Language", rendered.language_used)
    return Composed(
        message_id=message_id,
        subject=subject,
        mail_from=(envelope_from or from_addr.email).strip(),
        rcpt_to=tuple(a.email.strip() for a in to),
        raw=msg.as_bytes(),
        dedupe_key=dedupe_key,
    )


def compose_reply(
    original: Original,
    rendered: Rendered,
    *,
    ref: str,
    from_addr: Address,
    to: Address,
    domain: str,
    dedupe_key: str,
    reply_to: Address | None = None,
    envelope_from: str | None = None,
    date: datetime | None = None,
) -> Composed:
    """Build a reply to `original`, in its thread, as bytes ready for SMTP."""
    if not _REF.match(ref):
        raise ValueError(f"not a usable item reference: {ref!r}")
    thread: list[tuple[str, str]] = []
    parent = None if original.message_id_synthetic else _msgid(original.message_id)
    if parent:
        thread.append(("In-Reply-To", f"<{parent}>"))
    references = thread_references(original)
    if references:
        thread.append(("References", " ".join(f"<{ref_id}>" for ref_id in references)))
    return _build(
        rendered,
        from_addr=from_addr,
        to=[to],
        to_what="client",
        subject=reply_subject(original.subject_normalized or original.subject or "", ref),
        date=date or datetime.now(UTC),
        dedupe_key=dedupe_key,
        domain=domain,
        auto_submitted="auto-replied",
        reply_to=reply_to,
        thread=thread,
        envelope_from=envelope_from,
    )


def compose_notice(
    rendered: Rendered,
    *,
    subject: str,
    from_addr: Address,
    to: Sequence[Address],
    domain: str,
    dedupe_key: str,
    envelope_from: str | None = None,
    date: datetime,
) -> Composed:
    """A fresh automatic mail (a notice to a PM, a report), not a reply, ready for SMTP."""
    if not to:
        raise ComposeError("a mail needs at least one recipient")
    return _build(
        rendered,
        from_addr=from_addr,
        to=to,
        to_what="recipient",
        subject=clean_header_text(subject)[:MAX_NOTICE_SUBJECT_CHARS],
        date=date.astimezone(UTC),
        dedupe_key=dedupe_key,
        domain=domain,
        auto_submitted="auto-generated",
        envelope_from=envelope_from,
        hint="fix the address in the configuration (projects.pm, client_addresses, digest_to)",
    )
