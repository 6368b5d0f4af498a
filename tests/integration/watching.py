"""The daemon's mailbox watcher in a thread of the test, on the production pipeline.

`Watching` starts `mailbot.daemon.watch_mailbox` for one mailbox (as `mailbot run` does,
without the work loop) and keeps its log, which every failing assertion should show::

    with Watching(box, tmp_path) as watching:
        assert watching.until(lambda: watching.stored() == 5), watching.log()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mailbot.config import Config
from mailbot.config_types import MailboxConfig
from mailbot.daemon import watch_mailbox
from mailbot.storage.db import open_database
from mailbot.storage.models import StoredMessage
from tests.support.pipeline import make_pipeline
from tests.support.waiting import wait_for


class LogLines(logging.Handler):
    """Every mailbot log record, as text, kept for an assertion message."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.threadName} {record.levelname} {record.getMessage()}")


class Watching:
    def __init__(
        self,
        box: MailboxConfig,
        tmp_path: Path,
        *,
        source_factory: Callable[[MailboxConfig, threading.Event], Any] | None = None,
    ) -> None:
        self.box = box
        self.config = Config(mailboxes=(box,), database_url=f"sqlite:///{tmp_path}/mb.sqlite3")
        self.db = open_database(self.config.database_url)
        self.stop = threading.Event()
        self.pipeline = make_pipeline(self.config, self.db, stop_event=self.stop)
        if source_factory is not None:
            self.pipeline.source_factory = source_factory  # type: ignore[assignment]
        self.logs = LogLines()
        self.thread = threading.Thread(
            target=watch_mailbox, args=(self.pipeline, box, threading.Event()), name="watcher"
        )
        self._level = logging.NOTSET

    def __enter__(self) -> Watching:
        logger = logging.getLogger("mailbot")
        logger.addHandler(self.logs)
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        logger = logging.getLogger("mailbot")
        logger.removeHandler(self.logs)
        logger.setLevel(self._level)
        alive = self.thread.is_alive()
        self.db.dispose()
        assert not alive, "the watcher did not stop\n" + self.log()

    def stored(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(StoredMessage)) or 0)

    def message_ids(self) -> list[str]:
        with self.db.session() as s:
            return [str(m) for m in s.scalars(select(StoredMessage.message_id))]

    def until(self, condition: Callable[[], bool], timeout: float = 60) -> bool:
        return wait_for(condition, timeout)

    def text(self) -> str:
        """The whole log so far, to look for a line in."""
        return "\n".join(self.logs.lines)

    def log(self, last: int = 80) -> str:
        return "watcher log:\n" + "\n".join(self.logs.lines[-last:])
