"""Triage ahead: a backlog's next batch is classified in a process of its own while the stages
file and answer this one; the verdicts are those the stages would make themselves, and a
process that fails leaves the classifying to the stages."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import mailbot.pipeline.machine
from mailbot.pipeline.ahead import TriageAhead, TriageSettings, classified
from mailbot.pipeline.machine import Pipeline
from mailbot.resources import triage_model_dir
from mailbot.storage.models import MessageState, StoredMessage
from mailbot.triage import Triage
from mailbot.triage.mail import Mail
from tests.support.pipeline import MaildirBot
from tests.support.waiting import wait_for

SETTINGS = TriageSettings(None, triage_model_dir(), 0.5)
MAILS = [
    ("maria@acme.example", "The export to Excel fails", "Since Monday the export crashes."),
    ("li@acme.example", "请把按钮改成蓝色", "我们希望首页的按钮改成蓝色，并增加一个下载入口。"),
    ("tom@acme.example", "Thanks!", "Looks great, approved."),
    ("chen@acme.example", "登录失败", "输入密码后页面一直转圈，无法登录。"),
    ("ana@acme.example", "New report", "Could you add a monthly report of the orders?"),
]


def test_its_verdicts_are_those_made_here(real_triage: Triage) -> None:
    mails = [Mail(subject=subject, text=text) for _sender, subject, text in MAILS]
    ahead = TriageAhead(SETTINGS)
    try:
        assert wait_for(ahead.ready, timeout=120)
        ahead.submit(mails)
        there = ahead.verdicts(len(mails))
    finally:
        ahead.close()
    assert there is not None
    assert [v.to_dict() for v in there] == [v.to_dict() for v in real_triage.classify_mails(mails)]


def test_a_mail_that_fails_fails_alone() -> None:
    class Picky:
        def classify_mails(self, mails: list[Mail]) -> list[str]:
            if any(m.subject == "bad" for m in mails):
                raise ValueError("cannot read this one")
            return [m.subject for m in mails]

    found = classified(Picky(), [Mail(subject="a", text=""), Mail(subject="bad", text="")])
    assert found[0] == "a"
    assert isinstance(found[1], RuntimeError) and "cannot read this one" in str(found[1])


def _categories(bot: MaildirBot) -> dict[str | None, tuple[str | None, float | None]]:
    with bot.session() as s:
        rows = s.scalars(select(StoredMessage)).all()
        assert {r.state for r in rows} == {MessageState.ANSWERED}
        assert {r.claimed_by for r in rows} == {None}
        return {r.message_id: (r.category, r.confidence) for r in rows}


def _backlog(folder: Path, triage: Triage) -> MaildirBot:
    bot = MaildirBot(folder, triage=triage)
    for n in range(30):
        sender, subject, text = MAILS[n % len(MAILS)]
        bot.deliver(sender, f"{subject} ({n})", f"{text} ({n})")
    return bot


def _taken_in(bot: MaildirBot) -> Pipeline:
    """The backlog taken in, with triage ahead ready: every batch goes to it."""
    pipeline = bot.pipeline()
    pipeline.ahead_settings = SETTINGS
    box = bot.config.mailboxes[0]
    with pipeline.source_factory(box, pipeline.stop_event) as source:
        pipeline.intake(source, box)
    pipeline._start_ahead()
    assert pipeline._ahead is not None and wait_for(pipeline._ahead.ready, timeout=120)
    return pipeline


def _here_and_ahead(folder: Path, triage: Triage) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """The same backlog classified here, then ahead: each message's category and confidence.
    Every mail is answered either way."""
    with _backlog(folder / "here", triage) as bot:
        bot.run()
        here = _categories(bot)
    with _backlog(folder / "ahead", triage) as bot:
        pipeline = _taken_in(bot)
        process = pipeline._ahead.process  # type: ignore[union-attr]
        sent_with_it_ending: list[tuple[int | None, bool]] = []
        send = pipeline.send

        def sending(**kw: Any) -> Any:
            sent_with_it_ending.append((process.returncode, process.stdin.closed))  # type: ignore[union-attr]
            return send(**kw)

        pipeline.send = sending  # type: ignore[method-assign]
        pipeline.advance(then_send=True)
        # Told to stop once the stages are done, not waited for before the rest is sent
        # (unless it died before: then it was waited for when it was given up); ended and
        # waited for when the stages return.
        assert sent_with_it_ending[0] in ((None, True), (-signal.SIGKILL, True))
        assert pipeline._ahead is None and pipeline._ahead_ending is None
        assert process.returncode is not None and process.stdin.closed  # type: ignore[union-attr]
        assert len(bot.outbox("ack")) == 30
        return here, _categories(bot)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailbot.pipeline.machine, "STAGE_BATCH", 4)  # a backlog of 30: 8 batches


def test_a_backlog_classified_ahead_is_classified_as_here(
    tmp_path: Path, real_triage: Triage, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[int] = []
    submit = TriageAhead.submit

    def counted(self: TriageAhead, mails: Any) -> None:
        handed.append(len(mails))
        submit(self, mails)

    monkeypatch.setattr(TriageAhead, "submit", counted)
    here, ahead = _here_and_ahead(tmp_path, real_triage)
    assert sum(handed) == 30 and len(handed) >= 7  # every batch was classified there
    assert ahead == here


def test_a_process_that_dies_leaves_the_classifying_here(
    tmp_path: Path,
    real_triage: Triage,
    small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    submit = TriageAhead.submit
    handed: list[int] = []

    def dies_after_the_second(self: TriageAhead, mails: Any) -> None:
        submit(self, mails)
        handed.append(len(mails))
        if len(handed) == 2:
            os.kill(self.process.pid, signal.SIGKILL)

    monkeypatch.setattr(TriageAhead, "submit", dies_after_the_second)
    here, ahead = _here_and_ahead(tmp_path, real_triage)
    assert ahead == here  # nothing lost, nothing classified otherwise
    # Given up once its death showed: the batch handed over next may still have gone into
    # the pipe before the process was gone, never more than that one.
    assert len(handed) in (2, 3)
    assert "classifying beside the stages stopped" in caplog.text


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry each time the configured triage is loaded in this process."""
    import mailbot.app

    counted: list[int] = []
    real_load = mailbot.app.load_triage

    def load(config: Any) -> Any:
        counted.append(1)
        return real_load(config)

    monkeypatch.setattr(mailbot.app, "load_triage", load)
    return counted


