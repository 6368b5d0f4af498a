"""The tracker interface, what a tracker answers, and how a push fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailbot.errors import MailbotError


class ConnectorError(MailbotError):
    """A tracker or chat platform refused or could not be reached; says what to do."""

    code = "MB970"


class PushFailed(Exception):
    """One attempt at a remote effect failed.

    `permanent`: retrying cannot help (bad credentials, a project that does not exist);
    `retry_after`: seconds the platform asked us to wait (HTTP 429 Retry-After).
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RemoteIssue:
    """An issue as the tracker has it."""

    remote_id: str  # the tracker's id: "123"
    key: str  # as people say it: "#123", "ACME-7", "owner/repo#5"
    url: str  # the issue's page
    status: str  # the tracker's status name
    title: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewIssue:
    """What mailbot asks the tracker to create for a filed item."""

    ref: str  # ACME-42: also the marker a retry finds the issue by
    title: str
    description: str

    @property
    def subject(self) -> str:
        """The issue's title, led by the item's reference: "[ACME-42] Login fails"."""
        return f"{marker(self.ref)} {self.title}"[:255]


def marker(ref: str) -> str:
    """How an item is named in a tracker issue's title: "[ACME-42]"."""
    return f"[{ref}]"


def note_marker(push_id: int) -> str:
    """The last line of a note mailbot adds, found again on a retry."""
    return f"(mailbot push {push_id})"


class Tracker(Protocol):
    """One project of a tracker. Every method is one or a few HTTP requests."""

    kind: str

    def find(self, ref: str) -> RemoteIssue | None:
        """The issue whose title starts with the item's marker, if there is one."""
        ...

    def create(self, issue: NewIssue) -> RemoteIssue: ...

    def get(self, remote_id: str) -> RemoteIssue: ...

    def has_note(self, remote_id: str, marker_text: str) -> bool:
        """Does a comment of this issue already carry `marker_text` (a retried note)?"""
        ...

    def add_note(self, remote_id: str, text: str) -> None: ...

    def set_status(self, remote_id: str, status: str) -> None:
        """Move the issue to the tracker status named `status`."""
        ...

    def updated_since(self, since: datetime) -> list[RemoteIssue]:
        """Issues of the project changed at or after `since` (the tracker's clock)."""
        ...

    def check(self) -> list[str]:
        """Doctor: sign in and find the project; what was checked, or ConnectorError."""
        ...
