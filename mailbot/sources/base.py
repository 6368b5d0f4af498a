"""The contract every mail source (IMAP, Maildir) keeps with the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mailbot.message import RawMail


class Source(Protocol):
    """A folder of incoming mail.

    The pipeline stores each fetched message and commits *before* calling
    `mark_processed` / `mark_failed`, so a crash in between only causes a
    re-fetch, which the store recognises as a duplicate.
    """

    account: str  # a stable name for the mailbox, e.g. "support@example.com@imap.example.com"
    folder: str

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...

    def uidvalidity(self) -> int:
        """IMAP UIDVALIDITY of the folder; 0 for sources without UIDs."""
        ...

    def fetch(self, after_uid: int, batch_size: int) -> Iterator[list[RawMail]]:
        """Yield batches of messages with UID > after_uid, oldest first."""
        ...

    def mark_processed(self, mails: list[RawMail]) -> None: ...

    def mark_failed(self, mails: list[RawMail]) -> None: ...

    def wait(self, timeout: float) -> bool:
        """Block until new mail may be there (IDLE) or timeout; True if woken by the server."""
        ...
