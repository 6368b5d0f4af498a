"""The real `mailbot run` as a process of its own over a Maildir, for fault and kill tests.

`Bench` writes mail into a Maildir and a config whose outgoing mail goes to a folder of .eml
files, starts the daemon (optionally after a few lines of Python that plant a fault), keeps its
log in a file for every failing assertion, and checks the end state a fault must not spoil:
each mail stored once, filed once, answered once, written once, and none left waiting.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import func, select

from mailbot.storage.db import Database, open_database
from mailbot.storage.models import Item, MessageState, OutboxMail, OutboxState, StoredMessage
from tests.support.configs import _routed

SUBJECTS = (
    "Login broken",
    "Please change the logo",
    "Export fails with error 500",
    "Thanks, that works now",
    "Can we add a second language?",
)

# Starts mailbot after running the Python in argv[1]; the rest of argv is mailbot's.
STARTER = """
import sys
exec(sys.argv[1])
from mailbot.cli import main
sys.exit(main(sys.argv[2:]))
"""


# One Python with mailbot imported and the triage model loaded, forking each run on request
# (a JSON line: log, env, prelude, argv); it answers with the child's pid, then its exit code.
FORK_SERVER = """
import json, os, sys, traceback
import mailbot.app, mailbot.cli, mailbot.daemon
from mailbot.config import load_config
triage = mailbot.app.load_triage(load_config(sys.argv[1]))
mailbot.app.load_triage = lambda config: triage
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    order = json.loads(line)
    pid = os.fork()
    if pid == 0:
        fd = os.open(order["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ.update(order["env"])
        code = 70
        try:
            exec(order["prelude"], {})
            code = mailbot.cli.main(order["argv"])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"pid": pid, "code": os.waitstatus_to_exitcode(status)}), flush=True)
