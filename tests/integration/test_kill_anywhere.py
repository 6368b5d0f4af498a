"""kill -9 at random points of the whole running daemon, restarted each time until it drains.

Each round delivers more client mail into the Maildir and starts `mailbot run` (the daemon,
triage, filing and its hooks, acknowledgements over SMTP to a real aiosmtpd, the report
schedule) with a killer planted in it: SIGKILL just before or just after a database commit
(seeded, one chance in KILL_ODDS), right after the SMTP server accepted a mail, or at a random
moment from a timer. Halfway through, the daemon's clock moves past the PM digest's time and
the weekly report's, so both fall due among the kills.

At the end every mail is stored once, is one item, is answered once; the digest and the
weekly report are made once; no outgoing mail is left pending or claimed; and the SMTP server
got every outgoing mail. A mail goes out twice only when the kill fell between the server's
acceptance and the commit that records it (the same bytes and Message-ID; the killer notes
those kills and the test counts them). A kill while the mail was on its way, or while the
commit recording it was under way, may or may not send it twice; any other kill must not.

The default run: 20 kills over 200 mails. `pytest -m soak`: 100 kills over 2,000 mails.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.storage.models import (
    Item,
    MessageState,
    OutboxMail,
    OutboxState,
    Report,
    StoredMessage,
)
from tests.integration.running import Bench, ForkServer, wait_progressing
from tests.integration.soak import soak_test
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

SHIFT = timedelta(hours=3)  # how far the clock jumps halfway; the reports are due by then

# Planted before mailbot starts; reads KILL_* from the environment.
KILLER = r"""
import datetime as _dt, os, random, signal, threading
import mailbot.daemon
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

