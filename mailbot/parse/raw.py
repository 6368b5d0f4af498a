"""Repairs on the raw bytes before MIME parsing: BOM, CR-only lines, leading junk."""

from __future__ import annotations

import re

from mailbot.errors import ParseError
from mailbot.text import plural

_BOM = b"\xef\xbb\xbf"
_ENVELOPE = re.compile(rb"^(?:MAIL FROM|RCPT TO|HELO|EHLO|X-Sender|X-Receiver)\b[^\n]*\n", re.I)
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,100}[ \t]*:")
_MAX_JUNK_LINES = 40
_VALID_HEADER = re.compile(rb"^(?:From |[!-9;-~]+:|[ \t])")
# A name with spaces or tabs before its colon, e.g. "X-Script/function/ !#: TEST".
_BROKEN_NAME = re.compile(rb"^([!-~][^:\r\n]{0,200}):")
_HEADER_SCAN = 512 * 1024


def _binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(sample) * 0.05


def _first_header_block(lines: list[bytes]) -> int:
    """Index of the first line that starts a run of at least two header lines, or -1."""
    for index in range(min(len(lines) - 1, _MAX_JUNK_LINES)):
        if _HEADER_LINE.match(lines[index]) and (
            _HEADER_LINE.match(lines[index + 1]) or lines[index + 1][:1] in (b" ", b"\t")
        ):
            return index
    return -1


def _repair_header_names(data: bytes, defects: list[str]) -> bytes:
    """Make header names with spaces readable instead of letting them end the headers.

    The stdlib takes such a line as the start of the body, which pushes every later
    header, Content-Transfer-Encoding included, into the body.
    """
    end = data.find(b"\n\n", 0, _HEADER_SCAN)
    crlf_end = data.find(b"\r\n\r\n", 0, _HEADER_SCAN)
    if crlf_end != -1 and (end == -1 or crlf_end < end):
        end = crlf_end
    if end == -1:
        return data
    lines = data[:end].split(b"\n")
    repaired = 0
    for number, line in enumerate(lines):
        if not line.strip(b"\r") or _VALID_HEADER.match(line):
            continue
        match = _BROKEN_NAME.match(line)
        if not match:
            return data  # body text without a blank line before it: leave it to the parser
        name = re.sub(rb"[^!-9;-~]", b"_", match.group(1))
        lines[number] = name + line[match.end(1) :]
        repaired += 1
    if not repaired:
        return data
    defects.append(f"{plural(repaired, 'header name')} with spaces repaired")
    return b"\n".join(lines) + data[end:]


def prepare(data: bytes) -> tuple[bytes, list[str]]:
    """Return bytes the MIME parser reads well, and the repairs made as defects."""
    defects: list[str] = []
    if not data or not data.strip():
        raise ParseError("The input is empty, so it is not an email.")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        defects.append("byte order mark before the headers removed")
    head = data[:65536]
    if b"\r" in head and b"\n" not in head:
        data = data.replace(b"\r", b"\n")
        defects.append("CR-only line endings converted")
    stripped = data.lstrip(b"\r\n\t ")
    if len(stripped) != len(data):
        defects.append("blank lines before the headers removed")
        data = stripped
    envelope = 0
    while match := _ENVELOPE.match(data):
        data = data[match.end() :]
        envelope += 1
    if envelope:
        defects.append(f"{plural(envelope, 'SMTP envelope line')} before the headers removed")
    if not data.startswith(b"From ") and not _HEADER_LINE.match(data):
        lines = data[:16384].split(b"\n", _MAX_JUNK_LINES + 1)
        start = _first_header_block(lines)
        if start > 0:
            data = data[sum(len(line) + 1 for line in lines[:start]) :]
            defects.append(f"{plural(start, 'line')} of text before the headers skipped")
        elif _binary(data):
            raise ParseError("The input is binary data without mail headers, not an email.")
    return _repair_header_names(data, defects), defects
