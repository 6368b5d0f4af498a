"""Walk the MIME tree: pick the readable body, list attachments, note defects."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message as MimePart

from mailbot.message import Attachment
from mailbot.parse import charsets
from mailbot.parse.headers import decode_value, to_bytes
from mailbot.parse.html import html_to_text

MAX_DEPTH = 40  # deeper nesting is an attack or a loop, not a mail someone wrote

# Stdlib defect classes as sentences a person can read.
_DEFECT_TEXT = {
    "NoBoundaryInMultipartDefect": "multipart without a boundary",
    "StartBoundaryNotFoundDefect": "multipart start boundary not found",
    "CloseBoundaryNotFoundDefect": "multipart end boundary missing",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation",
    "MisplacedEnvelopeHeaderDefect": "envelope 'From ' line inside the headers",
    "MissingHeaderBodySeparatorDefect": "malformed header line or no blank line after the headers",
    "MultipartInvariantViolationDefect": "multipart type but no parts",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a transfer encoding",
    "InvalidBase64PaddingDefect": "invalid base64 padding",
    "InvalidBase64CharactersDefect": "invalid base64 characters",
    "InvalidBase64LengthDefect": "invalid base64 length",
}


def defect_text(defect: object) -> str:
    name = type(defect).__name__
    return _DEFECT_TEXT.get(name, name.removesuffix("Defect"))


@dataclass
class Walk:
    """What the walk found; the parser turns it into Message fields."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    # The charsets the body's text parts declare, lower-case: big5-hkscs tells of Hong Kong.
    charsets: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    parts: int = 0
    # With `keep_payloads`, each attachment's bytes too (for downloading one), in order.
    keep_payloads: bool = False
    payloads: list[bytes] = field(default_factory=list)

    def body(self) -> tuple[str, str]:
        """(text, source): plain text wins, HTML is converted, else nothing."""
        plain = [p for p in self.plain if p.strip()]
        if plain:
            return "\n\n".join(plain), "text/plain"
        html = [h for h in self.html if h.strip()]
        if html:
            return html_to_text("\n".join(html), self.defects), "text/html"
        return "", "none"


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676)."""
    out: list[str] = []
    pending = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line != "-- " and not line.startswith(">"):
            pending += line[:-1] if delsp else line
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out)


def _filename(part: MimePart, defects: list[str]) -> str | None:
    if "name" not in f"{part.get('content-disposition', '')}{part.get('content-type', '')}".lower():
        return None  # get_filename() parses every parameter; most parts have no name at all
    try:
        raw = part.get_filename()  # handles RFC 2231 continuations and charsets
    except Exception:  # malformed parameters can break the stdlib here
        defects.append("unreadable attachment filename")
        return None
    if raw is None:
        return None
    return decode_value(str(raw), defects) or None


def _payload(part: MimePart, index: int, defects: list[str]) -> bytes:
    before = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception:  # e.g. broken uuencode
        data = None
        defects.append(f"undecodable content in part {index}")
    for defect in part.defects[before:]:
        name = type(defect).__name__
        if "Base64" in name:
            defects.append(f"invalid base64 in part {index}")
            break
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _enclosed_bytes(part: MimePart) -> bytes:
    """An enclosed mail as a .eml file."""
    inner = part.get_payload()
    message = inner[0] if isinstance(inner, list) and inner else part
    try:
        return message.as_bytes() if isinstance(message, MimePart) else b""
    except Exception:  # a broken enclosed mail: its source as it came
        return part.as_string().encode("utf-8", "replace")


def _size(part: MimePart) -> int:
    """Approximate size of an enclosed message: its headers and encoded payloads.

    Re-serialising it with as_bytes() would be exact but costs more than the parse.
    """
    total = 0
    for sub in part.walk():
        total += sum(len(name) + len(str(value)) + 4 for name, value in sub.raw_items())
        payload = sub.get_payload()
        if isinstance(payload, str):
            total += len(payload)
    return total


_BOUNDARY_LINE = re.compile(r"^--([^\s-][^\r\n]{0,200}?|-[^\r\n]{1,200}?)\r?$")
_PART_HEADER = re.compile(r"^content-[a-z-]+\s*:", re.IGNORECASE)
_BOUNDARY_SCAN = 200


def _recover_multipart(part: MimePart) -> MimePart | None:
    """Re-split a multipart whose declared boundary is wrong or missing.

    The boundary actually used is the first "--token" line followed by a Content-*
    header; without this the whole MIME source would be shown as the body.
    """
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    lines = payload.split("\n", _BOUNDARY_SCAN)[:_BOUNDARY_SCAN]
    for number, line in enumerate(lines[:-1]):
        match = _BOUNDARY_LINE.match(line)
        if match and _PART_HEADER.match(lines[number + 1]):
            boundary = match.group(1).rstrip("\r")
            break
    else:
        return None
    if '"' in boundary or boundary == part.get_boundary():
        return None
    try:
        rebuilt = email.message_from_string(
            f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n{payload}'
        )
    except Exception:  # a repair attempt; the caller falls back to showing text
        return None
    return rebuilt if rebuilt.is_multipart() else None


def walk(part: MimePart, result: Walk, in_attachment: bool = False, depth: int = 0) -> None:
    """Visit one part and, recursively, its children."""
    index = result.parts
    result.parts += 1
    ctype = part.get_content_type()
    if not ctype.isascii():  # 8-bit junk in a Content-Type header
        ctype = to_bytes(ctype).decode("ascii", "replace")
    if not in_attachment:
        result.content_types.append(ctype)
    for defect in part.defects:
        text = defect_text(defect)
        if "base64" not in text:  # reported per part by _payload
            result.defects.append(text if index == 0 else f"{text} in part {index}")
    if depth > MAX_DEPTH:
        result.defects.append(f"MIME nesting deeper than {MAX_DEPTH} levels; inner parts skipped")
        return
    disposition = part.get_content_disposition()
    if ctype == "message/rfc822" or (part.is_multipart() and ctype.startswith("message/")):
        if ctype == "message/rfc822":
            name = _filename(part, result.defects)
            result.attachments.append(Attachment(name, ctype, _size(part)))
            if result.keep_payloads:
                result.payloads.append(_enclosed_bytes(part))
        return  # an enclosed mail's parts are not this mail's body or attachments
    if part.is_multipart():
        inner = in_attachment or disposition == "attachment"
        for child in part.get_payload():
            if isinstance(child, MimePart):
                walk(child, result, inner, depth + 1)
        return
    if ctype.startswith("multipart/"):
        recovered = _recover_multipart(part)
        if recovered is not None:
            result.defects.append(f"multipart boundary repaired in part {index}")
            for child in recovered.get_payload():
                if isinstance(child, MimePart):
                    walk(child, result, in_attachment, depth + 1)
            return
    filename = _filename(part, result.defects)
    data = _payload(part, index, result.defects)
    maintype = ctype.split("/", 1)[0]
    is_body_type = ctype in ("text/plain", "text/html") or maintype == "multipart"
    if maintype == "multipart":
        result.defects.append(f"multipart part {index} could not be split; shown as text")
    attached = disposition == "attachment" or (filename is not None and disposition != "inline")
    if is_body_type and not attached and not in_attachment:
        declared = part.get_content_charset()
        label = declared[:40] if declared and declared.isascii() else None
        if label and label not in result.charsets:
            result.charsets.append(label)
        text, defect = charsets.decode(data, declared)
        if defect:
            result.defects.append(f"{defect} in part {index}" if index else defect)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        if ctype == "text/plain" and str(part.get_param("format", "")).lower() == "flowed":
            text = unflow(text, str(part.get_param("delsp", "")).lower() == "yes")
        (result.html if ctype == "text/html" else result.plain).append(text)
        return
    result.attachments.append(Attachment(filename, ctype, len(data)))
    if result.keep_payloads:
        result.payloads.append(data)
