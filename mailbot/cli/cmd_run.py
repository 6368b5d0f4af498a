"""`mailbot run`: the daemon, or with --once a single drain (same code path)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import threading

from mailbot.cli.common import database, load
from mailbot.config import check_secrets
from mailbot.text import plural

NAME = "run"
HELP = (
    "the daemon: fetch new mail, store it, triage it, file it under its project's item and "
    "answer the client; with --once one pass over every mailbox, then exit"
)

log = logging.getLogger("mailbot.run")

# Objects made since its last look before the collector looks again (CPython's default is
# 700): a backlog makes millions, and each look costs much the same whatever it finds.
YOUNG_OBJECTS = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="drain every mailbox once and exit")
    parser.add_argument(
        "--no-ack",
        action="store_true",
        help="file everything but answer nobody (importing an inbox's history)",
    )


def run(args: argparse.Namespace) -> int:
    config = load(args)
    check_secrets(config)  # a missing password stops here, not at the first login
    if args.no_ack:
        acks = dataclasses.replace(config.acknowledgements, enabled=False)
        config = dataclasses.replace(config, acknowledgements=acks)
        log.info("--no-ack: mail is filed, nobody is answered")
    # --once: the model is not loaded here but in triage ahead, started first, so that it
    # loads while this process imports the rest and opens the database; it classifies
    # what comes, and is stopped at once if nothing does. The daemon loads the model at
    # once, so its first mail is answered as fast as the next.
    ahead = None
    if args.once:
        from mailbot.pipeline.ahead import TriageAhead, triage_settings

        settings = triage_settings(config)
        ahead = TriageAhead.start(settings) if settings is not None else None
    try:
        from mailbot.app import build_pipeline
        from mailbot.daemon import StopSignals, run_forever

        db = database(config)
    except BaseException:
        if ahead is not None:
            ahead.close()
        raise
    stop = threading.Event()
    StopSignals(stop).install()
    pipeline = build_pipeline(config, db, stop, lazy=args.once, ahead_started=ahead)
    settle_collector()
    try:
        if args.once:
            stats = pipeline.run_once()
            log.info(
                "drained %s: %d fetched, %d stored, %d duplicates, %d failed, "
                "%d filed, %d retried, %d set aside",
                plural(len(stats.mailboxes), "mailbox", "mailboxes"),
                stats.fetched,
                stats.stored,
                stats.duplicates,
                stats.failed,
                stats.filed,
                stats.retried,
                stats.set_aside,
            )
        else:
            run_forever(pipeline)
    finally:
        db.dispose()
    return 0


def settle_collector() -> None:
    """What start-up made (the modules, the daemon's triage model, the templates) lives as
    long as the process: set it aside from the garbage collector, which would otherwise walk
    all of it at every full collection, and let the collector look less often."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
