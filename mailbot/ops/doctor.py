"""`mailbot doctor`: is this installation able to work? Each check passes, warns or fails.

Every check is read-only (doctor creates no folder, migrates nothing, sends
nothing) and uses short timeouts, so it is safe to run from monitoring. A
broken piece becomes a failed row with what to do; doctor itself never crashes
on a bad configuration.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url

from mailbot.config import Config, load_config
from mailbot.config_types import MailboxConfig, SmtpConfig
from mailbot.connectors.worker import configured
from mailbot.errors import MailbotError
from mailbot.ops.checks import FAIL, PASS, WARN, Check
from mailbot.ops.connectors import check_connectors, check_pushes
from mailbot.ops.health import (
    check_answer_mode,
    check_breakers,
    check_fetches,
    check_outbox,
    check_spam_filter,
)
from mailbot.ops.space import check_space
from mailbot.storage.db import Database
from mailbot.text import plural

if TYPE_CHECKING:
    from mailbot.sources.imap import ImapSource

log = logging.getLogger("mailbot.ops.doctor")

NETWORK_TIMEOUT = 8.0  # seconds per network step; doctor must never hang a terminal or a probe
DEFAULT_DB_PORTS = {"postgresql": 5432, "mysql": 3306}
TOKEN_WARN_DAYS = 7  # warn when an OAuth2 token expires sooner than this
CAPABILITY_CONSEQUENCES = {
    "IDLE": "new mail is noticed only by polling every poll_interval seconds",
    "MOVE": "processed mail is moved with COPY + \\Deleted, which is slower and less atomic",
    "UIDPLUS": "without MOVE too, moved mail stays behind flagged \\Deleted "
    "(mailbot never expunges other people's mail)",
}


def run_checks(config_path: str | Path | None) -> list[Check]:
    """Every check, in the order an admin would fix things."""
    try:
        config = load_config(config_path)
    except MailbotError as err:
        return [Check("config", "config", FAIL, err.message, err.hint or "fix the config file")]
    checks = [Check("config", "config", PASS, _config_summary(config))]
    checks += config_warnings(config)
    checks += _guarded("disk space", "disk", lambda: check_space(config))
    checks += check_servers(config)
    checks += _guarded("connectors", "connectors", lambda: check_connectors(config))
    db_checks, db = check_database(config.database_url)
    checks += db_checks
    checks += _guarded("triage", "triage", lambda: check_triage(config))
    checks += _guarded("answers", "answers", lambda: check_answer_mode(config))
    if db is not None:
        try:
            checks += _guarded("last fetch", "database", lambda: check_fetches(config, db))
            checks += _guarded("outbox", "outbox", lambda: check_outbox(db))
            checks += _guarded("breakers", "answers", lambda: check_breakers(db))
            checks += _guarded("spam filter", "spam", lambda: check_spam_filter(config, db))
            if configured(config):
                checks += _guarded("pushes", "connectors", lambda: check_pushes(db))
        finally:
            db.dispose()
    return checks


def check_servers(config: Config) -> list[Check]:
    """Log in to every mailbox and to SMTP as configured; change and send nothing."""
    checks: list[Check] = []
    for box in config.mailboxes:
        probe = check_imap if box.kind == "imap" else check_maildir
        checks += _guarded("mailbox", box.name, lambda b=box, p=probe: p(b))
    checks += _guarded("delivery", "delivery", lambda: check_delivery(config))
    return checks


def config_warnings(config: Config) -> list[Check]:
    """A valid config that still cannot do its whole job (sending: `check_delivery`)."""
    checks: list[Check] = []
    if not config.projects:
        checks.append(
            Check(
                "projects",
                "projects",
                WARN,
                "no [[projects]]: every mail waits in TRIAGE and no client is answered",
                "add a [[projects]] table per client project (key, name, client_domains, pm)",
            )
        )
    domain = (config.site.domain or config.site.address.rpartition("@")[2]).lower()
    ours = {a.lower() for a in config.site.own_addresses}
    for project in config.projects:
        pm = (project.pm or "").lower()
        if pm and domain and not pm.endswith("@" + domain) and pm not in ours:
            checks.append(
                Check(
                    "project pm",
                    f"project {project.key}",
                    WARN,
                    f"the PM address {project.pm} is outside {domain}: notices quoting client "
                    "mail would leave the team's domain",
                    f"use the PM's address at {domain}, or add it to site.own_addresses",
                )
            )
        if not project.pm:
            checks.append(
                Check(
                    "project pm",
                    f"project {project.key}",
                    WARN,
                    "no PM: escalations and the digest for this project reach nobody",
                    f"set pm (and pm_name) in the [[projects]] table of {project.key}",
                )
            )
    return checks


def _guarded(name: str, subject: str, run: Callable[[], list[Check]]) -> list[Check]:
    """A check that crashed is a failed row with the error, never the end of the report."""
    try:
        return run()
    except Exception as err:
        log.debug("check %s crashed", name, exc_info=True)
        detail = f"the check itself failed: {type(err).__name__}: {err}"
        action = "run `mailbot -v doctor` for the details and report it if it is a bug"
        return [Check(name, subject, FAIL, detail, action)]


def exit_code(checks: list[Check], *, strict: bool = False) -> int:
    """2 if anything failed; 1 for warnings under --strict; else 0."""
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return 2
    return 1 if strict and WARN in statuses else 0


def _config_summary(config: Config) -> str:
    where = str(config.path) if config.path else "the config"
    return (
        f"{where}: {plural(len(config.mailboxes), 'mailbox', 'mailboxes')}, "
        f"{plural(len(config.projects), 'project')}, "
        f"database {_safe_url(config.database_url)}"
    )


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an invalid URL is reported by the database check
        return "(invalid URL)"


# --- IMAP and Maildir ------------------------------------------------------------------


def check_imap(box: MailboxConfig) -> list[Check]:
    """Reachable, login, token, capabilities and folders of one IMAP mailbox."""
    name = box.name
    reach = _imap_reachable(box)
    if reach.status == FAIL:
        return [reach]
    checks = [reach]
    if box.auth == "xoauth2":
        checks.append(_token_check(box))
    from mailbot.sources.imap import ImapSource

    # No processed/failed folders: ImapSource creates them on connect, doctor must not.
    folders = replace(box.folders, processed=None, failed=None)  # type: ignore[arg-type]
    probe = replace(box, folders=folders, timeout=min(box.timeout, NETWORK_TIMEOUT))
    source = ImapSource(probe)
    try:
        source.connect()
    except MailbotError as err:  # SourceAuthError, SourceError, ConfigError (the secret)
        # ImapSource says "cannot open folder" only after a successful login.
        if "cannot open folder" in err.message:
            checks.append(Check("imap login", name, PASS, f"logged in as {box.username}"))
            checks.append(
                Check(
                    "imap folder",
                    name,
                    FAIL,
                    f"the inbox folder {box.folders.inbox!r} does not exist",
                    "check mailbox.folders.inbox (folder names use '/' as separator)",
                )
            )
        else:
            checks.append(Check("imap login", name, FAIL, err.message, err.hint))
        return checks
    try:
        checks.append(Check("imap login", name, PASS, f"logged in as {box.username}"))
        checks += _capability_checks(box, source)
        checks.append(Check("imap folder", name, PASS, f"inbox {box.folders.inbox!r} exists"))
        checks += _folder_checks(box, source)
    finally:
        source.close()
    return checks


def _imap_reachable(box: MailboxConfig) -> Check:
    """TCP (and TLS, for security = "tls") to the server, before any credential is used."""
    where = f"{box.host}:{box.port}"
    timeout = min(box.timeout, NETWORK_TIMEOUT)
    try:
        with socket.create_connection((box.host, box.port), timeout=timeout) as sock:
            if box.security != "tls":
                how = "STARTTLS is checked at login" if box.security == "starttls" else "no TLS"
                return Check("imap reachable", box.name, PASS, f"{where} answers ({how})")
            context = ssl.create_default_context(cafile=str(box.ca_file) if box.ca_file else None)
            if not box.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            with context.wrap_socket(sock, server_hostname=box.host) as tls:
                return Check("imap reachable", box.name, PASS, f"{where} answers ({tls.version()})")
    except ssl.SSLCertVerificationError as err:
        detail = f"the TLS certificate of {where} is not trusted ({err.verify_message})"
        action = "set mailbox.ca_file to the CA that signed the server's certificate"
    except ssl.SSLError as err:
        detail = f"TLS with {where} failed ({err.reason or err})"
        action = 'check mailbox.security and port: "tls" is usually 993, "starttls" 143'
    except socket.gaierror:
        detail = f"cannot resolve the host name {box.host!r}"
        action = "check mailbox.host and the machine's DNS"
    except TimeoutError:
        detail = f"no answer from {where} within {timeout:g}s"
        action = "check mailbox.host, mailbox.port and any firewall in between"
    except OSError as err:
        detail = f"cannot connect to {where}: {err.strerror or err}"
        action = "check mailbox.host and mailbox.port, and that the server is running"
    return Check("imap reachable", box.name, FAIL, detail, action)


def _capability_checks(box: MailboxConfig, source: ImapSource) -> Iterator[Check]:
    for cap, consequence in CAPABILITY_CONSEQUENCES.items():
        if source.has(cap):
            yield Check(f"imap {cap}", box.name, PASS, f"the server offers {cap}")
        elif cap == "UIDPLUS" and source.has("MOVE"):
            yield Check(f"imap {cap}", box.name, PASS, "not offered, not needed (MOVE is)")
        else:
            yield Check(
                f"imap {cap}",
                box.name,
                WARN,
                f"the server does not offer {cap}: {consequence}",
                "nothing to do if acceptable; otherwise ask the mail admin to enable it",
            )


def _folder_checks(box: MailboxConfig, source: ImapSource) -> Iterator[Check]:
    for role, folder in (("processed", box.folders.processed), ("failed", box.folders.failed)):
        if folder is None:
            yield Check("imap folder", box.name, PASS, f"no {role} folder: mail is flagged \\Seen")
            continue
        try:
            # ImapSource has no public lookup; _server_name applies the server's separator.
            exists = source.client.folder_exists(source._server_name(folder))
        except Exception as err:  # a lookup failure must not hide the other checks
            yield Check("imap folder", box.name, WARN, f"cannot look up {folder!r}: {err}")
            continue
        if exists:
            yield Check("imap folder", box.name, PASS, f"{role} folder {folder!r} exists")
        else:
            yield Check(
                "imap folder",
                box.name,
                WARN,
                f"{role} folder {folder!r} does not exist yet",
                "nothing to do: mailbot creates it on its first run",
            )


def _token_check(box: MailboxConfig) -> Check:
    """When an XOAUTH2 access token expires, if it says (a JWT's `exp`)."""
    try:
        token = box.secret.reveal() if box.secret is not None else ""
    except MailbotError as err:
        return Check("oauth2 token", box.name, FAIL, err.message, err.hint)
    expires = jwt_expiry(token)
    if expires is None:
        return Check(
            "oauth2 token",
            box.name,
            PASS,
            "the token is not a JWT: its expiry cannot be checked here (login shows if it works)",
        )
    left = expires - datetime.now(UTC)
    when = expires.strftime("%Y-%m-%d %H:%M UTC")
    action = "renew the token, or let token_command fetch a fresh one on every connect"
    if left <= timedelta(0):
        return Check("oauth2 token", box.name, FAIL, f"the token expired at {when}", action)
    if left < timedelta(days=TOKEN_WARN_DAYS):
        return Check("oauth2 token", box.name, WARN, f"the token expires at {when}", action)
    return Check("oauth2 token", box.name, PASS, f"the token is valid until {when}")


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT (header.payload.signature), or None if it is not one."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return datetime.fromtimestamp(float(claims["exp"]), UTC)
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):
        return None


