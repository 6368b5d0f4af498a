"""One SMTP connection as configured: TLS, STARTTLS or plain, login, clear errors."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from typing import Any

from mailbot.config_types import SmtpConfig
from mailbot.errors import ConfigError

log = logging.getLogger("mailbot.smtp")


def ssl_context(config: SmtpConfig) -> ssl.SSLContext:
    """System CAs (or `ca_file`); no verification only when `tls_verify` is off."""
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(config: SmtpConfig) -> smtplib.SMTP:
    """A ready connection: TLS as configured, logged in if a username is set."""
    if config.security not in ("tls", "starttls", "none"):
        raise ConfigError(
            f"smtp.security is {config.security!r}", 'use "tls", "starttls" or "none"'
        )
    # EHLO with our mail domain: socket.getfqdn() can block on DNS for seconds and often
    # says "localhost"; submission servers do not judge the name.
    helo = config.domain or None
    smtp: smtplib.SMTP
    if config.security == "tls":
        smtp = smtplib.SMTP_SSL(
            config.host,
            config.port,
            local_hostname=helo,
            timeout=config.timeout,
            context=ssl_context(config),
        )
    else:
        smtp = smtplib.SMTP(config.host, config.port, local_hostname=helo, timeout=config.timeout)
    try:
        if config.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise ConfigError(
                    f"the SMTP server {config.host}:{config.port} does not offer STARTTLS",
                    'use security = "tls" on the implicit-TLS port (465), or "none" only on a '
                    "trusted local relay",
                )
            smtp.starttls(context=ssl_context(config))
            smtp.ehlo()
        if config.username:
            if config.secret is None:
                raise ConfigError(
                    "smtp.username is set but there is no password",
                    "set smtp.password_env or smtp.password_file",
                )
            smtp.login(config.username, config.secret.reveal())
    except BaseException:
        close(smtp)
        raise
    return smtp


def close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def explain_connect_failure(err: BaseException, config: SmtpConfig) -> str:
    """Log why the server cannot be used (once per drain) and return the row error."""
    where = f"{config.host}:{config.port}"
    if isinstance(err, ConfigError):
        log.error("SMTP configuration problem: %s", err)
        return err.message
    if isinstance(err, socket.gaierror):
        text, hint = f"cannot resolve the SMTP host {config.host!r}", "check smtp.host"
    elif isinstance(err, smtplib.SMTPAuthenticationError):
        text = f"the SMTP server {where} refused the login for {config.username!r}"
        hint = "check smtp.username and the password"
    elif isinstance(err, ssl.SSLCertVerificationError):
        text = f"the TLS certificate of {where} is not trusted: {err.verify_message}"
        hint = "fix the server certificate, or set smtp.ca_file to the CA that signed it"
    elif isinstance(err, ssl.SSLError):
        text = f"TLS with {where} failed: {err}"
        hint = 'check smtp.security: "tls" is for port 465, "starttls" for 587'
    elif isinstance(err, smtplib.SMTPResponseException):
        code, msg = err.smtp_code, decode_reply(err.smtp_error)
        text, hint = f"the SMTP server {where} answered {code} {msg}", "mails are retried later"
    else:
        text = f"cannot talk to the SMTP server {where}: {err.__class__.__name__}: {err}"
        hint = "check smtp.host, smtp.port and that the server runs; mails are retried later"
    # A refused or timed-out connection is usually an outage; the rest needs a person.
    outage = isinstance(
        err, (ConnectionError, TimeoutError, smtplib.SMTPResponseException)
    ) and not isinstance(err, smtplib.SMTPAuthenticationError)
    log.log(logging.WARNING if outage else logging.ERROR, "%s (what to do: %s)", text, hint)
    return text


def reset(smtp: smtplib.SMTP) -> bool:
    """RSET after a failed mail so the next starts clean; False if the connection is gone."""
    try:
        return smtp.rset()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def decode_reply(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
