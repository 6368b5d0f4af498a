"""A tracker's webhook to `mailbot web`: verified, then read back from the tracker.

The request only says *which* issue changed; mailbot asks the tracker for the issue
itself before it moves the item (`worker.apply_remote_status`, as a poll does). So a
forged or replayed body cannot set a status the tracker does not have, and the same
notice twice changes nothing.

A request is accepted when it carries, for the project's `webhook_secret`:
- `X-Hub-Signature-256: sha256=<hex>` (GitHub's form), `X-Hub-Signature: sha256=<hex>`
  (Jira's) or `X-Mailbot-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body keyed by
  the secret; or
- `X-Gitlab-Token: <secret>` (GitLab's form: the secret itself).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.config import Config
from mailbot.config_types import ProjectConfig
from mailbot.connectors.base import PushFailed, Tracker
from mailbot.connectors.statuses import apply_remote_status
from mailbot.connectors.worker import make_tracker
from mailbot.errors import MailbotError
from mailbot.storage.db import Database

MAX_BODY_BYTES = 1024 * 1024  # a tracker's notice is a few KB


@dataclass(frozen=True, slots=True)
class HookAnswer:
    status: int  # the HTTP status to answer
    detail: str


def signature(secret: str, body: bytes) -> str:
    """What a sender puts in X-Mailbot-Signature (and GitHub in X-Hub-Signature-256)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Is the body signed with the secret (or does it carry the secret as GitLab does)?"""
    expected = signature(secret, body)
    # Jira's webhooks with a secret send the same form as X-Hub-Signature.
    for name in ("x-hub-signature-256", "x-mailbot-signature", "x-hub-signature"):
        sent = headers.get(name)
        if sent and hmac.compare_digest(sent.strip().lower(), expected):
            return True
    token = headers.get("x-gitlab-token")
    return bool(token) and hmac.compare_digest(token.encode(), secret.encode())


def issue_id(data: Any) -> str | None:
    """The changed issue's id in the common shapes: Redmine webhook plugins ({"payload":
    {"issue": {"id"}}} or {"issue": {"id"}}), GitHub ({"issue": {"number"}}), GitLab
    ({"object_attributes": {"iid"}}) and Jira ({"issue": {"key"}})."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("payload"), dict):
        data = data["payload"]
    issue = data.get("issue") if isinstance(data.get("issue"), dict) else None
    attributes = data.get("object_attributes")
    for source, key in ((issue, "id"), (issue, "number"), (issue, "key")):
        if source is not None and source.get(key) not in (None, ""):
            if key == "id" and "number" in source:
                continue  # GitHub's id is internal; its number is the issue's
            return str(source[key])
    if isinstance(attributes, dict) and attributes.get("iid") is not None:
        return str(attributes["iid"])
    return None


def handle(
    config: Config,
    db: Database,
    project_key: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: datetime,
    trackers: Any = make_tracker,
) -> HookAnswer:
    """Verify one webhook request for `project_key` and apply what the tracker now says."""
    project = config.project(project_key.upper())
    if project is None or project.tracker is None or project.tracker.webhook_secret is None:
        return HookAnswer(404, "no tracker webhook for this project")
    if len(body) > MAX_BODY_BYTES:
        return HookAnswer(413, "too large")
    try:
        secret = project.tracker.webhook_secret.reveal()
    except MailbotError:
        return HookAnswer(503, "the webhook secret cannot be read")
    lowered = {k.lower(): v for k, v in headers.items()}
    if not verified(secret, lowered, body):
        return HookAnswer(401, "signature does not match")
    try:
        number = issue_id(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        return HookAnswer(400, "the body is not JSON")
    if number is None:
        return HookAnswer(400, "no issue in the body")
    return _apply(config, db, project, trackers(project.tracker), number, now)


def _apply(
    config: Config,
    db: Database,
    project: ProjectConfig,
    tracker: Tracker,
    number: str,
    now: datetime,
) -> HookAnswer:
    try:
        issue = tracker.get(number)
    except PushFailed as err:
        # The tracker's next poll finds the change: answering 502 makes the sender retry.
        return HookAnswer(502, f"the tracker did not answer: {err}")
    with db.session() as session:
        changed = apply_remote_status(session, config, project, issue, now=now)
    return HookAnswer(200, f"{issue.key}: {'status applied' if changed else 'nothing to change'}")
