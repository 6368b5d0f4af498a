"""End to end: real Dovecot in, the real pipeline (triage, filing, acknowledgements), real SMTP out.

(a) latency from IMAP APPEND to the acknowledgement arriving at the SMTP server, with the daemon
    in IDLE, p50 and p95 over N mails sent one at a time;
(b) `mailbot run --once` over M mails with classification, filing and acknowledgements:
    mails per second and peak RSS, beside the raw fetch rate from the same run.

    .venv/bin/python benchmarks/e2e.py [--latency 100] [--drain 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import raw_fetch  # noqa: E402
from tests.servers import DovecotServer  # noqa: E402
from tests.servers.smtp import SmtpSink  # noqa: E402
from tests.support.configs import write_config  # noqa: E402
from tests.support.mails import make_mail, make_mails  # noqa: E402

MAILBOT = str(ROOT / ".venv/bin/mailbot")
PROJECT = {"key": "CLIENT", "name": "Client portal", "client_domains": ["client.example"]}
SITE = {"name": "Agency team", "address": "team@agency.example"}
# The benchmark's few senders write thousands of mails; lift the loop guard for it.
ACKS = {"max_per_sender_per_hour": 1_000_000}


def config_for(  # type: ignore[no-untyped-def]
    folder: Path, account, sink: SmtpSink, database_url: str = "sqlite:///mb.sqlite3"
) -> Path:
    return write_config(
        folder / "mailbot.toml",
        account.mailbox_config(idle=True),
        database_url,
        projects=[PROJECT],
        smtp_port=sink.port,
        site=SITE,
        acknowledgements=ACKS,
        logging={"level": "WARNING"},
    )


def latency(server: DovecotServer, n: int) -> list[float]:
    account = server.add_account()
    with SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        cfg = config_for(Path(tmp), account, sink)
        proc = subprocess.Popen([MAILBOT, "--config", str(cfg), "run"], stderr=subprocess.PIPE)
        try:
            time.sleep(3.0)  # model loaded, connected, idling
            samples = []
            for i in range(n):
                started = time.perf_counter()
                account.append("INBOX", make_mail(10_000 + i, lang="zh" if i % 2 else "en"))
                sink.wait_for(i + 1, timeout=30)
                samples.append(time.perf_counter() - started)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    return samples


def drain(
    server: DovecotServer, n: int, database_url: str = "sqlite:///mb.sqlite3"
) -> tuple[float, float, float, int]:
    account = server.add_account()
    account.append_many("INBOX", make_mails(n))
    fetched, fetch_s = raw_fetch(account, parse=False)
    with SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        cfg = config_for(Path(tmp), account, sink, database_url)
        started = time.perf_counter()
        proc = subprocess.Popen(
            [MAILBOT, "--config", str(cfg), "run", "--once"], stderr=subprocess.PIPE
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(proc.stderr.read().decode()[-3000:] if proc.stderr else "failed")
        acks = len(sink.wait_for(n, timeout=60))
    return fetched / fetch_s, n / elapsed, usage.ru_maxrss / 1024, acks


def drain_together(
    server: DovecotServer, n: int, database_url: str, daemons: int = 2
) -> tuple[float, float, int]:
    """`daemons` `run --once` processes at the same time on one database, each over a mailbox
    of its own with its share of the same N mails: the combined rate, the largest peak RSS
    and the acknowledgements sent."""
    mails = make_mails(n)
    accounts = []
    for k in range(daemons):
        account = server.add_account()
        account.append_many("INBOX", mails[k::daemons])
        accounts.append(account)
    with SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        configs = []
        for k, account in enumerate(accounts):
            folder = Path(tmp) / f"daemon{k}"
            folder.mkdir()
            configs.append(config_for(folder, account, sink, database_url))
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [MAILBOT, "--config", str(cfg), "run", "--once"], stderr=subprocess.PIPE
            )
            for cfg in configs
        ]
        peaks = []
        for proc in procs:
            _pid, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(proc.stderr.read().decode()[-3000:] if proc.stderr else "failed")
            peaks.append(usage.ru_maxrss / 1024)
        elapsed = time.perf_counter() - started
        acks = len(sink.wait_for(n, timeout=60))
    return n / elapsed, max(peaks), acks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=100)
    parser.add_argument("--drain", type=int, default=2000)
    args = parser.parse_args()
    with DovecotServer() as server:
        samples = latency(server, args.latency)
        fetch_rate, rate, rss, acks = drain(server, args.drain)
    q = statistics.quantiles(samples, n=100)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"(a) APPEND -> acknowledgement at SMTP, IDLE, {len(samples)} mails: "
        f"p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
    )
    print(
        f"(b) run --once over {args.drain} mails (triage, filing, {acks} acknowledgements sent): "
        f"{rate:.0f} mails/s, peak RSS {rss:.0f} MiB; raw fetch in the same run {fetch_rate:.0f}/s"
    )


if __name__ == "__main__":
    main()
