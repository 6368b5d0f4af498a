"""Faults at the IMAP boundary while the daemon's watcher runs: nothing lost, nothing
doubled, and it recovers by itself.

Each test drives the real watcher (`mailbot.daemon.watch_mailbox`) on a real Dovecot,
through `tests.servers.proxy.CuttingProxy` where a connection must break at a chosen byte,
then checks the database (each mail stored once) and the server (each mail in the
processed folder once, the inbox empty). The reconnect backoff is shortened to keep the
tests quick; its growth and jitter are tested on their own (tests/unit/sources).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes

import pytest
from imapclient.exceptions import LoginError

import mailbot.daemon
from mailbot.config_types import Folders, MailboxConfig
from mailbot.message import RawMail
from mailbot.sources.backoff import backoff_delays
from mailbot.sources.imap import ImapSource
from tests.integration.watching import Watching
from tests.servers import DovecotAccount, DovecotServer
from tests.servers.proxy import CuttingProxy
from tests.support.mails import make_mails
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

DONE = "Done"


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailbot.daemon, "backoff_delays", lambda: backoff_delays(0.2, 1.0))


@pytest.fixture
def proxy(dovecot: DovecotServer) -> Iterator[CuttingProxy]:
    with CuttingProxy(dovecot.host, dovecot.imap_port) as running:
        yield running


def box_for(account: DovecotAccount, **overrides: object) -> MailboxConfig:
    return replace(
        account.mailbox_config(folders=Folders(processed=DONE)), idle_recheck=300.0, **overrides
    )


def ids(raw: dict[int, bytes]) -> list[str]:
    return sorted(str(message_from_bytes(data)["Message-ID"]).strip("<>") for data in raw.values())


def assert_each_once(account: DovecotAccount, mails: list[bytes], watching: Watching) -> None:
    """Every mail stored once, in the processed folder once, none left in the inbox."""
    expected = ids(dict(enumerate(mails)))
    assert watching.until(lambda: watching.stored() >= len(mails)), watching.log()
    assert watching.until(lambda: account.messages("INBOX") == {}), watching.log()
    assert sorted(watching.message_ids()) == expected, watching.log()
    assert ids(account.messages(DONE)) == expected, watching.log()


def test_connection_cut_inside_a_fetched_message(
    imap_account: DovecotAccount, proxy: CuttingProxy, tmp_path
) -> None:
    mails = make_mails(30)
    imap_account.append_many("INBOX", mails)
    # Inside the 12th message's bytes: the second batch of ten is half read.
    proxy.cut("down", after=b"BODY[] {", nth=12, extra=200)
    box = box_for(imap_account, port=proxy.port, batch_size=10)
    with Watching(box, tmp_path) as watching:
        assert proxy.fired.wait(30), watching.log()
        assert_each_once(imap_account, mails, watching)
        assert proxy.connections >= 2 and "reconnecting in" in watching.text(), watching.log()


@pytest.mark.parametrize(
    "reached", [True, False], ids=["server-moved-we-never-heard", "move-never-arrived"]
)
def test_connection_cut_during_the_move(
    imap_account: DovecotAccount, proxy: CuttingProxy, tmp_path, reached: bool
) -> None:
    mails = make_mails(10)
    imap_account.append_many("INBOX", mails)
    if reached:
        proxy.cut("up", after=b"UID MOVE", line=True)
    else:
        proxy.cut("up", before=b"UID MOVE")
    with Watching(box_for(imap_account, port=proxy.port), tmp_path) as watching:
        assert proxy.fired.wait(30), watching.log()
        assert_each_once(imap_account, mails, watching)
        # More mail after the recovery is taken as usual.
        late = make_mails(2, start=50)
        imap_account.append_many("INBOX", late)
        assert_each_once(imap_account, mails + late, watching)


def test_dovecot_restarted_while_draining(tmp_path) -> None:
    with DovecotServer() as server:
        account = server.add_account()
        mails = make_mails(40)
        account.append_many("INBOX", mails)
        moves = 0

        class RestartOnThirdMove(ImapSource):
            """The server restarts while the third batch is stored but not yet moved."""

            def _move(self, mails: list[RawMail], folder: str) -> None:
                nonlocal moves
                moves += 1
                if moves == 3:
                    server.restart()
                super()._move(mails, folder)

        def factory(box: MailboxConfig, stop: threading.Event) -> ImapSource:
            return RestartOnThirdMove(box, stop_event=stop)

        box = box_for(account, batch_size=5)
        with Watching(box, tmp_path, source_factory=factory) as watching:
            assert_each_once(account, mails, watching)
            assert moves > 3 and "reconnecting in" in watching.text(), watching.log()
            late = make_mails(3, start=100)
            account.append_many("INBOX", late)
            assert_each_once(account, mails + late, watching)


def test_logins_refused_for_a_while(imap_account: DovecotAccount, tmp_path) -> None:
    first = make_mails(2)
    imap_account.append_many("INBOX", first)
    with Watching(box_for(imap_account), tmp_path) as watching:
        assert_each_once(imap_account, first, watching)
        imap_account.refuse_logins()

        def refused() -> bool:
            try:
                imap_account.client().logout()
            except LoginError:
                return True
            return False

        assert wait_for(refused, 10), "Dovecot never took the new password"
        imap_account.kick()
        assert watching.until(lambda: watching.logs.lines and "login to" in watching.text())
        # The watcher keeps trying (a password change may be on its way) ...
        assert watching.until(lambda: watching.text().count("login to") >= 3), watching.log()
        later = make_mails(3, start=10)
        # (delivered by another route, as mail is while our password is wrong)
        imap_account.refuse_logins(False)
        assert wait_for(lambda: not refused(), 10), "Dovecot never took the password back"
        imap_account.append_many("INBOX", later)
        # ... and takes the mail in once the server lets it in again.
        assert_each_once(imap_account, first + later, watching)


def test_inbox_deleted_and_recreated_with_a_new_uidvalidity(
    imap_account: DovecotAccount, tmp_path
) -> None:
    folder = "Support"
    mails = make_mails(5)
    imap_account.append_many(folder, mails)
    # An IDLE on a folder deleted under it hears nothing more (Dovecot watches the old
    # directory): the periodic look (idle_recheck, 300 s by default) is what finds out.
    box = replace(
        imap_account.mailbox_config(folders=Folders(inbox=folder, processed=DONE)),
        idle_recheck=2.0,
    )
    with Watching(box, tmp_path) as watching:
        assert watching.until(lambda: watching.stored() == 5), watching.log()
        assert watching.until(lambda: imap_account.messages(folder) == {}), watching.log()
        with imap_account.client() as client:
            client.delete_folder(folder)
            client.create_folder(folder)
        # The old mail back (restored from a backup) and two new ones.
        extra = make_mails(2, start=50)
        imap_account.append_many(folder, [*mails, *extra])
        assert watching.until(lambda: imap_account.messages(folder) == {}), watching.log()
        assert watching.stored() == 7, watching.log()
        assert sorted(watching.message_ids()) == ids(dict(enumerate(mails + extra)))
        assert "UIDVALIDITY changed" in watching.text(), watching.log()
