"""The pipeline's throughput in one run, on the same N mails, against the fetch + parse ceiling.

Against a real Dovecot (and aiosmtpd for the acknowledgements) on loopback, each measure on a
fresh copy of the same mails:

    raw fetch         imapclient alone (`BODY.PEEK[]`, batches of 100), best of 3 passes
    ceiling           raw fetch + mail-parser parse alone, best of 3 passes
    spine             fetch, parse, store, move, in this process (no later stage)
    run --once        the whole command, triage off (filing on)
    run --once        with triage and filing, no acknowledgements (`[acknowledgements]` off)
    run --once        with triage and filing (no SMTP configured: acknowledgements queued)
    whole pipeline    `run --once` with triage, filing and an acknowledgement per mail sent
    two daemons       on PostgreSQL only: two such `run --once` at the same time on one
                      database, each over its own mailbox with half of the mails (combined rate)

Each is printed as mails/s and as a share of the ceiling, with the peak RSS of the commands.
`--database-url` runs the stores on PostgreSQL: every measure gets a throw-away database of
its own on that server, dropped at the end.

    .venv/bin/python benchmarks/throughput.py [--n 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.e2e import drain, drain_together  # noqa: E402
from benchmarks.ingest import raw_fetch, run_once, spine  # noqa: E402
from benchmarks.profile_run import Databases  # noqa: E402
from tests.servers import DovecotServer  # noqa: E402
from tests.support.configs import write_config  # noqa: E402
from tests.support.mails import make_mails  # noqa: E402

PROJECT = {"key": "CLIENT", "name": "Client", "client_domains": ["client.example"]}
PASSES = 3  # of the raw fetch and of the ceiling, the best counts


def best_rate(account, *, parse: bool, passes: int = PASSES) -> float:  # type: ignore[no-untyped-def]
    """Mails per second of the fastest of `passes` fetches (with mail-parser: `parse`)."""
    rates = []
    for _ in range(passes):
        fetched, seconds = raw_fetch(account, parse=parse)
        rates.append(fetched / seconds)
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default SQLite)")
    args = parser.parse_args()
    n = args.n
    mails = make_mails(n)
    databases = Databases(args.database_url or None)
    rates: dict[str, float] = {}
    rss: dict[str, float] = {}
    try:
        with DovecotServer() as server, tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            account = server.add_account()
            account.append_many("INBOX", mails)
            # The best of a few passes: one pass takes a second or two, and on a shared
            # machine it moves by half from run to run, and every ratio with it.
            rates["raw fetch (imapclient)"] = best_rate(account, parse=False)
            rates["ceiling: fetch + mail-parser"] = best_rate(account, parse=True)

            account = server.add_account()
            account.append_many("INBOX", mails)
            (root / "spine").mkdir()
            rates["spine in process: fetch, parse, store, move"] = spine(
                account, databases.new(root / "spine")
            )
            rss["spine in process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

            for label, folder, settings in (
                ("run --once, triage off, filing on", "plain", {"triage": {"enabled": False}}),
                (
                    "run --once, triage and filing, no acknowledgements",
                    "filing",
                    {"acknowledgements": {"enabled": False}},
                ),
                ("run --once, triage and filing, acknowledgements queued", "triage", {}),
            ):
                account = server.add_account()
                account.append_many("INBOX", mails)
                (root / folder).mkdir()
                config = write_config(
                    root / folder / "mailbot.toml",
                    account.mailbox_config(),
                    databases.new(root / folder),
                    projects=[PROJECT],
                    logging={"level": "WARNING"},
                    **settings,
                )
                seconds, rss_kb, _log = run_once(config)
                assert not account.messages("INBOX"), "mail left in the inbox"
                rates[label] = n / seconds
                rss[label] = rss_kb / 1024

            (root / "acks").mkdir()
            _fetch_rate, rate, peak, acks = drain(server, n, databases.new(root / "acks"))
            assert acks == n, f"{acks} acknowledgements for {n} mails"
            rates["whole pipeline, acknowledgements sent over SMTP"] = rate
            rss["whole pipeline"] = peak
            if databases.server_url is not None:  # the backend several daemons share
                (root / "two").mkdir()
                rate, peak, acks = drain_together(server, n, databases.new(root / "two"))
                assert acks == n, f"{acks} acknowledgements for {n} mails"
                rates["two daemons on one database, combined"] = rate
                rss["two daemons (the larger)"] = peak
    finally:
        if databases.server_url is not None:
            databases.drop_all()

    ceiling = rates["ceiling: fetch + mail-parser"]
    backend = make_url(args.database_url).get_backend_name() if args.database_url else "sqlite"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
        f"{n} mails, database {backend}"
    )
    for label, rate in rates.items():
        print(f"{label:56s} {rate:8.0f} mails/s  {rate / ceiling:6.1%} of the ceiling")
    for label, mib in rss.items():
        print(f"peak RSS, {label:56s} {mib:6.0f} MiB")


if __name__ == "__main__":
    main()
