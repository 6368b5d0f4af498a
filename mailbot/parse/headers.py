"""Header values: RFC 2047 encoded words, raw 8-bit bytes, message ids."""

from __future__ import annotations

import binascii
import re

from mailbot.parse import charsets

# Lenient on purpose: real mail has spaces and odd charsets inside encoded words.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_NEWLINES = re.compile(r"[\r\n]+")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
# Control characters never belong in header text, and a NUL is refused by PostgreSQL:
# C0 controls other than tab, and DEL, are removed from every decoded value.
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])


def to_bytes(value: str) -> bytes:
    """Back to the wire bytes; the stdlib keeps 8-bit header bytes as surrogates."""
    return value.encode("utf-8", "surrogateescape")


def _decode_literal(raw: bytes, defects: list[str]) -> str:
    text, defect = charsets.decode_header_bytes(raw)
    if defect:
        defects.append(defect)
    return text


def _payload_bytes(encoding: str, text: str, defects: list[str]) -> bytes:
    data = to_bytes(text)  # may hold real characters when a caller already decoded it
    if encoding in "bB":
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            defects.append("invalid base64 in an encoded header word")
            core = data.rstrip(b"=")
            core = core[: len(core) - len(core) % 4]
            return binascii.a2b_base64(core) if core else b""
    return binascii.a2b_qp(data, header=True)


def decode_value(value: str | None, defects: list[str] | None = None) -> str:
    """Decode one header value (unfolded) into text. Never raises."""
    if not value:
        return ""
    sink: list[str] = [] if defects is None else defects
    value = str(value)
    multiline = "\n" in value or "\r" in value
    if multiline:
        value = _FOLD.sub("", value)
    if "=?" not in value:
        if not value.isascii():
            value = _decode_literal(to_bytes(value), sink)
        return (_NEWLINES.sub(" ", value) if multiline else value).translate(_CONTROLS).strip()
    out: list[str] = []
    pending = b""
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending or pending_charset is not None:
            text, defect = charsets.decode(pending, pending_charset)
            if defect:
                sink.append(f"header: {defect}")
            out.append(text)
        pending, pending_charset = b"", None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two adjacent encoded words is not part of the text (RFC 2047 6.2).
        if between and not (between.isspace() and pending_charset is not None):
            flush()
            out.append(_decode_literal(to_bytes(between), sink))
        charset = match.group(1).split("*", 1)[0]
        data = _payload_bytes(match.group(2), match.group(3), sink)
        # Words in one charset are joined before decoding: senders split multibyte
        # characters across words.
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            flush()
        pending_charset = charset
        pending += data
        position = match.end()
    flush()
    if position < len(value):
        out.append(_decode_literal(to_bytes(value[position:]), sink))
    return _NEWLINES.sub(" ", "".join(out)).translate(_CONTROLS).strip()


def message_id(value: str | None) -> str | None:
    """The first id of a Message-ID/In-Reply-To value, without angle brackets."""
    if not value:
        return None
    value = decode_value(value)
    match = _ANGLE_ID.search(value)
    if match:
        return match.group(1)
    token = value.strip().strip("<>").split()
    return token[0] if token else None


def id_list(value: str | None) -> tuple[str, ...]:
    """All ids in a References value, in order, without duplicates."""
    if not value:
        return ()
    value = decode_value(value)
    ids = _ANGLE_ID.findall(value) or value.replace(",", " ").split()
    return tuple(dict.fromkeys(i.strip("<>") for i in ids if i.strip("<>")))
