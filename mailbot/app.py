"""Putting the stages together as configured: the one place that wires the pipeline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailbot.config import Config
from mailbot.config_types import MailboxConfig
from mailbot.connectors.worker import Connectors, configured
from mailbot.outgoing.courier import delivering, usable
from mailbot.outgoing.delivery import deliver_outbox
from mailbot.pipeline.ahead import TriageAhead, triage_settings
from mailbot.pipeline.answer import TemplateAcknowledger
from mailbot.pipeline.hooks import default_hooks
from mailbot.pipeline.machine import Pipeline, SourceFactory
from mailbot.pipeline.trust import TrustChecks
from mailbot.sources.base import Source
from mailbot.sources.imap import ImapSource
from mailbot.sources.maildir import MaildirSource
from mailbot.storage.db import Database

if TYPE_CHECKING:
    from mailbot.triage import Triage

log = logging.getLogger("mailbot.app")


def load_triage(config: Config) -> Triage | None:
    """The triage stage as configured, loaded once; None when triage is off."""
    if not config.triage.enabled:
        return None
    from mailbot.triage import Triage

    return Triage.load(
        rules_dir=config.triage.rules_dir,
        model_dir=config.triage.model_dir,
        review_threshold=config.triage.review_threshold,
    )


class LazyTriage:
    """The configured triage, loaded the first time a mail is classified here.

    For `run --once`: a run that finds no new mail never loads the model (~2 s and 150 MiB
    at every run from cron), and a backlog's mail is classified by triage ahead
    (`pipeline.ahead`), which loads its own.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._triage: Triage | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._triage is not None

    def get(self) -> Triage:
        with self._lock:
            if self._triage is None:
                triage = load_triage(self._config)
                assert triage is not None  # only made when triage is on
                self._triage = triage
            return self._triage

    def __getattr__(self, name: str) -> object:
        return getattr(self.get(), name)


def open_source(config: MailboxConfig, stop_event: threading.Event) -> Source:
    if config.kind == "maildir":
        return MaildirSource(config, stop_event)
    return ImapSource(config, stop_event=stop_event)


def with_pushes(
    config: Config, db: Database, deliver: Callable[[], object]
) -> Callable[[], object]:
    """The delivery step, followed by the pushes to trackers and chats when any is
    configured (`connectors.worker`): after the mail, so a tracker or a chat webhook that
    is down never holds up a client's mail. Returns what the mail delivery returned."""
    if not configured(config):
        return deliver
    connectors = Connectors(config, db)

    def deliver_then_push() -> object:
        stats = deliver()
        try:
            connectors.run()
        except Exception:  # e.g. the database is down: the next turn tries again
            log.exception("pushing to the trackers and chats failed; trying again shortly")
        return stats

    return deliver_then_push


def _triage(config: Config, triage: Triage | bool | None, lazy: bool) -> Triage | None:
    if triage is not True:
        return triage or None
    if lazy and config.triage.enabled:
        return LazyTriage(config)  # type: ignore[return-value]  # a Triage when used
    return load_triage(config)


def build_pipeline(
    config: Config,
    db: Database,
    stop_event: threading.Event | None = None,
    *,
    triage: Triage | bool | None = True,
    source_factory: SourceFactory = open_source,
    deliver: Callable[[], object] | None = None,
    lazy: bool = False,
    ahead_started: TriageAhead | None = None,
) -> Pipeline:
    """fetch → store → parse → classify → file → answer, then deliver, as the config says.

    `triage=True` loads the configured triage (with `lazy`, when a mail is first
    classified: `LazyTriage`); tests may pass their own (or None), and their own `deliver`
    (the default sends by SMTP or writes the outbox directory). `ahead_started`: triage
    ahead started already for this config (`run --once` starts it first of all).
    """
    if config.acknowledgements.enabled and config.smtp is None and config.outbox_dir is None:
        log.warning(
            "acknowledgements are queued but not sent: configure [smtp] "
            "(or [outbox] directory) to deliver them"
        )
    return Pipeline(
        config,
        db,
        source_factory=source_factory,
        stop_event=stop_event,
        triage=_triage(config, triage, lazy),
        acknowledger=TemplateAcknowledger(config),
        hooks=default_hooks(config),
        deliver=with_pushes(config, db, deliver or (lambda: deliver_outbox(db, config))),
        # A delivery of the tests' own stays in this process, where they can see it.
        courier=(lambda: delivering(config)) if deliver is None and usable(config) else None,
        trust=TrustChecks(config),
        # A backlog is classified beside the stages by the configured triage, loaded again
        # in a process of its own; a triage the tests pass stays in this process.
        ahead=triage_settings(config) if triage is True else None,
        ahead_started=ahead_started,
    )
