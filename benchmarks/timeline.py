"""Where a backlog's run goes, over time: `mailbot run --once` over a Maildir of N mails, the
CPU of each of its processes every half second, and how far the mail has come meanwhile.

Acknowledgements go to aiosmtpd on loopback, in this process (`--no-smtp`: queued, not sent).
Each line shows, for the last interval, the share of a core each process used (the stages'
process, its parse helpers, triage ahead, the courier; "sink" is this process, the SMTP
server; "server" the PostgreSQL server's processes serving the run's database), then the
messages answered and the acknowledgements sent and waiting so far. `--database-url` runs on
a throw-away database of that PostgreSQL server, dropped at the end. It reads /proc, so it
runs on Linux only.

    .venv/bin/python benchmarks/timeline.py [--n 2000] [--no-smtp] [--every 0.5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from benchmarks.profile_run import (  # noqa: E402
    SMTP,
    Databases,
    backlog,
    cpu_seconds,
)
from tests.servers.smtp import SmtpSink  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += tree(int(child))
    except OSError:  # ended meanwhile
        pass
    return found


def cpu_of(pid: int) -> float | None:
    """The CPU seconds process `pid` has used so far (None: it ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def role(pid: int) -> str:
    """What the process is: the module it runs (`mailbot.outgoing.courier` → courier)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    module = next((a for a in args if a.startswith("mailbot.")), "")
    return {"budget": "parse", "ahead": "triage"}.get(
        module.rsplit(".", 1)[-1], module.rsplit(".", 1)[-1] or "stages"
    )


def server_cpu(database: str) -> float:
    """The CPU seconds used so far by the live PostgreSQL processes serving `database`."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            total += cpu_of(int(entry)) or 0.0
    return total


def progress(engine: Engine) -> str:
    """Messages answered, acknowledgements sent and waiting, as the database says now."""
    try:
        with engine.connect() as db:
            answered = db.execute(
                text("SELECT count(*) FROM messages WHERE state = 'answered'")
            ).scalar_one()
            outbox = dict(
                db.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")).all()  # type: ignore[arg-type]
            )
    except Exception:  # no tables yet, or locked for longer than a look may wait
        return ""
    return f"{answered:8d} {outbox.get('sent', 0):6d} {outbox.get('pending', 0):8d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--no-smtp", action="store_true", help="queue acknowledgements only")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between two looks")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server's URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        databases = Databases(args.database_url or None)
        stack.callback(databases.drop_all)
        url = databases.new(root)
        server = make_url(url).database if args.database_url else None
        sink = None if args.no_smtp else stack.enter_context(SmtpSink())
        transport = SMTP.format(port=sink.port) if sink else ""
        config = backlog(root, args.n, url=url, transport=transport)
        # Read only and not kept open: a look never creates the file nor holds up a writer.
        looked_at = url if server else f"sqlite:///file:{root}/mb.sqlite3?mode=ro&uri=true"
        looks = create_engine(looked_at, poolclass=NullPool)
        stack.callback(looks.dispose)
        server_before = server_cpu(server) if server else 0.0
        roles: dict[int, str] = {}
        own_before = cpu_seconds()
        started = time.perf_counter()
        run = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config), "run", "--once"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows: list[tuple[float, dict[int, float], float, float, str]] = []
        used: dict[int, float] = {}  # CPU seconds of each process so far
        while run.poll() is None:
            time.sleep(args.every)
            now = time.perf_counter() - started
            shares: dict[int, float] = {}
            for pid in tree(run.pid):
                seconds = cpu_of(pid)
                if seconds is None:
                    continue
                roles.setdefault(pid, role(pid))
                shares[pid] = (seconds - used.get(pid, 0.0)) / args.every
                used[pid] = seconds
            own = cpu_seconds()
            served = server_cpu(server) if server else 0.0
            # The server's processes that ended meanwhile are not counted: a little less.
            server_share = max(served - server_before, 0.0) / args.every
            sink_share = (own - own_before) / args.every
            rows.append((now, shares, sink_share, server_share, progress(looks)))
            own_before, server_before = own, served
        elapsed = time.perf_counter() - started
        sent = len(sink.messages) if sink else 0
    if run.returncode:
        raise SystemExit(f"mailbot run --once exited with {run.returncode}")
    pids = sorted(roles, key=lambda pid: (roles[pid] != "stages", pid))
    print(f"{args.n} mails, {sent} acknowledgements sent, {elapsed:.1f} s; share of a core:")
    names = " ".join(f"{roles[p]:>8}" for p in pids)
    server_column = f" {'server':>6}" if args.database_url else ""
    print(f"{'t':>5} {names} {'sink':>6}{server_column}  answered   sent  waiting")
    for now, shares, sink_share, server_share, done in rows:
        cells = " ".join(f"{shares.get(p, 0.0):8.2f}" for p in pids)
        served = f" {server_share:6.2f}" if args.database_url else ""
        print(f"{now:5.1f} {cells} {sink_share:6.2f}{served}  {done}")
    print("CPU seconds: " + ", ".join(f"{roles[p]} {used[p]:.2f}" for p in pids))


if __name__ == "__main__":
    main()
