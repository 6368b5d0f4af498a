"""The connectors' cost: filing with a tracker configured, and pushing to a real Redmine.

(a) `mailbot run --once`'s intake and stages over N mails (its delivery left out), with no
    connector, then with a Redmine tracker: what writing the push rows adds to filing.
(b) the worker pushing those N items to a real Redmine (Debian's package, started here on
    loopback): issues made per second, then one "updated since" poll over them.

    .venv/bin/python benchmarks/connectors.py            # N = 200
    .venv/bin/python benchmarks/connectors.py --mails 50
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.connectors.worker import Connectors  # noqa: E402
from tests.servers.redmine import RedmineServer, redmine_available  # noqa: E402
from tests.support.pipeline import ACME, MaildirBot  # noqa: E402


def file_mails(folder: Path, project: object, mails: int) -> tuple[float, MaildirBot]:
    bot = MaildirBot(folder, projects=(project,))
    for n in range(mails):
        bot.deliver(f"client{n}@acme.example", f"Problem number {n}", "It is broken. " * 20)
    pipeline = bot.pipeline()
    box = bot.config.mailboxes[0]
    started = time.perf_counter()
    # run --once without its delivery step: intake, then every stage up to filed and answered.
    with pipeline.source_factory(box, pipeline.stop_event) as source:
        pipeline.intake(source, box, set())
    pipeline.advance()
    return time.perf_counter() - started, bot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    args = parser.parse_args()
    why = redmine_available()
    if why is not None:
        print(f"cannot run: {why}")
        return 1
    with tempfile.TemporaryDirectory() as tmp, RedmineServer(Path(tmp) / "redmine") as redmine:
        alone, bot = file_mails(Path(tmp) / "alone", ACME, args.mails)
        bot.close()
        tracked = dataclasses.replace(ACME, tracker=redmine.tracker_config())
        with_tracker, bot = file_mails(Path(tmp) / "tracked", tracked, args.mails)
        print(
            f"(a) intake and stages over {args.mails} mails: {args.mails / alone:.0f} mails/s "
            f"alone, {args.mails / with_tracker:.0f} mails/s with a tracker (its push rows)"
        )
        connectors = Connectors(bot.config, bot.db)
        started = time.perf_counter()
        stats = connectors.run(until_done=True)
        pushed = time.perf_counter() - started
        print(
            f"(b) {stats.done} issues pushed to Redmine in {pushed:.1f} s: "
            f"{stats.done / pushed:.1f} issues/s (a lookup by marker and a create each)"
        )
        project = bot.config.projects[0]
        started = time.perf_counter()
        found = connectors.tracker(project).updated_since(datetime.now(UTC) - timedelta(hours=1))
        print(
            f"    one poll over {len(found)} updated issues: {time.perf_counter() - started:.2f} s"
        )
        bot.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
