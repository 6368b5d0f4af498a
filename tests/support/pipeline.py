"""The production pipeline for tests: `mailbot.app.build_pipeline`, with test doubles only
where a test names them (a triage, a delivery)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mailbot.app import build_pipeline
from mailbot.config import Config
from mailbot.pipeline.machine import Pipeline
from mailbot.storage.db import Database


def make_pipeline(
    config: Config,
    db: Database,
    *,
    triage: Any = None,
    deliver: Callable[[], object] | None = None,
    stop_event: threading.Event | None = None,
) -> Pipeline:
    """The pipeline exactly as `mailbot run` wires it; `triage=None` leaves triage off."""
    return build_pipeline(config, db, stop_event, triage=triage, deliver=deliver)
