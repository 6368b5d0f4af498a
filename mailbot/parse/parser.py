"""`parse_bytes`: raw RFC 5322 bytes to a `Message`, never crashing on bad mail."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message as MimePart
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

import mailparser

from mailbot.errors import ParseError
from mailbot.message import Address, Attachment, Message
from mailbot.parse import raw, signals
from mailbot.parse.addresses import parse_addresses
from mailbot.parse.body import Walk, walk
from mailbot.parse.headers import decode_value, id_list, message_id, to_bytes
from mailbot.parse.limits import bound_headers
from mailbot.parse.quotes import new_text
from mailbot.parse.subject import normalize_subject

log = logging.getLogger("mailbot.parse")

SYNTHETIC_DOMAIN = "mailbot.invalid"
MAX_QUOTE_INPUT = 1_000_000  # the new text is at the top; past this is history or an attack
# new_text spends up to ~12 µs on a line, so a body of 500,000 one-character lines took 4 s.
MAX_QUOTE_LINES = 20_000


def _mime(data: bytes, defects: list[str]) -> MimePart:
    """The MIME tree, built as mail-parser builds it (`email.message_from_bytes`).

    mail-parser's own pass over the tree (bodies, attachments, addresses, Received headers)
    is not run for every mail: `walk` reads the bodies with charset repair, and that pass
    was half the cost of a parse. mail-parser is asked for what only it reads, a Date
    header the stdlib cannot (`_lenient_date`)."""
    try:
        return message_from_bytes(data)
    except RecursionError:
        defects.append("MIME nesting too deep; body not decoded")
    except Exception as err:  # the stdlib's parser is lenient; this is a bug, not bad mail
        log.warning("the MIME parser failed (%s); reading the headers only", err)
        defects.append(f"MIME structure could not be read ({type(err).__name__})")
    return BytesHeaderParser().parsebytes(data)


def _lenient_date(data: bytes) -> datetime | None:
    """The Date mail-parser reads where the stdlib cannot (None: neither can)."""
    try:
        return mailparser.parse_from_bytes(data).date
    except Exception as err:  # mail-parser has crashed on a few odd mails
        log.debug("mail-parser failed (%s) reading the Date header", err)
        return None


def _date(
    value: str | None, data: bytes, received_at: datetime | None, defects: list[str]
) -> datetime:
    if value:
        try:
            parsed = parsedate_to_datetime(decode_value(value))
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        lenient = _lenient_date(data)
        if lenient is not None:
            defects.append(f"non-standard Date header {value.strip()[:60]!r}")
            return lenient if lenient.tzinfo else lenient.replace(tzinfo=UTC)
        defects.append(f"unreadable Date header {value.strip()[:60]!r}")
    else:
        defects.append("no Date header")
    if received_at is not None:
        return received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _name(name: str) -> str:
    """A header name as text: 8-bit bytes in names exist in spam and fuzzed mail."""
    name = str(name).strip().lower()
    return name if name.isascii() else to_bytes(name).decode("utf-8", "replace")


def _headerless_body(mime: MimePart) -> bool:
    payload = mime.get_payload()
    return bool(mime.is_multipart() or (isinstance(payload, str) and payload.strip()))


def _quote_input(text: str, defects: list[str]) -> str:
    """The top of the body, where new_text looks for what the sender wrote."""
    lines = text[:MAX_QUOTE_INPUT].split("\n", MAX_QUOTE_LINES)
    if len(lines) <= MAX_QUOTE_LINES:
        return text[:MAX_QUOTE_INPUT]
    defects.append(f"new text looked for in the first {MAX_QUOTE_LINES:,} lines only")
    return "\n".join(lines[:MAX_QUOTE_LINES])


def parse_bytes(data: bytes, received_at: datetime | None = None) -> Message:
    """Parse one raw email. Raises ParseError only when the input is not an email."""
    data = bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    cleaned, defects = raw.prepare(data)
    cleaned = bound_headers(cleaned, defects)
    mime = _mime(cleaned, defects)

    header_defects: list[str] = []
    headers = tuple(
        (_name(name), decode_value(value, header_defects)) for name, value in mime.raw_items()
    )
    if not headers:
        if not _headerless_body(mime):
            raise ParseError("The input has no mail headers and no body, so it is not an email.")
        defects.append("no mail headers")
    raw_values: dict[str, list[str]] = {}
    for name, value in mime.raw_items():
        raw_values.setdefault(_name(name), []).append(str(value))
    first = {name: values[0] for name, values in raw_values.items()}
    decoded: dict[str, str] = {}
    for name, value in headers:
        decoded.setdefault(name, value)

    def addresses(name: str) -> tuple[Address, ...]:
        return parse_addresses(raw_values.get(name, []), header_defects, name)

    from_list = addresses("from")
    if not from_list:
        defects.append("no readable From address")

    mid = message_id(first.get("message-id"))
    synthetic = not mid
    if synthetic:
        mid = f"synthetic.{digest[:32]}@{SYNTHETIC_DOMAIN}"
        defects.append("no Message-ID; a synthetic one was made from the content")
    subject = decoded.get("subject", "")

    found = Walk()
    try:
        walk(mime, found)
    except Exception as err:  # last line of defence: keep the headers, report the body
        log.debug("MIME walk failed", exc_info=True)
        found.defects.append(f"MIME structure could not be read ({type(err).__name__})")
    text, source = found.body()
    defects.extend(found.defects)
    defects.extend(dict.fromkeys(header_defects))
    date = _date(first.get("date"), cleaned, received_at, defects)
    quote_input = _quote_input(text, defects)

    return Message(
        message_id=mid or "",
        message_id_synthetic=synthetic,
        in_reply_to=message_id(first.get("in-reply-to")),
        references=id_list(first.get("references")),
        from_=from_list[0] if from_list else None,
        to=addresses("to"),
        cc=addresses("cc"),
        reply_to=addresses("reply-to"),
        subject=subject,
        subject_normalized=normalize_subject(subject),
        date=date,
        text=text,
        new_text=new_text(quote_input),
        body_source=source,
        attachments=tuple(found.attachments),
        signals=signals.detect(decoded, from_list[0] if from_list else None, found.content_types),
        defects=tuple(dict.fromkeys(defects)),
        headers=headers,
        raw_sha256=digest,
        charsets=tuple(found.charsets),
    )


def read_attachment(data: bytes, index: int) -> tuple[Attachment, bytes] | None:
    """The `index`-th attachment of a raw mail (as `parse_bytes` lists them) and its bytes."""
    cleaned, defects = raw.prepare(bytes(data))
    mime = _mime(bound_headers(cleaned, defects), defects)
    found = Walk(keep_payloads=True)
    try:
        walk(mime, found)
    except Exception:  # as in parse_bytes: what was found before the failure stands
        log.debug("MIME walk failed while reading an attachment", exc_info=True)
    if not 0 <= index < len(found.payloads):
        return None
    return found.attachments[index], found.payloads[index]