def test_run_once_loads_the_model_beside_and_stops_it_when_nothing_comes(
    tmp_path: Path, loads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --once` from cron finds no new mail most of the time: triage ahead, started with
    the run, is stopped at once then (killed while it loads); one new mail is classified
    there, as it would have been here. This process never loads the model."""
    from mailbot.app import LazyTriage, build_pipeline

    started: list[TriageAhead] = []
    init = TriageAhead.__init__

    def counted(self: TriageAhead, settings: Any) -> None:
        init(self, settings)
        started.append(self)

    monkeypatch.setattr(TriageAhead, "__init__", counted)
    with MaildirBot(tmp_path) as bot:
        pipeline = build_pipeline(bot.config, bot.db, lazy=True, deliver=bot.send)
        assert isinstance(pipeline.triage, LazyTriage)
        pipeline.run_once()  # an empty mailbox
        assert len(started) == 1 and started[0].process.returncode == -signal.SIGKILL
        assert loads == [] and not pipeline.triage.loaded
        bot.deliver(*MAILS[0])
        pipeline.run_once()
        assert len(started) == 2 and started[1].process.returncode == 0  # it had loaded
        assert loads == [] and not pipeline.triage.loaded
        assert _categories(bot) == {bot.message_id(1): ("issue", pytest.approx(0.99, abs=0.01))}
        build_pipeline(bot.config, bot.db, deliver=bot.send)  # the daemon's: loaded at once
        assert loads == [1]


def test_a_backlog_is_classified_by_the_process_the_run_started(
    tmp_path: Path, small_batches: None, loads: list[int]
) -> None:
    """`run --once` on a backlog: triage ahead starts with the run, the stages wait for it
    rather than load a second model, and every batch is classified there."""
    from mailbot.app import build_pipeline

    with _backlog(tmp_path, None) as bot:  # type: ignore[arg-type]
        pipeline = build_pipeline(bot.config, bot.db, lazy=True, deliver=bot.send)
        assert pipeline.ahead_settings is not None
        pipeline.run_once()
        assert loads == []  # not in this process: all of it was classified ahead
        categories = _categories(bot)
        assert len(categories) == 30 and None not in {c for c, _ in categories.values()}
        assert len(bot.outbox("ack")) == 30


def test_an_answer_that_cannot_be_read_gives_the_process_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ahead = TriageAhead(SETTINGS)
    try:
        assert wait_for(ahead.ready, timeout=120)
        ahead.submit([Mail(subject="x", text="y")])
        assert ahead.process.stdout is not None
        os.close(ahead.process.stdout.fileno())  # the pipe gone under it
        assert ahead.verdicts(1) is None
        assert ahead.broken and "could not be read" in caplog.text
        assert not ahead.ready()  # and stays given up
    finally:
        ahead.close()


def test_told_to_stop_it_answers_what_it_was_handed_then_ends_cleanly(
    real_triage: Triage,
) -> None:
    # The process ends without the interpreter's teardown: nothing written before may be lost.
    mails = [Mail(subject=subject, text=text) for _sender, subject, text in MAILS]
    ahead = TriageAhead(SETTINGS)
    assert wait_for(ahead.ready, timeout=120)
    ahead.submit(mails)
    assert ahead.process.stdin is not None and ahead.process.stdout is not None
    ahead.process.stdin.close()  # the end of its input right behind the batch
    assert ahead.process.wait(60) == 0
    there = ahead.verdicts(len(mails))  # read only after it ended
    rest = ahead.process.stdout.read()
    ahead.close()
    assert there is not None
    assert [v.to_dict() for v in there] == [v.to_dict() for v in real_triage.classify_mails(mails)]
    assert rest == b""  # nothing after them
