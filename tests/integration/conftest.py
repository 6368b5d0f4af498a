"""Fixtures for tests against real servers started by the suite.

- `dovecot` (session): a running `tests.servers.DovecotServer`; skipped if the
  dovecot binary is missing, except under CI (CI=true), where that is a failure.
- `imap_account` (function): a brand-new Dovecot user with an empty mailbox,
  so tests never see each other's mail (a `DovecotAccount`).
- `imap_config` (function): a `MailboxConfig` for `imap_account` on the plain port.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `tests` is not an installed package: make `tests.servers` importable however pytest is run.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from mailbot.config_types import MailboxConfig  # noqa: E402
from tests.servers import DovecotAccount, DovecotServer, dovecot_available  # noqa: E402


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One private Dovecot for the whole test session."""
    if not dovecot_available():
        reason = "dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            # CI installs Dovecot: a silent skip there would hide that nothing was tested.
            pytest.fail(f"{reason}, but CI must run the IMAP tests")
        pytest.skip(f"{reason} — IMAP tests skipped")
    with DovecotServer() as server:
        yield server


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> DovecotAccount:
    """A fresh user with an empty mailbox for this test only."""
    return dovecot.add_account()


@pytest.fixture
def imap_config(imap_account: DovecotAccount) -> MailboxConfig:
    """MailboxConfig for `imap_account` (plain port, password from a file, poll_interval 1 s)."""
    return imap_account.mailbox_config()


from tests.servers.smtp import SmtpSink  # noqa: E402


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running `tests.servers.smtp.SmtpSink` (plain SMTP, no AUTH) for this test only.

    It starts in milliseconds, so every test gets its own and never sees others' mail;
    `smtp_sink.smtp_config()` is an SmtpConfig pointing at it.
    """
    with SmtpSink() as sink:
        yield sink
