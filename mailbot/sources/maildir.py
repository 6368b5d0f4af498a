"""A local Maildir as a mail source, for the demo and for hosts where the MTA delivers locally.

Layout (Maildir++): the inbox is the root's new/ and cur/; processed and
failed mail goes to sub-folders such as `.mailbot.processed/cur/`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailbot.config_types import MailboxConfig
from mailbot.errors import SourceError
from mailbot.message import RawMail

log = logging.getLogger("mailbot.source.maildir")

SEEN_FLAG = "S"


def maildir_folder(root: Path, name: str) -> Path:
    """The Maildir++ directory for a folder name such as "mailbot/processed"."""
    if name.upper() == "INBOX":
        return root
    return root / ("." + name.replace("/", "."))


def ensure_maildir(path: Path) -> None:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def _base_name(file_name: str) -> str:
    # "1700000000.M1P2.host:2,S" -> "1700000000.M1P2.host": flags change, the name does not.
    return file_name.split(":", 1)[0]


def _uid_for(name: str) -> int:
    # Maildir has no UIDs; a 60-bit hash of the unique file name serves as a stable one.
    return int(hashlib.sha1(name.encode()).hexdigest()[:15], 16)


class MaildirSource:
    """The `Source` contract over a Maildir; UIDVALIDITY is always 0 (no cursor)."""

    def __init__(self, config: MailboxConfig, stop_event: threading.Event | None = None) -> None:
        if config.path is None:
            raise SourceError(f"mailbox {config.name}: a maildir mailbox needs a path")
        self.config = config
        self.account = config.account
        self.folder = config.folders.inbox
        self.root = maildir_folder(config.path, config.folders.inbox)
        self.stop_event = stop_event or threading.Event()
        self._paths: dict[str, Path] = {}

    def __enter__(self) -> MaildirSource:
        if not (self.root / "new").is_dir() or not (self.root / "cur").is_dir():
            raise SourceError(
                f"{self.root} is not a Maildir (it has no new/ and cur/ folders)",
                "check mailbox.path, or create it with: mkdir -p PATH/{new,cur,tmp}",
            )
        for name in (self.config.folders.processed, self.config.folders.failed):
            if name:
                ensure_maildir(maildir_folder(self.config.path or self.root, name))
        return self

    def __exit__(self, *exc: object) -> None:
        self._paths.clear()

    def uidvalidity(self) -> int:
        return 0

    def _listing(self) -> list[Path]:
        files: list[Path] = []
        for sub in ("new", "cur"):
            for entry in os.scandir(self.root / sub):
                if not entry.is_file() or entry.name.startswith("."):
                    continue
                flags = entry.name.split(":2,", 1)[1] if ":2," in entry.name else ""
                if sub == "cur" and SEEN_FLAG in flags and self.config.folders.processed is None:
                    continue  # already handled in place
                files.append(Path(entry.path))
        # Oldest first: delivery time is the leading number of a Maildir name.
        files.sort(key=lambda p: (p.stat().st_mtime, p.name))
        return files

    def fetch(self, after_uid: int, batch_size: int) -> Iterator[list[RawMail]]:
        batch: list[RawMail] = []
        for path in self._listing():
            key = _base_name(path.name)
            try:
                data = path.read_bytes()
                # Delivery writes the file once and renames it into new/: its mtime is
                # when the mail arrived.
                arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except FileNotFoundError:
                continue  # moved away by someone else meanwhile
            self._paths[key] = path
            batch.append(RawMail(uid=_uid_for(key), key=key, data=data, arrived_at=arrived))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _move(self, mails: list[RawMail], folder: str | None) -> None:
        for mail in mails:
            path = self._paths.pop(mail.key, None) or self._find(mail.key)
            if path is None:
                continue  # moved already (a retried move after a crash)
            if folder is None:
                target = self.root / "cur" / f"{mail.key}:2,{SEEN_FLAG}"
            else:
                target = maildir_folder(self.config.path or self.root, folder) / "cur" / path.name
            try:
                os.replace(path, target)
            except FileNotFoundError:
                continue

    def _find(self, key: str) -> Path | None:
        for sub in ("new", "cur"):
            for entry in os.scandir(self.root / sub):
                if _base_name(entry.name) == key:
                    return Path(entry.path)
        return None

    def mark_processed(self, mails: list[RawMail]) -> None:
        self._move(mails, self.config.folders.processed)

    def mark_failed(self, mails: list[RawMail]) -> None:
        self._move(mails, self.config.folders.failed)

    def wait(self, timeout: float) -> bool:
        """Poll the new/ folder; there is no push for a local Maildir."""
        deadline = time.monotonic() + timeout
        while not self.stop_event.is_set():
            if any(os.scandir(self.root / "new")):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.stop_event.wait(min(1.0, remaining))
        return False