class ShiftedClock(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        with open(os.environ["KILL_CLOCK"]) as f:
            return _dt.datetime.now(tz) + _dt.timedelta(seconds=float(f.read() or 0))

mailbot.daemon.datetime = ShiftedClock  # the report schedule's clock

odds = int(os.environ["KILL_ODDS"])
if odds:
    rng = random.Random(int(os.environ["KILL_SEED"]))
    # Where each sending thread is between the server's acceptance of a mail and the
    # session's hearing that it is recorded. A kill labels itself from these; `held`
    # keeps them still while it does, so a sender cannot commit between the label and
    # the kill (the label would then claim a double that never happens).
    held = threading.RLock()
    on_the_wire = set()  # the mail's end written: the server may have taken it or not
    unrecorded = set()  # the server took it; the commit that records it has not begun
    committing = set()  # that commit has begun: recorded or not, the kill cannot tell

    def die(where):
        with held:
            if unrecorded:
                where += " (sent, not recorded)"
            elif committing:
                where += " (being recorded)"
            elif on_the_wire:
                where += " (being sent)"
            fd = os.open(os.environ["KILL_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, (where + "\n").encode())
            os.kill(os.getpid(), signal.SIGKILL)

    def point(where):
        if rng.randrange(odds) == 0:
            die(where)

    @event.listens_for(Engine, "commit")
    def _before(connection):
        with held:
            point("before a commit")
            me = threading.get_ident()
            if me in unrecorded:
                unrecorded.discard(me)
                committing.add(me)

    @event.listens_for(Session, "after_commit")
    def _after(session):
        with held:
            me = threading.get_ident()
            unrecorded.discard(me)
            committing.discard(me)
            on_the_wire.discard(me)
            point("after a commit")

    import mailbot.outgoing.smtp
    sendmail = mailbot.outgoing.smtp.sendmail  # what the outbox's drain hands each mail to

    def accepted(*args, **kwargs):
        with held:
            on_the_wire.add(threading.get_ident())
        answer = sendmail(*args, **kwargs)
        with held:
            unrecorded.add(threading.get_ident())
            point("after the SMTP server accepted a mail")
        return answer

    mailbot.outgoing.smtp.sendmail = accepted
    timer = threading.Timer(rng.uniform(2.0, 8.0), die, args=("at a random moment",))
    timer.daemon = True
    timer.start()
"""


def _run(tmp_path: Path, *, kills: int, mails: int, odds: int) -> None:
    clock = tmp_path / "clock"
    clock.write_text("0")
    kill_log = tmp_path / "kills"
    due = datetime.now(UTC) + SHIFT - timedelta(minutes=10)
    with SmtpSink() as sink:
        bench = Bench(
            tmp_path,
            extra=(
                f'pm = "lena@agency.example"\npm_name = "Lena"\n'
                f'[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\nsecurity = "none"\n'
                "timeout = 10\n"
                '[schedules]\nenabled = true\ntimezone = "UTC"\ndigest_days = "daily"\n'
                f'digest_time = "{due:%H:%M}"\nsummary_day = "{due:%A}"\n'
                f'summary_time = "{due:%H:%M}"\nsummary_hold_first = false\n'
            ),
        )
        forks = ForkServer(bench.config)
        try:
            for round_ in range(kills):
                bench.deliver(mails // kills)
                if round_ == kills // 2:
                    clock.write_text(str(SHIFT.total_seconds()))
                bench.fork(forks, KILLER, _env(clock, kill_log, seed=round_, odds=odds))
                code = forks.wait(timeout=120)
                if code is None:
                    forks.stop()
                    raise AssertionError("the killer never fired\n" + bench.log())
                assert code == -9, bench.log()
            bench.fork(forks, KILLER, _env(clock, kill_log, seed=0, odds=0))
            try:
                drained = wait_progressing(
                    lambda: _drained(bench, sink),
                    lambda: (bench.answered(), len(sink.messages), bench.count(Report)),
                    stall=120,
                )
                assert drained, bench.log()
            finally:
                code = forks.stop()
            assert code == 0, bench.log()
            _assert_each_once(bench, sink, kill_log.read_text().splitlines(), kills)
        finally:
            forks.close()
            bench.close()


def _env(clock: Path, kill_log: Path, *, seed: int, odds: int) -> dict[str, str]:
    return {
        "KILL_CLOCK": str(clock),
        "KILL_LOG": str(kill_log),
        "KILL_SEED": str(seed),
        "KILL_ODDS": str(odds),
    }


def _drained(bench: Bench, sink: SmtpSink) -> bool:
    """Every mail answered, both reports made, the outbox empty and all of it received."""
    if bench.waiting() or bench.answered() != bench.delivered:
        return False
    if bench.count(Report) < 2 or bench.count(OutboxMail, OutboxMail.state != OutboxState.SENT):
        return False
    with bench.db.session() as s:
        ids = set(s.scalars(select(OutboxMail.message_id)))
    received = {_message_id(m.content) for m in sink.messages}
    return ids <= received


def _message_id(raw: bytes) -> str:
    return str(message_from_bytes(raw)["Message-ID"]).strip().strip("<>")


def _assert_each_once(bench: Bench, sink: SmtpSink, kills: list[str], rounds: int) -> None:
    report = bench.log() + "\nkills:\n" + "\n".join(kills)
    assert len(kills) == rounds, report
    n = bench.delivered
    with bench.db.session() as s:
        ids = sorted(str(i).strip("<>") for i in s.scalars(select(StoredMessage.message_id)))
        assert ids == sorted(f"m{i}@acme.example" for i in range(1, n + 1)), report
        assert set(s.scalars(select(StoredMessage.state))) == {MessageState.ANSWERED}, report
        # One item per thread of mail, none made twice: every item is some message's.
        items = s.scalar(select(func.count()).select_from(Item))
        used = s.scalar(select(func.count(func.distinct(StoredMessage.item_id))))
        assert items == used and items > 0, report
        reports = Counter(s.execute(select(Report.kind, Report.scope, Report.period)).all())
        assert sorted(kind for kind, _scope, _period in reports) == ["digest", "summary"], report
        assert set(reports.values()) == {1}, report
        outbox = s.scalars(select(OutboxMail)).all()
        assert {o.state for o in outbox} == {OutboxState.SENT}, report
        assert all(o.claimed_by is None for o in outbox), report
        acks = [o for o in outbox if o.kind == "ack"]
        assert len(acks) == n, report  # one acknowledgement per mail
        assert len({o.message_pk for o in acks}) == n, report
        kinds = Counter(o.kind for o in outbox)
        assert kinds["digest"] == 1 and kinds["summary"] == 1, (kinds, report)
        wanted = {o.message_id.strip("<>"): o.raw for o in outbox}
        ids_of = {o.message_id.strip("<>"): o.id for o in outbox}
    received = Counter(_message_id(m.content) for m in sink.messages)
    assert set(received) == set(wanted), report
    doubled = sum(count - 1 for count in received.values())
    twice = [ids_of[mid] for mid, count in received.items() if count > 1]
    report = _trace(bench, twice, kills) + report
    # Certain: the server had the mail and its record's commit had not begun. Maybe: the
    # kill fell while the mail was on its way (the server may not have taken it yet) or
    # while its record was being committed (the commit may have gone through).
    certain = sum("(sent, not recorded)" in k for k in kills)
    maybe = sum(k.endswith(("(being sent)", "(being recorded)")) for k in kills)
    assert certain <= doubled <= certain + maybe, (  # a str: pytest prints it whole
        f"{doubled} mails went out again, {certain} certain and {maybe} maybe by the "
        f"kills; most received: {received.most_common(5)}\n{report}"
    )
    for mail in sink.messages:  # a repeat is the same mail, byte for byte
        assert _message_id(mail.content) in wanted


def _trace(bench: Bench, outbox_ids: list[int], kills: list[str]) -> str:
    """What each daemon logged of the mails that went out more than once, and how each
    daemon ended: the story of a double, whatever the rest of the logs says."""
    if not outbox_ids:
        return ""
    wanted = re.compile(rf"outbox mail ({'|'.join(map(str, outbox_ids))})\b")
    lines = ["mails sent more than once, as the daemons logged them:"]
    for n, path in enumerate(bench.logs):
        text = path.read_text(errors="replace") if path.exists() else ""
        ended = kills[n] if n < len(kills) else "stopped"
        lines += [
            f"{path.name} ({ended}): {line}" for line in text.splitlines() if wanted.search(line)
        ]
    return "\n".join(lines) + "\n"


def test_twenty_kills_anywhere_while_draining(tmp_path: Path) -> None:
    _run(tmp_path, kills=20, mails=200, odds=150)
    assert (tmp_path / "kills").exists()


@soak_test
def test_soak_a_hundred_kills_anywhere_while_draining_two_thousand_mails(tmp_path: Path) -> None:
    _run(tmp_path, kills=100, mails=2000, odds=400)
    assert (tmp_path / "kills").exists()
