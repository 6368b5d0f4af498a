"""Repairs on the raw bytes before MIME parsing: BOM, CR-only lines, leading junk."""

from __future__ import annotations

import re

from mailbot.errors import ParseError

_BOM = b"\xef\xbb\xbf"
_ENVELOPE = re.compile(rb"^(?:MAIL FROM|RCPT TO|HELO|EHLO|X-Sender|X-Receiver)\b[^\n]*\n", re.I)
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,100}[ \t]*:")
_MAX_JUNK_LINES = 40


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
        defects.append(f"{envelope} SMTP envelope line(s) before the headers removed")
    if not data.startswith(b"From ") and not _HEADER_LINE.match(data):
        lines = data[:16384].split(b"\n", _MAX_JUNK_LINES + 1)
        start = _first_header_block(lines)
        if start > 0:
            data = data[sum(len(line) + 1 for line in lines[:start]) :]
            defects.append(f"{start} line(s) of text before the headers skipped")
        elif _binary(data):
            raise ParseError("The input is binary data without mail headers, not an email.")
    return data, defects
