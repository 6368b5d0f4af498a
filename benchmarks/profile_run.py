"""Profile `mailbot run --once` in process: a Maildir of N mails, triage, filing, and an
acknowledgement for each written to an outbox folder (no servers needed), or with `--smtp`
sent to aiosmtpd on loopback (its thread is not in the profile).

Prints the rate under the profiler, the process's CPU time, the stages' cumulative times
and the top entries by own time; the profile is kept for `python -m pstats`.

    .venv/bin/python benchmarks/profile_run.py [--n 2000] [--database-url URL] [--smtp]
        [--out run.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import mailbox
import os
import pstats
import re
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from mailbot.cli import main as mailbot_main  # noqa: E402
from tests.servers.smtp import SmtpSink  # noqa: E402
from tests.support.mails import make_mails  # noqa: E402

STAGES = [
    ("intake: fetch, store, parse, move", r"machine.py:\d+\(_intake\)"),
    ("classify (triage, sender and spam checks)", r"machine.py:\d+\(_classify\)"),
    ("file and answer batches", r"machine.py:\d+\(_batch\)"),
    ("  filing one message", r"file.py:\d+\(file_message\)"),
    ("  acknowledging one message", r"answer.py:\d+\(acknowledge\)"),
    ("    composing the reply", r"compose.py:\d+\(compose_reply\)"),
    ("  the rules", r"engine.py:\d+\(run\)"),
    ("delivering the outbox", r"delivery.py:\d+\(deliver_outbox\)"),
]
CONFIG = """
[mailbox]
name = "support"
kind = "maildir"
path = "{root}/Maildir"
[database]
url = "{url}"
[logging]
level = "WARNING"
[site]
name = "Agency team"
address = "team@agency.example"
[[projects]]
key = "CLIENT"
name = "Client portal"
client_domains = ["client.example"]
[acknowledgements]
max_per_sender_per_hour = 1000000
{transport}
"""
FOLDER = """[outbox]
directory = "{root}/outbox"
"""
SMTP = """[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
"""


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def backlog(root: Path, n: int, *, url: str, transport: str) -> Path:
    """A Maildir of `n` benchmark mails under `root` and the config that reads it; its path."""
    box = mailbox.Maildir(root / "Maildir", create=True)
    for mail in make_mails(n):
        box.add(mail)
    config = root / "mailbot.toml"
    config.write_text(CONFIG.format(root=root, url=url, transport=transport))
    return config


class Databases:
    """A database for each measure: a SQLite file, or a throw-away one on a PostgreSQL server."""

    def __init__(self, server_url: str | None) -> None:
        self.server_url = server_url
        self.made: list[str] = []

    def new(self, folder: Path) -> str:
        if self.server_url is None:
            return f"sqlite:///{folder}/mb.sqlite3"
        name = f"mailbot_bench_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.made:
            return
        with self._admin() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.made.clear()

    @contextmanager
    def _admin(self) -> Iterator:  # type: ignore[type-arg]
        assert self.server_url is not None
        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


def cumulative(stats: pstats.Stats, pattern: str) -> float:
    found = [v[3] for k, v in stats.stats.items() if _matches(k, pattern)]  # type: ignore[attr-defined]
    return max(found, default=0.0)


def _matches(key: tuple[str, int, str], pattern: str) -> bool:
    filename, line, name = key
    return "/mailbot/" in filename and bool(re.search(pattern, f"{filename}:{line}({name})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--smtp", action="store_true", help="send to aiosmtpd on loopback")
    parser.add_argument("--out", default="run.prof")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        url = args.database_url or f"sqlite:///{root}/mb.sqlite3"
        sink = stack.enter_context(SmtpSink()) if args.smtp else None
        transport = SMTP.format(port=sink.port) if sink else FOLDER.format(root=root)
        config = backlog(root, args.n, url=url, transport=transport)
        profile = cProfile.Profile()
        cpu, started = cpu_seconds(), time.perf_counter()
        profile.enable()
        code = mailbot_main(["--config", str(config), "run", "--once"])
        profile.disable()
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        written = len(sink.messages) if sink else len(list((root / "outbox").glob("*.eml")))
    profile.dump_stats(args.out)
    if code:
        raise SystemExit(f"mailbot run --once exited with {code}")
    done = "sent" if sink else "written"
    print(f"{args.n} mails, {written} acknowledgements {done}: {elapsed:.1f} s under the profiler")
    print(f"({args.n / elapsed:.0f} mails/s), {cpu:.1f} s CPU ({args.n / cpu:.0f} mails per CPU s)")
    stats = pstats.Stats(args.out)
    total = stats.total_tt  # type: ignore[attr-defined]
    for label, pattern in STAGES:
        seconds = cumulative(stats, pattern)
        print(f"{label:45s} {seconds:7.1f} s  {seconds / total:5.0%}")
    out = io.StringIO()
    pstats.Stats(args.out, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue().split("\n\n", 2)[-1].replace(str(ROOT) + "/", "").replace(os.sep * 2, ""))


if __name__ == "__main__":
    main()
