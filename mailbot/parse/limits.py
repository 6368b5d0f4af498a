"""Bounds on the header bytes the MIME parsers read.

The stdlib decodes encoded words and RFC 2231 parameters in quadratic time, and mail-parser
parses every address and Received header it is given: a 2 MB Subject or 50,000 parameters
stall them for minutes. So before parsing, each header field is cut to a size no real mail
needs, Content-Type and Content-Disposition (in MIME parts too) to a number of parameters,
and the header block to a number of fields and bytes. Every cut is a defect; the store
keeps the original bytes.
"""

from __future__ import annotations

import re

from mailbot.text import plural

MAX_HEADER_BYTES = 32 * 1024  # one field with its folded lines; real ones stay under 8 KB
MAX_PARAMETERS = 100  # in a Content-Type or Content-Disposition
MAX_HEADER_FIELDS = 1000
MAX_HEADER_BLOCK = 64 * 1024  # past this the longest fields are cut to fit

# A header line as the stdlib reads it: the first other line starts the body.
_HEADER_LINE = re.compile(rb"From |[!-9;-~]*:|[ \t]")
_PARAMETER_FIELDS = (b"content-type", b"content-disposition")
_ADDRESS_FIELDS = frozenset(
    {b"from", b"sender", b"reply-to", b"to", b"cc", b"bcc", b"delivered-to", b"resent-to"}
)
# ";" outside quoted strings separates parameters; an unclosed quote runs to the end.
_PARAMETER_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*+"?|;', re.DOTALL)
# A MIME part's Content-Type or Content-Disposition long enough to hold many parameters.
_LONG_PART_FIELD = re.compile(
    rb"^content-(?:type|disposition)[ \t]*:(?=(?:[^\n]|\n[ \t]){1024})",
    re.IGNORECASE | re.MULTILINE,
)
_FOLDED_REST = re.compile(rb"[^\n]*(?:\n[ \t][^\n]*)*\n?")


def _name(field: bytes) -> str:
    return field.split(b":", 1)[0].strip().decode("ascii", "replace")[:60]


def _ending(field: bytes) -> bytes:
    return b"\r\n" if field.endswith(b"\r\n") else b"\n" if field.endswith(b"\n") else b""


def _fold(field: bytes) -> bytes:
    """The field on one line, each run of white space one space."""
    return b" ".join(field.split()) + _ending(field)


def _cut(field: bytes, limit: int) -> bytes:
    """The field in at most about `limit` bytes: folded, then cut after an address (in an
    address field) or at a space, when there is one in the second half.
    """
    field = _fold(field)
    if len(field) <= limit:
        return field
    cut = field[: limit - len(_ending(field))]
    separator = b"," if _name(field).lower().encode() in _ADDRESS_FIELDS else b" "
    position = cut.rfind(separator)
    if position > len(cut) // 2:
        cut = cut[:position]
    return cut.rstrip(b" \t\r\n") + _ending(field)


def _bounded_field(field: bytes, where: str, defects: list[str]) -> bytes:
    """One field with its parameters and size capped."""
    name = _name(field)
    if name.lower().encode() in _PARAMETER_FIELDS:
        count = 0
        end = -1
        for token in _PARAMETER_TOKEN.finditer(field):
            if token.group() == b";":
                count += 1
                if count == MAX_PARAMETERS + 1:
                    end = token.start()
        if end != -1:
            field = field[:end].rstrip(b" \t\r\n") + _ending(field)
            defects.append(f"{name} header{where} cut to {MAX_PARAMETERS} parameters (of {count})")
    if len(field) > MAX_HEADER_BYTES:
        size = len(field) // 1024
        folded = _fold(field)
        if len(folded) <= MAX_HEADER_BYTES:
            defects.append(f"{name} header{where} of {size} KB: runs of spaces folded")
            return folded
        defects.append(f"{name} header{where} cut from {size} KB to {MAX_HEADER_BYTES // 1024} KB")
        field = _cut(folded, MAX_HEADER_BYTES)
    return field


def _fields(data: bytes) -> tuple[list[tuple[int, int]], int]:
    """(start, end) of each top-level header field, and where the body starts."""
    fields: list[tuple[int, int]] = []
    position = 0
    while position < len(data):
        if data.startswith((b"\n", b"\r\n"), position) or not _HEADER_LINE.match(data, position):
            break
        newline = data.find(b"\n", position)
        end = len(data) if newline == -1 else newline + 1
        if data[position] in b" \t" and fields:
            fields[-1] = (fields[-1][0], end)
        else:
            fields.append((position, end))
        position = end
    return fields, position


def _fitting_size(sizes: list[int], budget: int) -> int:
    """The largest size such that fields cut to it fit the budget."""
    remaining = budget
    ordered = sorted(sizes)
    for index, size in enumerate(ordered):
        if size * (len(ordered) - index) > remaining:
            return remaining // (len(ordered) - index)
        remaining -= size
    return ordered[-1] if ordered else budget


def bound_headers(data: bytes, defects: list[str]) -> bytes:
    """The message with its header fields bounded; `data` itself when nothing was cut.

    Only fields over 1 KB can hold too many parameters or bytes, so only those are read.
    When all fields together are too big, the longest are cut, so the short ones that
    matter (From, Subject, Date, Content-Type) stay whole.
    """
    fields, body_start = _fields(data)
    kept: list[bytes] = []
    changed = False
    for start, end in fields[:MAX_HEADER_FIELDS]:
        field = data[start:end]
        if len(field) > 1024:
            if not 0 < field.find(b":") < 1024:
                defects.append("header field with a name over 1 KB dropped")
                changed = True
                continue
            bounded = _bounded_field(field, "", defects)
            changed = changed or bounded is not field
            field = bounded
        kept.append(field)
    if len(fields) > MAX_HEADER_FIELDS:
        changed = True
        dropped = len(fields) - MAX_HEADER_FIELDS
        defects.append(
            f"{plural(dropped, 'header field')} after the first {MAX_HEADER_FIELDS} dropped"
        )
    sizes = [len(field) for field in kept]
    if sum(sizes) > MAX_HEADER_BLOCK:
        changed = True
        size = _fitting_size(sizes, MAX_HEADER_BLOCK)
        cut = sum(1 for field in kept if len(field) > size)
        kept = [
            _cut(field, max(size, field.find(b":") + 2)) if len(field) > size else field
            for field in kept
        ]
        defects.append(
            f"{plural(cut, 'header field')} cut to {size} bytes: "
            f"the headers were over {MAX_HEADER_BLOCK // 1024} KB"
        )
    body = _bound_part_headers(data, body_start, defects)
    if not changed and body is None:
        return data
    return b"".join(kept) + (data[body_start:] if body is None else body)


def _bound_part_headers(data: bytes, start: int, defects: list[str]) -> bytes | None:
    """The body with long Content-Type/Content-Disposition fields of MIME parts bounded,
    or None when none needed it.
    """
    out: list[bytes] = []
    kept = start
    for match in _LONG_PART_FIELD.finditer(data, start):
        rest = _FOLDED_REST.match(data, match.end())
        end = rest.end() if rest else match.end()
        field = data[match.start() : end]
        bounded = _bounded_field(field, " of a MIME part", defects)
        if bounded is not field:
            out.append(data[kept : match.start()])
            out.append(bounded)
            kept = end
    if not out:
        return None
    out.append(data[kept:])
    return b"".join(out)