def check_maildir(box: MailboxConfig) -> list[Check]:
    """A local Maildir: the inbox must be one; our folders appear on the first run."""
    from mailbot.sources.maildir import maildir_folder

    root = box.path
    if root is None:
        return [Check("maildir", box.name, FAIL, "no path configured", "set mailbox.path")]
    inbox = maildir_folder(root, box.folders.inbox)
    missing = [sub for sub in ("new", "cur", "tmp") if not (inbox / sub).is_dir()]
    if missing:
        return [
            Check(
                "maildir",
                box.name,
                FAIL,
                f"{inbox} is not a Maildir (missing {', '.join(missing)}/)",
                f"check mailbox.path, or create it: mkdir -p {inbox}/{{new,cur,tmp}}",
            )
        ]
    checks = [Check("maildir", box.name, PASS, f"{inbox} is a Maildir")]
    for role, folder in (("processed", box.folders.processed), ("failed", box.folders.failed)):
        if folder and not (maildir_folder(root, folder) / "cur").is_dir():
            checks.append(
                Check(
                    "maildir folder",
                    box.name,
                    WARN,
                    f"{role} folder {folder!r} does not exist yet",
                    "nothing to do: mailbot creates it on its first run",
                )
            )
    return checks


# --- sending -----------------------------------------------------------------------------


