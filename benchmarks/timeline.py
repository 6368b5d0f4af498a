"""Where a backlog's run goes, over time: `mailbot run --once` over a Maildir of N mails, the
CPU of each of its processes every half second, and how far the mail has come meanwhile.

Acknowledgements go to aiosmtpd on loopback, in this process (`--no-smtp`: queued, not sent).
Each line shows, for the last interval, the share of a core each process used (the stages'
process, its parse helpers, triage ahead, the courier; "sink" is this process, the SMTP
server), then the messages answered and the acknowledgements sent and waiting so far. It
reads /proc, so it runs on Linux only.

    .venv/bin/python benchmarks/timeline.py [--n 2000] [--no-smtp] [--every 0.5]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.profile_run import SMTP, backlog, cpu_seconds  # noqa: E402
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


def progress(database: Path) -> str:
    """Messages answered, acknowledgements sent and waiting, as the database says now."""
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:  # not created yet
        return ""
    try:
        (answered,) = db.execute(
            "SELECT count(*) FROM messages WHERE state = 'answered'"
        ).fetchone()
        outbox = dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    except sqlite3.Error:  # no tables yet, or locked for longer than a look may wait
        return ""
    finally:
        db.close()
    return f"{answered:8d} {outbox.get('sent', 0):6d} {outbox.get('pending', 0):8d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--no-smtp", action="store_true", help="queue acknowledgements only")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between two looks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        database = root / "mb.sqlite3"
        sink = None if args.no_smtp else stack.enter_context(SmtpSink())
        transport = SMTP.format(port=sink.port) if sink else ""
        config = backlog(root, args.n, url=f"sqlite:///{database}", transport=transport)
        roles: dict[int, str] = {}
        own_before = cpu_seconds()
        started = time.perf_counter()
        run = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config), "run", "--once"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows: list[tuple[float, dict[int, float], float, str]] = []
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
            rows.append((now, shares, (own - own_before) / args.every, progress(database)))
            own_before = own
        elapsed = time.perf_counter() - started
        sent = len(sink.messages) if sink else 0
    if run.returncode:
        raise SystemExit(f"mailbot run --once exited with {run.returncode}")
    pids = sorted(roles, key=lambda pid: (roles[pid] != "stages", pid))
    print(f"{args.n} mails, {sent} acknowledgements sent, {elapsed:.1f} s; share of a core:")
    names = " ".join(f"{roles[p]:>8}" for p in pids)
    print(f"{'t':>5} {names} {'sink':>6}  answered   sent  waiting")
    for now, shares, sink_share, done in rows:
        cells = " ".join(f"{shares.get(p, 0.0):8.2f}" for p in pids)
        print(f"{now:5.1f} {cells} {sink_share:6.2f}  {done}")
    print("CPU seconds: " + ", ".join(f"{roles[p]} {used[p]:.2f}" for p in pids))


if __name__ == "__main__":
    main()
