"""The parsed, immutable view of one email that every later stage reads."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# Local parts that only machines write from: never answered, never a summary's reader.
ROBOT_LOCAL_PART = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?|"
    r"notifications?|auto[-_.]?reply)([+\-_.].*)?$",
    re.IGNORECASE,
)


# Bidi embeddings, overrides and isolates: they make text display as something it is not.
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_BLANKS = re.compile(r"[ \t]+")


def clean_text(value: str, *, limit: int | None = None, multiline: bool = False) -> str:
    """Text a stranger wrote, made safe to show or send back: control characters (NUL, ESC,
    BEL…) and bidi overrides removed, line breaks kept only when `multiline`, and at most
    `limit` characters (cut with "…")."""
    out = []
    for char in value:
        if char == "\n" and multiline:
            out.append(char)
        elif char in _BIDI:
            continue
        elif unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append("\n" if multiline and char in "\r\u2028\u2029" else " ")
        else:
            out.append(char)
    text = "".join(out)
    text = text.replace("\n\n\n", "\n\n") if multiline else _BLANKS.sub(" ", text)
    text = text.strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def is_robot_address(address: str) -> bool:
    """Whether `address` belongs to a machine (noreply@, mailer-daemon@, bounces+x@…)."""
    return ROBOT_LOCAL_PART.match(address.rpartition("@")[0] or address) is not None


@dataclass(frozen=True, slots=True)
class RawMail:
    """One message as fetched: the exact bytes and where they came from."""

    uid: int  # IMAP UID; for Maildir a per-run sequence number
    key: str  # stable id inside the folder: str(uid) for IMAP, the file name for Maildir
    data: bytes
    # When it reached the server (IMAP INTERNALDATE, the Maildir file's delivery time);
    # None when the source cannot tell. Clocks (SLA, ages, reports) start here.
    arrived_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    email: str  # addr-spec, lower-cased

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int  # decoded payload size in bytes


@dataclass(frozen=True, slots=True)
class Signals:
    """Hints for later stages that this mail was not written by a person for us."""

    auto_reply: bool = False
    bounce: bool = False
    bulk: bool = False
    reasons: tuple[str, ...] = ()  # e.g. "header Auto-Submitted: auto-replied"

    @property
    def noise(self) -> bool:
        return self.auto_reply or self.bounce or self.bulk


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str  # without angle brackets; synthetic when the mail had none
    message_id_synthetic: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    subject: str  # decoded, as written
    subject_normalized: str  # Re:/Fwd:/回复: prefixes removed, whitespace folded
    date: datetime  # timezone-aware
    text: str  # the whole readable body
    new_text: str  # what the sender wrote now: no quoted history, no signature
    body_source: str  # "text/plain", "text/html" or "none"
    attachments: tuple[Attachment, ...]
    signals: Signals
    defects: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = field(default=())  # top-level, decoded, names lower-case
    raw_sha256: str = ""
    charsets: tuple[str, ...] = ()  # declared by the body's text parts, lower-case: "big5-hkscs"

    def header(self, name: str) -> str | None:
        """First value of a top-level header, or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_")
        data["date"] = self.date.isoformat()
        data["headers"] = [list(pair) for pair in self.headers]
        return data
