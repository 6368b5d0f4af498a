"""Ingest throughput against a real Dovecot on loopback.

APPENDs N realistic ~4 KB mails (en/zh, plain/HTML, some attachments), then times
in the same run: (a) raw fetch with imapclient alone, (b) raw fetch + mail-parser
parse alone (the practical ceiling), (c) `mailbot run --once` (fetch, parse, store,
move, with the exactly-once bookkeeping, then filing; triage off), (d) the ingest
spine alone in one process (fetch, parse, store, move: the file stage skipped), to
show what the spine costs beside filing, and (e) `mailbot run --once` with triage and
filing (no acknowledgements: no SMTP is configured). Prints the rates, each as a share
of (b), and peak RSS.

    .venv/bin/python benchmarks/ingest.py [--n 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mailparser  # noqa: E402

from mailbot.app import open_source  # noqa: E402
from mailbot.config import Config, TriageConfig  # noqa: E402
from mailbot.pipeline.machine import Pipeline, RunStats  # noqa: E402
from mailbot.storage.db import open_database  # noqa: E402
from tests.servers import DovecotServer  # noqa: E402
from tests.support.configs import write_config  # noqa: E402
from tests.support.mails import make_mails  # noqa: E402

BATCH = 100


def raw_fetch(account, parse: bool) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    n = 0
    with account.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        for i in range(0, len(uids), BATCH):
            fetched = client.fetch(uids[i : i + BATCH], ["BODY.PEEK[]"])
            for item in fetched.values():
                if parse:
                    mailparser.parse_from_bytes(item[b"BODY[]"])
                n += 1
    return n, time.perf_counter() - started


def run_once(config: Path) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/mailbot"), "--config", str(config), "run", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"mailbot run --once failed:\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss, err


class SpineOnly(Pipeline):
    """Intake alone (fetch, store, parse, move), to time the spine by itself."""

    def advance(self, failed_now=None, *, then_send=False, taking_in=None):  # type: ignore[no-untyped-def]
        return RunStats()


def spine(account, database_url: str | None = None) -> float:  # type: ignore[no-untyped-def]
    """Mails per second of the spine in this process (`database_url`: SQLite in a temp dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        box = account.mailbox_config()
        config = Config(
            mailboxes=(box,),
            database_url=database_url or f"sqlite:///{tmp}/spine.sqlite3",
            triage=TriageConfig(enabled=False),
        )
        db = open_database(config.database_url)
        started = time.perf_counter()
        stats = SpineOnly(config, db, source_factory=open_source).run_once()
        elapsed = time.perf_counter() - started
        db.dispose()
    return stats.stored / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    mails = make_mails(args.n)
    avg = sum(map(len, mails)) / len(mails)
    with DovecotServer() as server, tempfile.TemporaryDirectory() as tmp:
        account = server.add_account()
        t0 = time.perf_counter()
        account.append_many("INBOX", mails)
        append_s = time.perf_counter() - t0
        n_a, t_a = raw_fetch(account, parse=False)
        n_b, t_b = raw_fetch(account, parse=True)
        config = write_config(
            Path(tmp) / "mailbot.toml",
            account.mailbox_config(),
            "sqlite:///mb.sqlite3",
            logging={"level": "WARNING"},
            triage={"enabled": False},  # the ingest spine alone; benchmarks/e2e.py adds triage
        )
        t_c, rss_kb, _log = run_once(config)
        left = len(account.messages("INBOX"))
        spine_account = server.add_account()
        spine_account.append_many("INBOX", mails)
        rate_d = spine(spine_account)
        # Start-up cost alone: the same command on the now empty inbox.
        t_empty, _rss, _ = run_once(config)
        triage_account = server.add_account()
        triage_account.append_many("INBOX", mails)
        (Path(tmp) / "triage").mkdir()
        triage_config = write_config(
            Path(tmp) / "triage" / "mailbot.toml",
            triage_account.mailbox_config(),
            "sqlite:///mb.sqlite3",
            projects=[{"key": "CLIENT", "name": "Client", "client_domains": ["client.example"]}],
            logging={"level": "WARNING"},
        )
        t_e, rss_e_kb, _log = run_once(triage_config)
    assert n_a == n_b == args.n and left == 0, (n_a, n_b, left)
    rate_a, rate_b, rate_c = n_a / t_a, n_b / t_b, args.n / t_c
    rate_c_warm = args.n / max(t_c - t_empty, 1e-9)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"messages: {args.n}, average size {avg / 1024:.1f} KiB, APPEND took {append_s:.1f}s")
    print(f"(a) raw fetch, imapclient alone:        {rate_a:8.0f} msgs/s")
    print(f"(b) raw fetch + mail-parser parse:      {rate_b:8.0f} msgs/s")
    print(f"(c) mailbot run --once (whole command): {rate_c:8.0f} msgs/s  ({t_c:.2f}s)")
    print(f"    start-up on an empty inbox:         {t_empty:8.2f} s")
    print(f"    (c) without start-up:               {rate_c_warm:8.0f} msgs/s")
    print(f"(d) spine alone in process (no filing): {rate_d:8.0f} msgs/s")
    print(f"(e) run --once with triage and filing:   {args.n / t_e:8.0f} msgs/s  ({t_e:.2f}s)")
    print(
        f"(c)/(b): {rate_c / rate_b:.0%} (without start-up {rate_c_warm / rate_b:.0%}); "
        f"(d)/(b): {rate_d / rate_b:.0%}; (e)/(b): {args.n / t_e / rate_b:.0%}"
    )
    print(
        f"peak RSS of mailbot run --once: {rss_kb / 1024:.0f} MiB, "
        f"with triage {rss_e_kb / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
