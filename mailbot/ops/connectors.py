"""`mailbot doctor` for the tracker and chat connectors: sign in, find the project, reach
each webhook — reading only: doctor creates no issue and posts no message."""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from mailbot.config import Config
from mailbot.config_types import ChatConfig
from mailbot.connectors.base import PushFailed
from mailbot.connectors.worker import make_tracker
from mailbot.errors import MailbotError
from mailbot.ops.checks import FAIL, PASS, WARN, Check, ago
from mailbot.storage.db import Database
from mailbot.storage.models import Push, PushState
from mailbot.text import plural

NETWORK_TIMEOUT = 8.0  # seconds per request: doctor must never hang a terminal or a probe
PUSH_WAIT_WARN = timedelta(hours=1)  # a push still pending after this is worth a look
SIGNED_KINDS = ("dingtalk", "feishu")


def check_connectors(config: Config) -> list[Check]:
    """Each project's tracker, then every chat webhook (the projects', then the site's)."""
    checks: list[Check] = []
    for project in config.projects:
        if project.tracker is None:
            continue
        subject = f"tracker {project.key}"
        tracker_config = replace(
            project.tracker, timeout=min(project.tracker.timeout, NETWORK_TIMEOUT)
        )
        try:
            done = make_tracker(tracker_config).check()
        except PushFailed as err:
            checks.append(Check("tracker", subject, FAIL, str(err), "see docs/integrations.md"))
            continue
        except MailbotError as err:
            checks.append(Check("tracker", subject, FAIL, err.message, err.hint))
            continue
        where = f"{project.tracker.kind} at {project.tracker.url}"
        checks.append(Check("tracker", subject, PASS, f"{where}: {'; '.join(done)}"))
    for chat in [*(c for p in config.projects for c in p.chat), *config.chat]:
        checks.append(check_webhook(chat))
    return checks


def check_webhook(chat: ChatConfig) -> Check:
    """The webhook's secrets can be read and its server answers (nothing is posted)."""
    subject = f"chat {chat.name}"
    try:
        url = chat.url.reveal()
        if chat.signing is not None:
            chat.signing.reveal()
    except MailbotError as err:
        return Check("chat webhook", subject, FAIL, err.message, err.hint)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return Check(
            "chat webhook",
            subject,
            FAIL,
            f"the {chat.kind} webhook URL is not an http:// or https:// URL",
            "copy the whole URL the platform shows for the webhook",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=NETWORK_TIMEOUT) as sock:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                with context.wrap_socket(sock, server_hostname=parts.hostname):
                    pass
    except (OSError, ssl.SSLError) as err:
        return Check(
            "chat webhook",
            subject,
            FAIL,
            f"{parts.hostname}:{port} cannot be reached: {err}",
            "check the network (a proxy, a firewall) from this machine to the platform",
        )
    if chat.kind in SIGNED_KINDS and chat.signing is None:
        return Check(
            "chat webhook",
            subject,
            WARN,
            f"{parts.hostname} answers; the {chat.kind} robot is not signed",
            "turn on signing in the robot's security settings and set secret_env",
        )
    return Check("chat webhook", subject, PASS, f"{parts.hostname}:{port} answers")


def check_pushes(db: Database, now: datetime | None = None) -> list[Check]:
    """Pushes set aside for a person, and pushes that have waited long."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        failed = session.execute(
            select(Push.connector, func.count())
            .where(Push.state == PushState.FAILED)
            .group_by(Push.connector)
        ).all()
        oldest = session.scalar(
            select(func.min(Push.created_at)).where(Push.state == PushState.PENDING)
        )
        last_error = session.scalar(
            select(Push.last_error)
            .where(Push.state == PushState.FAILED)
            .order_by(Push.id.desc())
            .limit(1)
        )
    if failed:
        names = ", ".join(f"{plural(n, 'push', 'pushes')} to {c}" for c, n in failed)
        return [
            Check(
                "pushes",
                "connectors",
                FAIL,
                f"set aside: {names} (the last: {last_error})",
                "fix the connector's settings (the checks above say what is wrong)",
            )
        ]
    if oldest is not None and now - oldest > PUSH_WAIT_WARN:
        return [
            Check(
                "pushes",
                "connectors",
                WARN,
                f"the oldest waiting push was queued {ago(now - oldest)}: "
                "a tracker or a webhook is not answering",
                "see the tracker and chat checks above",
            )
        ]
    return [Check("pushes", "connectors", PASS, "nothing waiting for a tracker or a chat")]