def check_delivery(config: Config) -> list[Check]:
    """Where acknowledgements go: SMTP (reachable, login), an outbox folder, or nowhere."""
    if config.smtp is not None:
        return [check_smtp(config.smtp)]
    if config.outbox_dir is not None:
        return [Check("outbox dir", "delivery", PASS, f"mail is written to {config.outbox_dir}")]
    if not config.acknowledgements.enabled:
        return [Check("delivery", "delivery", PASS, "acknowledgements are disabled")]
    return [
        Check(
            "delivery",
            "delivery",
            WARN,
            "neither [smtp] nor [outbox] directory is configured: acknowledgements pile up "
            "unsent in the database",
            "configure [smtp] (or [outbox] directory = ...)",
        )
    ]


def check_smtp(smtp: SmtpConfig) -> Check:
    """Connect, STARTTLS/TLS and log in as configured; send nothing."""
    from mailbot.outgoing.connection import close, connect

    where = f"{smtp.host}:{smtp.port}"
    try:
        conn = connect(replace(smtp, timeout=min(smtp.timeout, NETWORK_TIMEOUT)))
    except MailbotError as err:
        return Check("smtp", "smtp", FAIL, err.message, err.hint)
    except Exception as err:
        return Check("smtp", "smtp", FAIL, *_smtp_failure(err, smtp))
    close(conn)
    how = f"logged in as {smtp.username}" if smtp.username else "no login configured"
    return Check("smtp", "smtp", PASS, f"{where} answers ({smtp.security}, {how})")


