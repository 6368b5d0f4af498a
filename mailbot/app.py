"""Putting the stages together as configured: the one place that wires the pipeline."""

from __future__ import annotations

import logging
import threading

from mailbot.acknowledge import TemplateAcknowledger
from mailbot.config import Config
from mailbot.delivery import deliver_outbox
from mailbot.policies import default_hooks
from mailbot.runner import Ingest, load_triage
from mailbot.storage.db import Database

log = logging.getLogger("mailbot.app")


def build_ingest(config: Config, db: Database, stop_event: threading.Event | None = None) -> Ingest:
    """fetch → parse → classify → store → file → acknowledge → deliver, as the config says."""
    if config.acknowledgements.enabled and config.smtp is None and config.outbox_dir is None:
        log.warning(
            "acknowledgements are queued but not sent: configure [smtp] "
            "(or [outbox] directory) to deliver them"
        )
    return Ingest(
        config,
        db,
        stop_event=stop_event,
        triage=load_triage(config),
        acknowledger=TemplateAcknowledger(config),
        deliver=lambda: deliver_outbox(db, config),
        hooks=default_hooks(config),
    )
