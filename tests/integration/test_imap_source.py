"""ImapSource against a real Dovecot: fetching, moving, flags, TLS, auth, IDLE and polling."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from mailbot.config_types import Folders, MailboxConfig
from mailbot.errors import ConfigError, SourceError
from mailbot.message import RawMail
from mailbot.sources.base import Source
from mailbot.sources.imap import PROCESSED_KEYWORD, ImapSource, SourceAuthError
from tests.servers import DovecotAccount, DovecotServer

pytestmark = pytest.mark.integration

PROCESSED = "mailbot/processed"
FAILED = "mailbot/failed"


def mail(n: int) -> bytes:
    """A small distinct message; CRLF line ends, as IMAP stores them."""
    return (
        f"From: client{n}@example.com\r\nTo: support@example.com\r\n"
        f"Subject: request {n}\r\nMessage-ID: <m{n}@example.com>\r\n\r\nbody {n}\r\n"
    ).encode()


def fetch_all(source: ImapSource, after_uid: int = 0, batch_size: int = 100) -> list[RawMail]:
    return [m for batch in source.fetch(after_uid, batch_size) for m in batch]


def later(delay: float, action: Callable[[], object]) -> threading.Thread:
    """Run *action* in a thread after *delay* seconds (while the test blocks in wait())."""
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


# --- connecting -------------------------------------------------------------------


def test_is_a_source_and_creates_its_folders(imap_account: DovecotAccount, imap_config) -> None:
    typed: Source = ImapSource(imap_config)  # a type checker verifies the protocol here
    with typed as _, ImapSource(imap_config) as source:
        assert source.account == imap_config.name and source.folder == "INBOX"
        assert source.has("MOVE") and source.has("UIDPLUS") and source.has("IDLE")
        assert source.uidvalidity() == imap_account.uidvalidity("INBOX") > 0
    assert {"INBOX", PROCESSED, FAILED} <= set(imap_account.folders())


def test_wrong_password_is_an_auth_error_with_a_helpful_sentence(
    imap_account: DovecotAccount, imap_config: MailboxConfig, tmp_path
) -> None:
    wrong = tmp_path / "password"
    wrong.write_text("not-the-password\n")
    config = replace(imap_config, secret=replace(imap_config.secret, file=wrong))
    with pytest.raises(SourceAuthError) as caught, ImapSource(config):
        pass
    err = caught.value
    assert isinstance(err, SourceError) and err.retryable is False
    assert f"login to 127.0.0.1:{imap_config.port} as {imap_account.user} failed" in err.message
    assert "[AUTHENTICATIONFAILED]" in err.message and "b'" not in err.message
    assert "mailbox.username" in err.hint
    assert "not-the-password" not in str(err)


def test_xoauth2_login(imap_account: DovecotAccount, imap_config: MailboxConfig) -> None:
    # Without an oauth2 passdb, Dovecot checks an XOAUTH2 token like a password: enough to
    # prove we speak the mechanism; token validation is the provider's business.
    with ImapSource(replace(imap_config, auth="xoauth2")) as source:
        assert source.uidvalidity() > 0


def test_connection_refused_is_a_source_error(imap_config: MailboxConfig) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(SourceError, match="connection refused") as caught:
        ImapSource(replace(imap_config, port=closed_port)).connect()
    assert "mailbox.port" in caught.value.hint


@pytest.mark.parametrize("field", ["security", "auth"])
def test_unknown_security_or_auth_is_a_config_error(imap_config: MailboxConfig, field: str):
    with pytest.raises(ConfigError, match=f"mailbox.{field}"):
        ImapSource(replace(imap_config, **{field: "ssl"}))


def test_missing_inbox_folder_is_a_source_error(imap_config: MailboxConfig) -> None:
    config = replace(imap_config, folders=Folders(inbox="NoSuchFolder"))
    with pytest.raises(SourceError, match="NoSuchFolder"), ImapSource(config):
        pass


def test_dropped_connection_is_a_source_error_and_exit_stays_quiet(imap_config) -> None:
    with pytest.raises(SourceError, match=r"fetching|searching"), ImapSource(imap_config) as source:
        source.client.shutdown()  # as if the server went away
        fetch_all(source)


def test_exit_logs_out_after_an_error_in_the_block(imap_config: MailboxConfig) -> None:
    with pytest.raises(KeyError), ImapSource(imap_config) as source:
        raise KeyError("boom")
    with pytest.raises(SourceError, match="not connected"):
        source.client  # noqa: B018 - the property raises once logged out


# --- TLS ----------------------------------------------------------------------------


def test_implicit_tls_with_the_test_ca(dovecot: DovecotServer, imap_account, imap_config) -> None:
    imap_account.append("INBOX", mail(1))
    with ImapSource(replace(imap_config, **dovecot.tls_overrides())) as source:
        assert isinstance(source.client.socket(), ssl.SSLSocket)
        assert [m.data for m in fetch_all(source)] == [mail(1)]


def test_implicit_tls_refuses_an_untrusted_certificate(dovecot: DovecotServer, imap_config) -> None:
    config = replace(imap_config, **{**dovecot.tls_overrides(), "ca_file": None})
    with pytest.raises(SourceError, match="certificate is not trusted") as caught:
        ImapSource(config).connect()
    assert "ca_file" in caught.value.hint


def test_unreadable_ca_file_is_a_config_error(dovecot: DovecotServer, imap_config, tmp_path):
    config = replace(imap_config, **{**dovecot.tls_overrides(), "ca_file": tmp_path / "no.pem"})
    with pytest.raises(ConfigError, match=r"mailbox\.ca_file"):
        ImapSource(config).connect()


def test_tls_verify_off_accepts_the_self_signed_certificate(dovecot, imap_config) -> None:
    overrides = {**dovecot.tls_overrides(), "ca_file": None, "tls_verify": False}
    config = replace(imap_config, **overrides)
    with ImapSource(config) as source:
        assert isinstance(source.client.socket(), ssl.SSLSocket)


def test_starttls_on_the_plain_port(imap_config: MailboxConfig) -> None:
    with ImapSource(replace(imap_config, security="starttls")) as source:
        assert isinstance(source.client.socket(), ssl.SSLSocket)
        assert source.uidvalidity() > 0


def test_starttls_refuses_an_untrusted_certificate(imap_config: MailboxConfig) -> None:
    config = replace(imap_config, security="starttls", ca_file=None)
    with pytest.raises(SourceError, match=r"STARTTLS .* certificate is not trusted"):
        ImapSource(config).connect()


# --- fetching -----------------------------------------------------------------------


def test_fetches_everything_in_ordered_batches(imap_account: DovecotAccount, imap_config) -> None:
    sent = [mail(n) for n in range(250)]
    uids = imap_account.append_many("INBOX", sent)
    with ImapSource(imap_config) as source:
        batches = list(source.fetch(0, 100))
    assert [len(b) for b in batches] == [100, 100, 50]
    fetched = [m for b in batches for m in b]
    assert [m.uid for m in fetched] == uids == sorted(uids)
    assert [m.key for m in fetched] == [str(uid) for uid in uids]
    assert [m.data for m in fetched] == sent


def test_fetch_after_a_cursor_returns_only_newer_mail(imap_account, imap_config) -> None:
    uids = imap_account.append_many("INBOX", [mail(n) for n in range(5)])
    with ImapSource(imap_config) as source:
        assert [m.uid for m in fetch_all(source, after_uid=uids[2])] == uids[3:]
        # "UID N:*" matches the highest message even when N is above it: nothing comes back.
        assert fetch_all(source, after_uid=uids[-1]) == []
        assert fetch_all(source, after_uid=uids[-1] + 100) == []
        # Mail that arrives while we are connected (the server reports it only when asked).
        imap_account.append("INBOX", mail(5))
        newer = fetch_all(source, after_uid=uids[-1])
    assert [m.data for m in newer] == [mail(5)]


def test_fetch_from_an_empty_inbox(imap_config: MailboxConfig) -> None:
    with ImapSource(imap_config) as source:
        assert fetch_all(source) == []


def test_fetch_leaves_messages_unread(imap_account: DovecotAccount, imap_config) -> None:
    imap_account.append("INBOX", mail(1))
    with ImapSource(imap_config) as source:
        fetch_all(source)
    assert all(b"\\Seen" not in flags for flags in imap_account.flags("INBOX").values())


def test_uidvalidity_changes_when_the_folder_is_recreated(imap_account, imap_config) -> None:
    imap_account.append("Clients", mail(1))
    config = replace(imap_config, folders=Folders(inbox="Clients"))
    with ImapSource(config) as source:
        before = source.uidvalidity()
    with imap_account.client() as client:
        client.delete_folder("Clients")
        client.create_folder("Clients")
    with ImapSource(config) as source:
        assert source.uidvalidity() != before


# --- marking ------------------------------------------------------------------------


def _process_all(config: MailboxConfig, **options) -> list[RawMail]:
    with ImapSource(config, **options) as source:
        mails = fetch_all(source)
        source.mark_processed(mails)
    return mails


def test_mark_processed_moves_the_exact_bytes(imap_account, imap_config) -> None:
    sent = [mail(n) for n in range(3)]
    imap_account.append_many("INBOX", sent)
    assert len(_process_all(imap_config)) == 3
    assert imap_account.messages("INBOX") == {}
    assert list(imap_account.messages(PROCESSED).values()) == sent


def test_mark_processed_with_copy_and_expunge_when_move_is_missing(
    imap_account: DovecotAccount, imap_config: MailboxConfig, monkeypatch
) -> None:
    sent = [mail(n) for n in range(3)]
    imap_account.append_many("INBOX", [mail(99)], flags=("\\Deleted",))  # someone else's
    imap_account.append_many("INBOX", sent)
    with ImapSource(imap_config, ignore_capabilities=["MOVE"]) as source:
        monkeypatch.setattr(source.client, "move", pytest.fail)
        mails = [m for m in fetch_all(source) if m.data != mail(99)]
        source.mark_processed(mails)
    assert list(imap_account.messages(PROCESSED).values()) == sent
    # UID EXPUNGE removed only our messages, not the one another person marked \Deleted.
    assert list(imap_account.messages("INBOX").values()) == [mail(99)]


def test_without_move_and_uidplus_moved_mail_is_left_deleted(imap_account, imap_config) -> None:
    imap_account.append("INBOX", mail(1))
    _process_all(imap_config, ignore_capabilities=["MOVE", "UIDPLUS"])
    assert list(imap_account.messages(PROCESSED).values()) == [mail(1)]
    assert [b"\\Deleted" in f for f in imap_account.flags("INBOX").values()] == [True]


def test_mark_processed_flags_in_place_without_a_processed_folder(imap_account, imap_config):
    uid = imap_account.append("INBOX", mail(1))
    config = replace(imap_config, folders=Folders(processed=None))
    _process_all(config)
    flags = imap_account.flags("INBOX")
    assert list(flags) == [uid]
    assert {b"\\Seen", PROCESSED_KEYWORD.encode()} <= set(flags[uid])
    assert PROCESSED not in imap_account.folders()


def test_mark_failed_moves_to_the_failed_folder(imap_account, imap_config) -> None:
    imap_account.append_many("INBOX", [mail(1), mail(2)])
    with ImapSource(imap_config) as source:
        first, second = fetch_all(source)
        source.mark_failed([first])
        source.mark_processed([second])
        source.mark_failed([])  # nothing to do is fine
    assert list(imap_account.messages(FAILED).values()) == [mail(1)]
    assert list(imap_account.messages(PROCESSED).values()) == [mail(2)]
    assert imap_account.messages("INBOX") == {}


def test_folders_use_the_configured_names(imap_account, imap_config) -> None:
    imap_account.append("INBOX", mail(1))
    config = replace(imap_config, folders=Folders(processed="Done/Clients", failed="Review"))
    _process_all(config)
    assert {"Done/Clients", "Review"} <= set(imap_account.folders())
    assert list(imap_account.messages("Done/Clients").values()) == [mail(1)]


# --- waiting ------------------------------------------------------------------------


def test_idle_wakes_up_on_new_mail(imap_account: DovecotAccount, imap_config) -> None:
    with ImapSource(imap_config) as source:
        later(0.3, lambda: imap_account.append("INBOX", mail(1)))
        started = time.monotonic()
        assert source.wait(10) is True
        assert time.monotonic() - started < 5
        # The connection is usable again after IDLE.
        assert [m.data for m in fetch_all(source)] == [mail(1)]


def test_idle_over_tls_wakes_up_on_new_mail(dovecot: DovecotServer, imap_account, imap_config):
    with ImapSource(replace(imap_config, **dovecot.tls_overrides())) as source:
        later(0.3, lambda: imap_account.append("INBOX", mail(1)))
        assert source.wait(10) is True
        assert len(fetch_all(source)) == 1


def test_server_hanging_up_during_idle_is_a_source_error(imap_account, imap_config) -> None:
    with ImapSource(imap_config) as source:
        later(0.3, imap_account.kick)
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"IDLE.*closed the connection \(Server shutting"):
            source.wait(30)
        assert time.monotonic() - started < 5


def test_idle_times_out_without_mail(imap_config: MailboxConfig) -> None:
    with ImapSource(imap_config) as source:
        started = time.monotonic()
        assert source.wait(1.0) is False
        assert 0.9 <= time.monotonic() - started < 3
        assert fetch_all(source) == []


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "polling"])
def test_wait_ends_early_when_the_stop_event_is_set(imap_config, idle: bool) -> None:
    stop = threading.Event()
    config = replace(imap_config, idle=idle, poll_interval=30)
    with ImapSource(config, stop_event=stop) as source:
        later(0.3, stop.set)
        started = time.monotonic()
        assert source.wait(30) is False
        assert time.monotonic() - started < 3
        assert source.wait(30) is False  # stays stopped


def test_polling_waits_for_the_poll_interval(imap_account, imap_config) -> None:
    config = replace(imap_config, idle=False, poll_interval=0.5)
    with ImapSource(config) as source:
        started = time.monotonic()
        assert source.wait(30) is False
        assert 0.4 <= time.monotonic() - started < 3
        later(0.1, lambda: imap_account.append("INBOX", mail(1)))
        assert source.wait(30) is True  # NOOP reported the new message
        assert len(fetch_all(source)) == 1


def test_polls_when_the_server_lacks_idle(imap_config: MailboxConfig) -> None:
    config = replace(imap_config, poll_interval=0.3)
    with ImapSource(config, ignore_capabilities=["IDLE"]) as source:
        started = time.monotonic()
        assert source.wait(30) is False
        assert 0.2 <= time.monotonic() - started < 3


def test_folder_names_follow_a_courier_style_namespace() -> None:
    # Some servers keep every folder under "INBOX." with "." as separator: the config's
    # "mailbot/processed" must become "INBOX.mailbot.processed" there.
    with DovecotServer(separator=".", namespace_prefix="INBOX.") as server:
        account = server.add_account()
        account.append("INBOX", mail(1))
        account.append("INBOX", mail(2))
        with ImapSource(account.mailbox_config()) as source:
            first, second = fetch_all(source)
            source.mark_processed([first])
            source.mark_failed([second])
        assert {"INBOX.mailbot.processed", "INBOX.mailbot.failed"} <= set(account.folders())
        assert list(account.messages("INBOX.mailbot.processed").values()) == [mail(1)]
        assert list(account.messages("INBOX.mailbot.failed").values()) == [mail(2)]
        assert account.messages("INBOX") == {}