def _smtp_failure(err: BaseException, smtp: SmtpConfig) -> tuple[str, str]:
    import smtplib

    where = f"{smtp.host}:{smtp.port}"
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login for {smtp.username!r}", "check the username, password"
    if isinstance(err, ssl.SSLCertVerificationError):
        return (
            f"the TLS certificate of {where} is not trusted ({err.verify_message})",
            "set smtp.ca_file to the CA that signed it",
        )
    if isinstance(err, ssl.SSLError):
        return f"TLS with {where} failed ({err})", 'smtp.security "tls" is for 465, "starttls" 587'
    if isinstance(err, socket.gaierror):
        return f"cannot resolve {smtp.host!r}", "check smtp.host and the machine's DNS"
    if isinstance(err, TimeoutError):
        return f"no answer from {where}", "check smtp.host, smtp.port and any firewall"
    return (
        f"cannot talk to {where}: {type(err).__name__}: {err}",
        "check smtp.host, smtp.port and that the server is running",
    )


# --- database, triage, freshness, outbox ------------------------------------------------------


def check_database(url: str) -> tuple[list[Check], Database | None]:
    """Reachable and migrated to the newest schema; never migrates it."""
    from mailbot.storage.db import open_database, resolve_url

    advice = "run `mailbot run --once` (it migrates the database), then run doctor again"
    try:
        parsed = make_url(resolve_url(url))
        local = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ":memory:")
        if local and not Path(str(parsed.database)).expanduser().exists():
            # Connecting would create an empty file; say what is wrong instead.
            msg = f"the database file {parsed.database} does not exist yet"
            return [Check("database", "database", FAIL, msg, advice)], None
        unreachable = _server_unreachable(parsed)
        if unreachable is not None:
            return [unreachable], None
        db = open_database(url, migrate=False)
        current = db.is_current()
    except MailbotError as err:
        return [Check("database", "database", FAIL, err.message, err.hint)], None
    except Exception as err:  # the driver's errors differ per backend; show its words
        detail = f"cannot open {_safe_url(url)}: {getattr(err, 'orig', None) or err}"
        action = "check database.url, that the server runs and that mailbot may connect"
        return [Check("database", "database", FAIL, detail, action)], None
    if not current:
        detail = f"{_safe_url(url)} is not migrated to this mailbot version"
        return [Check("database", "database", FAIL, detail, advice)], db
    return [Check("database", "database", PASS, f"{_safe_url(url)} is reachable and current")], db


def _server_unreachable(parsed: URL) -> Check | None:
    """A quick TCP probe of a database server: its driver may wait minutes for a dead host."""
    if parsed.get_backend_name() == "sqlite" or not parsed.host:
        return None  # a file, or a local Unix socket: nothing to wait for
    port = parsed.port or DEFAULT_DB_PORTS.get(parsed.get_backend_name(), 5432)
    try:
        socket.create_connection((parsed.host, port), timeout=NETWORK_TIMEOUT).close()
    except OSError as err:
        return Check(
            "database",
            "database",
            FAIL,
            f"cannot connect to the database server {parsed.host}:{port}: {err.strerror or err}",
            "check database.url and that the database server runs and accepts connections",
        )
    return None


def check_triage(config: Config) -> list[Check]:
    """The rules and the model load (as the daemon would load them)."""
    if not config.triage.enabled:
        return [Check("triage", "triage", PASS, "triage is disabled in the config")]
    from mailbot.app import load_triage

    try:
        triage = load_triage(config)
    except MailbotError as err:
        return [Check("triage", "triage", FAIL, err.message, err.hint)]
    except Exception as err:
        detail = f"the model or rules do not load: {type(err).__name__}: {err}"
        action = "check triage.rules_dir and triage.model_dir, or reinstall mailbot"
        return [Check("triage", "triage", FAIL, detail, action)]
    assert triage is not None
    count = len(triage.rules.rules)
    return [Check("triage", "triage", PASS, f"{count} rules, model {triage.model_version}")]
