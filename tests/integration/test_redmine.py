"""Against a real Redmine (Debian's package, started by the suite on loopback): a client
mail becomes an issue, a follow-up a journal note, the team resolving it in Redmine mails
the client in Chinese, and a process SIGKILLed between the push and its record leaves
one issue, not two."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.connectors.worker import Connectors
from mailbot.storage.models import Push, PushState, TrackerLink
from tests.servers.redmine import RedmineServer, redmine_available
from tests.support.pipeline import ACME, MaildirBot

# One Redmine for the module (it takes ~15 s to start): its tests stay on one worker.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("redmine")]

CLIENT = "wang@acme.example"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redmine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedmineServer]:
    why = redmine_available()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{why}, but CI must run the Redmine tests")
        pytest.skip(f"{why} — the real-Redmine tests are skipped")
    with RedmineServer(tmp_path_factory.mktemp("redmine")) as server:
        yield server


def issues(redmine: RedmineServer, ref: str) -> list[dict]:
    found = redmine.api("GET", "/issues.json?project_id=acme&status_id=*&limit=100")["issues"]
    return [i for i in found if i["subject"].startswith(f"[{ref}]")]


def test_mail_issue_note_and_the_resolved_notice_in_chinese(
    tmp_path: Path, redmine: RedmineServer
) -> None:
    project = dataclasses.replace(ACME, key="RMA", tracker=redmine.tracker_config())
    with MaildirBot(tmp_path, projects=(project,)) as bot:
        bot.deliver(CLIENT, "导出失败", "今天上午开始导出 Excel 一直超时，麻烦尽快看一下。")
        bot.run()
        (issue,) = issues(redmine, "RMA-1")
        assert issue["subject"] == "[RMA-1] 导出失败"
        assert "今天上午开始导出 Excel 一直超时" in issue["description"]

        bot.deliver(CLIENT, "Re: 导出失败", "补充：只有超过一万行的表才会超时。", reply_to=1)
        bot.run()
        full = redmine.api("GET", f"/issues/{issue['id']}.json?include=journals")["issue"]
        (journal,) = full["journals"]
        assert "只有超过一万行的表才会超时" in journal["notes"]

        # The team resolves it in Redmine (status 3 is Redmine's "Resolved").
        redmine.api("PUT", f"/issues/{issue['id']}.json", {"issue": {"status_id": 3}})
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert Connectors(bot.config, bot.db, clock=lambda: later).run().synced == 1
        assert bot.item("RMA-1").status == "resolved"
        bot.send(now=later)
        (notice,) = [m for m in bot.new_mail() if "RMA-1" in str(m["Subject"])]
        assert notice["To"] == CLIENT
        assert "RMA-1 已经处理完毕" in notice.get_body(("plain",)).get_content()


KILLER = textwrap.dedent(
    """
    import os, pickle, signal, sys
    sys.path.insert(0, sys.argv[3])
    from mailbot.connectors.redmine import RedmineTracker
    from mailbot.connectors.worker import Connectors
    from mailbot.storage.db import open_database

    class KilledAfterCreate(RedmineTracker):
        def create(self, issue):
            made = super().create(issue)
            os.kill(os.getpid(), signal.SIGKILL)  # after Redmine made it, before our record

    config = pickle.loads(open(sys.argv[1], "rb").read())
    Connectors(config, open_database(sys.argv[2], migrate=False), trackers=KilledAfterCreate).run()
    """
)


def test_a_sigkill_between_the_push_and_its_record_leaves_one_issue(
    tmp_path: Path, redmine: RedmineServer
) -> None:
    real = dataclasses.replace(ACME, key="RMB", tracker=redmine.tracker_config())
    # Filed while the tracker cannot be reached: the push waits, pending.
    away = dataclasses.replace(real, tracker=redmine.tracker_config(url="http://127.0.0.1:9"))
    with MaildirBot(tmp_path, projects=(away,)) as bot:
        bot.deliver(CLIENT, "Checkout fails", "The pay button does nothing.")
        bot.run()
        with bot.session() as session:
            (push,) = session.scalars(select(Push)).all()
            assert push.state == PushState.PENDING
            session.execute(update(Push).values(next_attempt_at=datetime.now(UTC)))
        bot.config = dataclasses.replace(bot.config, projects=(real,))
        config_file = tmp_path / "config.pickle"
        config_file.write_bytes(pickle.dumps(bot.config))
        url = bot.db.engine.url.render_as_string(hide_password=False)
        script = tmp_path / "killer.py"
        script.write_text(KILLER)
        done = subprocess.run(
            [sys.executable, str(script), str(config_file), url, str(ROOT)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == -9, done.stderr.decode()[-2000:]
        assert len(issues(redmine, "RMB-1")) == 1  # made in Redmine, not written down here
        with bot.session() as session:
            row = session.get(Push, push.id)
            assert row is not None and row.state == PushState.PENDING and row.claimed_by
            assert session.get(TrackerLink, bot.item("RMB-1").id) is None
        # The next start on this machine sees the claimer is gone and tries again.
        Connectors(bot.config, bot.db).run()
        assert len(issues(redmine, "RMB-1")) == 1
        with bot.session() as session:
            row = session.get(Push, push.id)
            assert row is not None and row.state == PushState.DONE
            link = session.get(TrackerLink, bot.item("RMB-1").id)
            assert link is not None and link.remote_id == str(issues(redmine, "RMB-1")[0]["id"])