"""


def wait_progressing(
    condition: Callable[[], bool], progress: Callable[[], object], stall: float
) -> bool:
    """Like `wait_for`, for a long drain: gives up only when `progress()` stood still for
    `stall` seconds, however long the whole takes on a busy machine."""
    last, since = progress(), time.monotonic()
    while not condition():
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > stall:
            return False
        time.sleep(0.3)
    return True


class ForkServer:
    """Starts `mailbot` runs in milliseconds: forked from a process that has imported it.

    Restarting a killed daemon a hundred times would otherwise spend minutes importing.
    Runs go one at a time; `start` returns the pid, `wait` its exit code (-9: SIGKILL).
    """

    def __init__(self, config: Path) -> None:
        self.config = config
        self.server = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER, str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.pid: int | None = None
        assert self._answer(300) == {"ready": True}, "the fork server did not start"

    def _answer(self, timeout: float) -> dict[str, int] | None:
        assert self.server.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.server.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        line = self.server.stdout.readline()
        assert line, "the fork server ended"
        return dict(json.loads(line))

    def start(
        self, log: Path, prelude: str, env: dict[str, str], *args: str, config: Path | None = None
    ) -> int:
        """Fork `mailbot --config CONFIG ARGS` (default: the server's config, `run`).

        Another config must load the same triage model: the server loaded it once.
        """
        assert self.server.stdin is not None and self.pid is None
        argv = ["--config", str(config or self.config), *(args or ("run",))]
        order = {"log": str(log), "prelude": prelude, "env": env, "argv": argv}
        self.server.stdin.write(json.dumps(order) + "\n")
        self.server.stdin.flush()
        answer = self._answer(60)
        assert answer is not None, "the fork server did not fork"
        self.pid = answer["pid"]
        return self.pid

    def wait(self, timeout: float) -> int | None:
        """The run's exit code, or None if it is still running after `timeout` seconds."""
        answer = self._answer(timeout)
        if answer is None:
            return None
        assert answer["pid"] == self.pid
        self.pid = None
        return answer["code"]

    def stop(self) -> int | None:
        """SIGTERM the run (a second one after a minute), then its exit code."""
        if self.pid is None:
            return None
        os.kill(self.pid, signal.SIGTERM)
        code = self.wait(60)
        if code is None and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            code = self.wait(60)
        return code

    def close(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait(60)
        assert self.server.stdin is not None
        self.server.stdin.close()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def client_mail(n: int) -> bytes:
    subject = f"{SUBJECTS[n % len(SUBJECTS)]} ({n})"
    return (
        f"From: Anna <anna@acme.example>\r\nTo: team@agency.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <m{n}@acme.example>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nMail number {n}: the checkout "
        f"fails on order {1000 + n}.\r\n"
    ).encode()


class Bench:
    """A Maildir, a database, an outbox folder and a config for `mailbot run`."""

    def __init__(
        self,
        folder: Path,
        *,
        outbox: Path | None = None,
        database: Path | None = None,
        extra: str = "",
    ) -> None:
        self.folder = folder
        self.maildir = folder / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        self.outbox = outbox or folder / "outbox"
        database = database or folder / "mb.sqlite3"
        self.url = _routed(f"sqlite:///{database}", folder)
        self.config = folder / "mailbot.toml"
        self.config.write_text(
            f'[mailbox]\nname = "local"\nkind = "maildir"\npath = "{self.maildir}"\n'
            "idle = false\npoll_interval = 0.5\n"
            f'[database]\nurl = "{self.url}"\n'
            "[processing]\nretry_delay = 1\n"
            '[site]\nname = "Agency"\naddress = "team@agency.example"\n'
            'domain = "agency.example"\n'
            f'[outbox]\ndirectory = "{self.outbox}"\n'
            "[acknowledgements]\nmax_per_sender_per_hour = 100000\n"
            '[[projects]]\nkey = "ACME"\nname = "ACME"\nclient_domains = ["acme.example"]\n'
            + extra,
            encoding="utf-8",
        )
        self.delivered = 0
        self.logs: list[Path] = []
        self._db: Database | None = None

    # --- mail in ------------------------------------------------------------------------

    def deliver(self, count: int) -> None:
        """Write `count` new client mails into the Maildir's new/ (atomically, via tmp/)."""
        for _ in range(count):
            self.delivered += 1
            n = self.delivered
            tmp = self.maildir / "tmp" / f"{n}.M{n}.bench"
            tmp.write_bytes(client_mail(n))
            tmp.rename(self.maildir / "new" / tmp.name)

    def waiting(self) -> int:
        """Mails still in the Maildir's new/ (not taken in yet)."""
        return len(list((self.maildir / "new").iterdir()))

    # --- the daemon ---------------------------------------------------------------------

    def start(self, prelude: str = "", *args: str) -> subprocess.Popen[bytes]:
        """`mailbot run` (or `args`), after running `prelude`; its log goes to a file."""
        log = self.folder / f"daemon-{len(self.logs) + 1}.log"
        self.logs.append(log)
        command = args or ("run",)
        with log.open("wb") as sink:
            return subprocess.Popen(
                [sys.executable, "-c", STARTER, prelude, "--config", str(self.config), *command],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def fork(self, forks: ForkServer, prelude: str = "", env: dict[str, str] | None = None) -> int:
        """`mailbot run` forked by `forks` after running `prelude`; its log goes to a file."""
        log = self.folder / f"daemon-{len(self.logs) + 1}.log"
        self.logs.append(log)
        return forks.start(log, prelude, env or {})

    def stop(self, daemon: subprocess.Popen[bytes]) -> int:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        return daemon.returncode

    def log(self, last: int = 60, runs: int = 3) -> str:
        """The end of the last few daemons' logs, for an assertion message."""
        parts = []
        for path in self.logs[-runs:]:
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- {path.name} ---\n" + "\n".join(lines[-last:]))
        return "\n".join(parts) + "\n" + self.summary()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    # --- what came of it ----------------------------------------------------------------

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def count(self, model: type, *where: object) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def count_stored(self) -> int:
        return self.count(StoredMessage)

    def answered(self) -> int:
        return self.count(StoredMessage, StoredMessage.state == MessageState.ANSWERED)

    def written(self) -> list[Path]:
        return sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []

    def done(self) -> bool:
        """Every delivered mail answered and every outgoing mail written."""
        return (
            self.waiting() == 0
            and self.answered() == self.delivered
            and self.count(OutboxMail, OutboxMail.state != OutboxState.SENT) == 0
            and len(self.written()) == self.count(OutboxMail)
        )

    def summary(self) -> str:
        try:
            with self.db.session() as s:
                states = dict(
                    s.execute(
                        select(StoredMessage.state, func.count()).group_by(StoredMessage.state)
                    ).all()
                )
                outbox = dict(
                    s.execute(
                        select(OutboxMail.state, func.count()).group_by(OutboxMail.state)
                    ).all()
                )
        except Exception as err:  # the summary must never hide the real failure
            return f"(no summary: {err})"
        return (
            f"delivered {self.delivered}, waiting {self.waiting()}, messages {states}, "
            f"outbox {outbox}, files {len(self.written())}"
        )

    def assert_each_once(self) -> None:
        """Nothing lost, nothing doubled: one message, item, answer and file per mail."""
        n = self.delivered
        report = self.log()
        assert self.waiting() == 0, report
        with self.db.session() as s:
            ids = [str(i).strip("<>") for i in s.scalars(select(StoredMessage.message_id))]
            assert sorted(ids) == sorted(f"m{i}@acme.example" for i in range(1, n + 1)), report
            states = s.scalars(select(StoredMessage.state)).all()
            assert set(states) == {MessageState.ANSWERED}, report
            assert s.scalar(select(func.count()).select_from(Item)) == n, report
            outbox = s.scalars(select(OutboxMail)).all()
            assert len(outbox) == n and {o.state for o in outbox} == {OutboxState.SENT}, report
            unclaimed = s.scalar(
                select(func.count())
                .select_from(OutboxMail)
                .where(OutboxMail.claimed_by.is_not(None))
            )
            assert unclaimed == 0, report
        files = self.written()
        replies = [str(message_from_bytes(p.read_bytes())["In-Reply-To"]) for p in files]
        assert sorted(replies) == sorted(f"<m{i}@acme.example>" for i in range(1, n + 1)), report
        assert not list(self.outbox.glob("*.tmp")), report
