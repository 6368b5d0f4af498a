"""Filed mail pushed to Redmine through the pushes outbox, and Redmine's statuses back."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from mailbot.config_types import ProjectConfig, Secret
from mailbot.connectors.base import NewIssue, RemoteIssue
from mailbot.connectors.redmine import RedmineTracker
from mailbot.connectors.worker import Connectors
from mailbot.items.actions import move, set_status
from mailbot.pipeline.hooks import default_hooks
from mailbot.storage.models import Event, Push, PushState, TrackerLink
from tests.servers.trackers import FakeRedmine
from tests.support.pipeline import ACME, MaildirBot

CLIENT = "wang@acme.example"


@pytest.fixture
def redmine() -> Iterator[FakeRedmine]:
    with FakeRedmine() as server:
        yield server


def tracked(redmine: FakeRedmine, **overrides: object) -> ProjectConfig:
    return dataclasses.replace(ACME, tracker=redmine.tracker_config(**overrides))


def pushes(bot: MaildirBot) -> list[Push]:
    with bot.session() as session:
        rows = list(session.scalars(select(Push).order_by(Push.id)))
        session.expunge_all()
        return rows


def test_without_a_connector_nothing_is_pushed_and_no_hook_runs(tmp_path: Path) -> None:
    with MaildirBot(tmp_path) as bot:
        bot.deliver(CLIENT, "Login fails", "The login page says 500.")
        mails = bot.run()
        assert [m["Subject"] for m in mails] == [mails[0]["Subject"]]  # the acknowledgement
        assert pushes(bot) == []
        assert "connectors" not in {type(h).__name__ for h in default_hooks(bot.config)}
        assert bot.events("filed")[0]["notes"] == []


def test_a_mail_becomes_an_issue_and_a_follow_up_a_note(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails", "The login page says 500 since this morning.")
        bot.run()
        issue = redmine.issues[1]
        assert issue["subject"] == "[ACME-1] Login fails"
        assert "The login page says 500 since this morning." in issue["description"]
        assert f"From: {CLIENT}" in issue["description"]
        with bot.session() as session:
            link = session.get(TrackerLink, bot.item("ACME-1").id)
            assert link is not None
            assert (link.remote_key, link.url) == ("#1", f"{redmine.base}/issues/1")
        assert bot.events("tracker")[0] == {"pushed": "#1", "url": f"{redmine.base}/issues/1"}
        assert "pushed: create to tracker:ACME" in bot.events("filed")[0]["notes"]

        bot.deliver(CLIENT, "Re: Login fails", "Still broken, screenshot attached.", reply_to=1)
        bot.run()
        assert len(redmine.issues) == 1
        note = issue["journals"][0]["notes"]
        assert "Still broken, screenshot attached." in note
        assert note.endswith(f"(mailbot push {pushes(bot)[1].id})")
        assert [p.state for p in pushes(bot)] == [PushState.DONE, PushState.DONE]
        assert not redmine.violations


def test_a_tracker_that_is_down_never_holds_up_mail_and_is_retried(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    redmine.fail_next(503, times=10)
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        mails = bot.run()
        assert len(mails) == 1  # the client's acknowledgement went out all the same
        (push,) = pushes(bot)
        assert push.state == PushState.PENDING and push.attempts == 1
        assert "503" in (push.last_error or "")
        assert redmine.issues == {}
        redmine.clear_failures()  # Redmine is back
        later = datetime.now(UTC) + timedelta(minutes=2)  # past the first backoff (1 minute)
        Connectors(bot.config, bot.db, clock=lambda: later).run()
        assert pushes(bot)[0].state == PushState.DONE
        assert list(redmine.issues) == [1]


def test_a_refused_push_is_set_aside_and_a_429_waits_as_long_as_asked(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    now = datetime.now(UTC)
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        redmine.fail_next(429, headers={"Retry-After": "7200"})
        bot.run()
        (push,) = pushes(bot)
        assert push.state == PushState.PENDING
        assert push.next_attempt_at >= now + timedelta(seconds=7000)  # over the 1 h cap
        bot.deliver(CLIENT, "Checkout fails")
        redmine.fail_next(422, body={"errors": ["Tracker is not included in the list"]})
        bot.run()
        refused = pushes(bot)[1]
        assert refused.state == PushState.FAILED and refused.attempts == 1
        assert "Tracker is not included" in (refused.last_error or "")


class KilledAfterCreate(RedmineTracker):
    """The process dies right after Redmine made the issue, before mailbot wrote it down."""

    def create(self, issue: NewIssue) -> RemoteIssue:
        super().create(issue)
        raise KeyboardInterrupt  # not an Exception: nothing of ours records the try


def test_a_crash_between_the_push_and_its_record_still_makes_one_issue(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()  # filed; the first push went out already: start again from a clean state
        with bot.session() as session:
            session.execute(update(Push).values(state=PushState.PENDING, attempts=0))
            session.execute(TrackerLink.__table__.delete())
        redmine.issues.clear()
        dying = Connectors(bot.config, bot.db, trackers=KilledAfterCreate)
        with pytest.raises(KeyboardInterrupt):
            dying.run()
        assert list(redmine.issues) == [1]
        with bot.session() as session:  # the claim of a process that is gone
            session.execute(update(Push).values(claimed_by="localhost-gone:999999999"))
            session.execute(update(Push).values(next_attempt_at=datetime.now(UTC)))
        Connectors(bot.config, bot.db).run()
        assert list(redmine.issues) == [1]  # found by its [ACME-1] marker, not made again
        assert pushes(bot)[0].state == PushState.DONE and pushes(bot)[0].remote_id == "1"
        with bot.session() as session:
            assert session.scalar(select(func.count()).select_from(TrackerLink)) == 1


def test_redmine_resolving_the_issue_mails_the_client_in_chinese(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(
            "wang@acme.example", "登录失败", "今天上午开始登录页面一直报错，麻烦尽快看一下。"
        )
        bot.run()
        assert bot.item("ACME-1").language == "zh-Hans"
        redmine.move(1, "In Progress")
        redmine.move(1, "Resolved", note="修复了")
        later = datetime.now(UTC) + timedelta(minutes=5)  # the poll interval has passed
        stats = Connectors(bot.config, bot.db, clock=lambda: later).run()
        assert stats.synced == 1
        item = bot.item("ACME-1")
        assert item.status == "resolved"
        (status_mail,) = bot.outbox("status")
        bot.send(now=later)
        (mail,) = [m for m in bot.new_mail() if m["Subject"] == status_mail.subject]
        assert mail["To"] == "wang@acme.example"
        text = mail.get_body(("plain",)).get_content()
        assert "ACME-1 已经处理完毕" in text
        assert "tracker" not in text and "Resolved" not in text  # the team's words stay inside
        with bot.session() as session:
            event = session.scalars(
                select(Event).where(Event.kind == "status").order_by(Event.id.desc())
            ).first()
            assert event is not None and event.actor == "tracker:redmine"
            assert "Resolved in the tracker (#1)" in event.detail["reason"]
        # The status came from Redmine: it is not pushed back there.
        assert Connectors(bot.config, bot.db, clock=lambda: later).run().done == 0
        assert [p.kind for p in pushes(bot)] == ["create"]


def test_a_status_set_in_mailbot_moves_the_issue_in_redmine(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()
        with bot.session() as session:
            set_status(session, bot.config, "ACME-1", "in_progress", actor="pm@agency.example")
        bot.run()
        assert redmine.issues[1]["status"]["name"] == "In Progress"
        assert [p.kind for p in pushes(bot)] == ["create", "status"]
        # Its own change read back from Redmine changes nothing.
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert Connectors(bot.config, bot.db, clock=lambda: later).run().synced == 0
        assert bot.item("ACME-1").status == "in_progress"
        assert not redmine.violations


def test_a_tracker_status_the_item_cannot_take_is_recorded_not_applied(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()
        redmine.move(1, "Rejected")  # an issue has no "rejected" in mailbot
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert Connectors(bot.config, bot.db, clock=lambda: later).run().synced == 0
        assert bot.item("ACME-1").status == "acknowledged"
        ignored = [e for e in bot.events("tracker") if "ignored" in e]
        reason = "ACME-1 (issue) cannot move from acknowledged to rejected"
        assert ignored == [{"ignored": "Rejected", "reason": reason}]


def test_a_note_waits_for_its_issue(tmp_path: Path, redmine: FakeRedmine) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        redmine.fail_next(503, times=50)
        bot.run()
        bot.deliver(CLIENT, "Re: Login fails", "More.", reply_to=1)
        bot.run()
        create, note = pushes(bot)
        assert create.state == note.state == PushState.PENDING
        assert note.attempts == 0 and note.last_error == "waiting for its issue"


def test_a_secret_that_cannot_be_read_is_said_plainly_and_retried(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    missing = Secret(key="projects[0].tracker.token", env="MAILBOT_TEST_NO_SUCH_KEY")
    with MaildirBot(tmp_path, projects=(tracked(redmine, secret=missing),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        mails = bot.run()
        assert len(mails) == 1
        (push,) = pushes(bot)
        assert push.state == PushState.PENDING and push.attempts == 1
        assert "MAILBOT_TEST_NO_SUCH_KEY is not set" in (push.last_error or "")


def test_the_daemons_delivery_step_sends_the_pushes(tmp_path: Path, redmine: FakeRedmine) -> None:
    redmine.fail_next(503, times=10)
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()
        assert pushes(bot)[0].state == PushState.PENDING
        redmine.clear_failures()
        with bot.session() as session:
            session.execute(update(Push).values(next_attempt_at=datetime.now(UTC)))
        bot.pipeline().send()  # one turn of the daemon's loop: deliver the mail, then push
        assert pushes(bot)[0].state == PushState.DONE and list(redmine.issues) == [1]


def test_an_item_moved_into_a_tracked_project_becomes_an_issue(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver("someone@elsewhere.example", "Checkout fails", "The pay button does nothing.")
        bot.run()
        (item,) = bot.items()
        assert item.project_key == "TRIAGE" and pushes(bot) == []
        with bot.session() as session:
            move(session, bot.config, item.ref, "ACME", actor="pm@agency.example")
        bot.run()
        assert redmine.issues[1]["subject"] == "[ACME-1] Checkout fails"
        assert "The pay button does nothing." in redmine.issues[1]["description"]
        assert [p.kind for p in pushes(bot)] == ["create"]
        Connectors(bot.config, bot.db).run()
        assert len(redmine.issues) == 1


class KilledAfterNote(RedmineTracker):
    """The process dies right after Redmine took the note, before mailbot wrote it down."""

    def add_note(self, remote_id: str, text: str) -> None:
        super().add_note(remote_id, text)
        raise KeyboardInterrupt


def test_a_crash_after_a_note_was_added_still_makes_one_note(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()
        redmine.fail_next(503, times=10)  # the follow-up's note waits for the tracker
        bot.deliver(CLIENT, "Re: Login fails", "Still broken.", reply_to=1)
        bot.run()
        redmine.clear_failures()
        with bot.session() as session:
            session.execute(update(Push).values(next_attempt_at=datetime.now(UTC)))
        with pytest.raises(KeyboardInterrupt):
            Connectors(bot.config, bot.db, trackers=KilledAfterNote).run()
        assert len(redmine.issues[1]["journals"]) == 1
        with bot.session() as session:
            session.execute(
                update(Push).values(claimed_by="gone:999999999", next_attempt_at=datetime.now(UTC))
            )
        Connectors(bot.config, bot.db).run()
        assert len(redmine.issues[1]["journals"]) == 1  # found by its (mailbot push N) line
        assert [p.state for p in pushes(bot)] == [PushState.DONE, PushState.DONE]


def test_mailbot_run_once_from_a_config_file_pushes_to_the_tracker(
    tmp_path: Path, redmine: FakeRedmine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbot.cli import main
    from mailbot.sources.maildir import ensure_maildir
    from tests.support.configs import _routed
    from tests.support.pipeline import client_mail

    monkeypatch.setenv("MB_TEST_REDMINE_KEY", redmine.api_key)
    ensure_maildir(tmp_path / "Maildir")
    mail = client_mail(CLIENT, "Login fails", "The login page says 500.", message_id="a@client")
    (tmp_path / "Maildir" / "new" / "1.M1.host").write_bytes(mail)
    url = _routed("sqlite:///mb.sqlite3", tmp_path)
    (tmp_path / "mailbot.toml").write_text(
        f"""
