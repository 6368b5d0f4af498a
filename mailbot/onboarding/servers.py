"""Talking to the admin's servers as the daemon will: log in, look around, send a test mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailbot.config_types import Folders, MailboxConfig, Secret, SmtpConfig
from mailbot.onboarding.answers import MailboxAnswers, SmtpAnswers

log = logging.getLogger("mailbot.onboarding")

PROBE_TIMEOUT = 20.0  # seconds per step: init waits for a person, not for a dead host
SPECIAL_USE = ("\\Junk", "\\Sent", "\\Archive", "\\Trash", "\\Drafts", "\\All")


@dataclass(frozen=True, slots=True)
class ServerReport:
    """What the IMAP server offers and which folders it has."""

    capabilities: frozenset[str]
    folders: tuple[tuple[str, tuple[str, ...]], ...]  # (name, flags)

    def special_use(self) -> dict[str, str]:
        """'\\Junk' -> 'Junk': the folders the server marks for a purpose (RFC 6154)."""
        found: dict[str, str] = {}
        for name, flags in self.folders:
            for flag in flags:
                if flag in SPECIAL_USE:
                    found.setdefault(flag, name)
        return found

    def has_folder(self, name: str) -> bool:
        return any(n == name for n, _flags in self.folders)


def mailbox_config(answers: MailboxAnswers, *, with_folders: bool) -> MailboxConfig:
    """The MailboxConfig the written config will give, with the typed-in password."""
    folders = Folders(
        processed=answers.processed if with_folders else None,
        failed=answers.failed if with_folders else None,  # type: ignore[arg-type]
    )
    return MailboxConfig(
        name="support",
        kind="imap",
        host=answers.host,
        port=answers.port,
        security=answers.security,
        username=answers.username,
        auth="password",
        secret=Secret(key="mailbox.password", value=answers.password),
        ca_file=answers.ca_file,
        folders=folders,
        idle=False,
        timeout=PROBE_TIMEOUT,
    )


def probe_imap(answers: MailboxAnswers) -> ServerReport:
    """Log in and read the capabilities and the folders; create nothing.

    Raises `SourceAuthError` for a refused login and `SourceError` for the rest,
    each with a sentence saying what to check.
    """
    from mailbot.sources.imap import ImapSource

    with ImapSource(mailbox_config(answers, with_folders=False)) as source:
        return ServerReport(source.capabilities, tuple(source.list_folders()))


def create_folders(answers: MailboxAnswers) -> None:
    """Create the processed and failed folders (what the daemon would do on its first run)."""
    from mailbot.sources.imap import ImapSource

    with ImapSource(mailbox_config(answers, with_folders=True)):
        pass


def smtp_config(answers: SmtpAnswers, from_address: str, from_name: str) -> SmtpConfig:
    secret = None
    if answers.username:
        secret = Secret(key="smtp.password", value=answers.password or "")
    return SmtpConfig(
        host=answers.host,
        port=answers.port,
        security=answers.security,
        username=answers.username or None,
        secret=secret,
        ca_file=answers.ca_file,
        from_address=from_address,
        from_name=from_name,
        timeout=PROBE_TIMEOUT,
    )


def send_test_mail(config: SmtpConfig, to: str) -> str:
    """Send one short mail to the admin through the configured server; its Message-ID."""
    from mailbot.outgoing.connection import close, connect

    mail = EmailMessage()
    mail["From"] = (
        f"{config.from_name} <{config.from_address}>" if config.from_name else (config.from_address)
    )
    mail["To"] = to
    mail["Subject"] = "mailbot: test mail from mailbot init"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid("mailbot-init", domain=config.domain)
    mail["Auto-Submitted"] = "auto-generated"  # no auto-reply should answer it
    mail.set_content(
        "This mail was sent by `mailbot init` to check that mailbot can send mail through\n"
        f"{config.host}:{config.port} as {config.from_address}.\n\n"
        "Nothing to do: if you read this, sending works.\n"
    )
    smtp = connect(replace(config, timeout=min(config.timeout, PROBE_TIMEOUT)))
    try:
        smtp.send_message(mail, from_addr=config.envelope_from, to_addrs=[to])
    finally:
        close(smtp)
    return str(mail["Message-ID"])
