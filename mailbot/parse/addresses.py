"""Address headers into `Address` values, display names decoded."""

from __future__ import annotations

import re
from email.utils import getaddresses

from mailbot.message import Address
from mailbot.parse.headers import decode_value

# One "Name <addr>" or a bare addr: most headers, parsed without the slow general parser.
# Possessive runs, and the "@" looked for afterwards: a lazy name followed by `\s*<`, or
# `[^…]+@[^…]+` where the class holds "@", backtracks quadratically on 50,000 spaces or "@"s.
_SIMPLE = re.compile(r'^\s*+(?:"([^"\\<>]*+)"|([^",;:<>()@\\]*+))\s*+<([^<>\s,;:"()]++)>\s*+$')
_BARE = re.compile(r'^\s*+<?([^<>\s,;:"()]++)>?\s*+$')


def _with_at(address: str) -> bool:
    """An "@" with something on both sides."""
    return "@" in address[1:-1]


def _simple_pair(value: str) -> tuple[str, str] | None:
    match = _BARE.match(value)
    if match and _with_at(match.group(1)):
        return "", match.group(1)
    match = _SIMPLE.match(value)
    if match and _with_at(match.group(3)):
        return (match.group(1) or match.group(2) or "").strip(), match.group(3)
    return None


def _pairs(value: str) -> list[tuple[str, str]]:
    # Without quotes or comments a comma always separates addresses.
    chunks = value.split(",") if not any(c in value for c in '"()\\') else [value]
    simple: list[tuple[str, str]] = []
    for chunk in chunks:
        pair = _simple_pair(chunk) if chunk.strip() else ("", "")
        if pair is None:
            break
        if pair[1]:
            simple.append(pair)
    else:
        if simple:
            return simple
    try:
        return getaddresses([value])
    except Exception:  # the stdlib address parser has crashed on odd input before
        return []


def parse_addresses(values: list[str], defects: list[str], header: str) -> tuple[Address, ...]:
    """Parse all occurrences of one address header; bad entries become defects."""
    found: list[Address] = []
    for value in values:
        raw = str(value).replace("\r", " ").replace("\n", " ")
        pairs = _pairs(raw)
        if not pairs or all(not addr for _, addr in pairs):
            if raw.strip() and "undisclosed" not in raw.lower() and ":;" not in raw:
                defects.append(f"unreadable {header} header")
            continue
        if any("=?" in addr for _, addr in pairs):
            # A whole address inside an encoded word: decode first, then parse.
            pairs = _pairs(decode_value(raw, defects)) or pairs
        for name, addr in pairs:
            if not addr:
                continue
            email = decode_value(addr, defects).strip().strip("<>").lower()
            if "@" not in email and header in ("from", "reply-to"):
                defects.append(f"{header} address without a domain: {email!r}")
            display = decode_value(name, defects).strip().strip("\"'").strip()
            if display.lower() == email:
                display = ""
            found.append(Address(display, email))
    return tuple(dict.fromkeys(found))