[mailbox]
kind = "maildir"
path = "Maildir"

[database]
url = "{url}"

[triage]
enabled = false

[site]
address = "team@agency.example"

[outbox]
directory = "outbox"

[[projects]]
key = "ACME"
name = "ACME web shop"
client_domains = ["acme.example"]

[projects.tracker]
kind = "redmine"
url = "{redmine.base}"
project = "acme"
token_env = "MB_TEST_REDMINE_KEY"
""",
        encoding="utf-8",
    )
    assert main(["--config", str(tmp_path / "mailbot.toml"), "run", "--once"]) == 0
    assert redmine.issues[1]["subject"] == "[ACME-1] Login fails"
    assert not redmine.violations


def test_queue_show_names_the_items_issue(
    tmp_path: Path, redmine: FakeRedmine, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.cli.queue.render import print_detail
    from mailbot.items.actions import find_item
    from mailbot.items.views import item_detail

    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()
        with bot.session() as session:
            detail = item_detail(
                session, bot.config, find_item(session, "ACME-1"), datetime.now(UTC)
            )
        assert detail["tracker"] == {
            "key": "#1",
            "url": f"{redmine.base}/issues/1",
            "status": "New",
        }
        capsys.readouterr()
        print_detail(detail)
        assert f"tracker:  #1 {redmine.base}/issues/1 (New)" in capsys.readouterr().out


def test_two_daemons_reading_the_same_change_apply_it_once(
    tmp_path: Path, redmine: FakeRedmine, database_backend: str
) -> None:
    if database_backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite lets one writer in at a time anyway")
    import threading

    from mailbot.connectors.statuses import apply_remote_status

    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.run()
        redmine.move(1, "Resolved")
        project = bot.config.projects[0]
        issue = RedmineTracker(project.tracker).get("1")  # type: ignore[arg-type]
        start = threading.Barrier(2)
        changed: list[bool] = []

        def poll() -> None:
            with bot.session() as session:
                start.wait()
                changed.append(
                    apply_remote_status(session, bot.config, project, issue, now=datetime.now(UTC))
                )

        threads = [threading.Thread(target=poll) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(changed) == [False, True]
        assert len(bot.outbox("status")) == 1


def test_a_merged_items_issue_moving_is_recorded_not_retried(
    tmp_path: Path, redmine: FakeRedmine
) -> None:
    from mailbot.items.actions import merge

    with MaildirBot(tmp_path, projects=(tracked(redmine),)) as bot:
        bot.deliver(CLIENT, "Login fails")
        bot.deliver(CLIENT, "Login still fails")
        bot.run()
        with bot.session() as session:
            merge(session, "ACME-1", "ACME-2", actor="pm@agency.example")
        redmine.move(1, "Resolved")
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert Connectors(bot.config, bot.db, clock=lambda: later).run().synced == 0
        ignored = [e for e in bot.events("tracker") if "ignored" in e]
        assert ignored and ignored[0]["ignored"] == "Resolved"
        assert "merged" in ignored[0]["reason"]
        much_later = later + timedelta(minutes=5)  # the next poll does not try it again
        assert Connectors(bot.config, bot.db, clock=lambda: much_later).run().synced == 0
        assert len([e for e in bot.events("tracker") if "ignored" in e]) == 1
