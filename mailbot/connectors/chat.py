"""Chat notices: one compact card per notice, in each platform's documented format.

- Slack incoming webhook: `{"text", "blocks"}` (mrkdwn); answers `ok`, 429 + Retry-After.
- Microsoft Teams workflow webhook ("When a Teams webhook request is received"): a
  `message` with one Adaptive Card attachment; answers 202.
- WeCom group robot: `{"msgtype": "markdown"}`; `errcode` 45009 when over 20 a minute.
- DingTalk robot: `{"msgtype": "markdown"}`; signed with `timestamp` (ms) and `sign` =
  base64(HMAC-SHA256(secret, timestamp + "\\n" + secret)) in the query; `errcode` 130101
  when over 20 a minute (then refused for 10 minutes).
- Feishu/Lark bot: `{"msg_type": "interactive", "card"}`; signed with `timestamp` (s) and
  `sign` = base64(HMAC-SHA256(key = timestamp + "\\n" + secret, message = "")) in the
  body; `code` 11232 when rate limited.

The wording is data: `templates/chat/<event>.<language>.txt.j2`, first line the title.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ChatConfig, ProjectConfig
from mailbot.connectors import http
from mailbot.connectors.base import PushFailed
from mailbot.outgoing.templates import TemplateLibrary
from mailbot.storage.models import Push, PushState

RATE_WINDOW = timedelta(minutes=1)
# Platform answers that mean "too many, wait": (errcode or code) -> seconds to wait.
RATE_LIMITED = {
    "wecom": {45009: 60.0},
    "dingtalk": {130101: 600.0},  # "send too fast": refused for 10 minutes
    "feishu": {11232: 60.0},
}
TITLE_COLOURS = {"escalation": "red", "failure": "orange", "review": "yellow", "digest": "blue"}


def render(
    config: Config, project: ProjectConfig | None, payload: dict[str, Any]
) -> tuple[str, str]:
    """The notice's title and markdown text, from its template, in the payload's language."""
    dirs = [d for d in (project and project.templates_dir, config.site.templates_dir) if d]
    library = TemplateLibrary(dirs)
    context = {**payload["facts"], "project_key": payload.get("project") or ""}
    text = library.render("chat", payload["event"], payload["language"], context).text
    title, _, body = text.strip().partition("\n")
    return title.strip(), body.strip()


def sign_dingtalk(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign`: base64 of HMAC-SHA256 keyed by the secret over "ts\\nsecret"."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def sign_feishu(secret: str, timestamp_s: int) -> str:
    """Feishu's `sign`: base64 of HMAC-SHA256 keyed by "ts\\nsecret" over nothing."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _slack_mrkdwn(text: str) -> str:
    """Slack's mrkdwn: *bold* and <url|label> instead of Markdown's."""
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    return re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"<\2|\1>", text)


def build(
    kind: str, url: str, title: str, text: str, event: str, *, secret: str | None, now: datetime
) -> tuple[str, dict[str, Any]]:
    """The URL to post to and the JSON body, as the platform documents them."""
    if kind == "slack":
        mrkdwn = _slack_mrkdwn(text)
        return (
            url,
            {
                "text": f"{title}\n{mrkdwn}",  # what notifications and old clients show
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn[:3000]}},
                ],
            },
        )
    if kind == "teams":
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": title,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                },
                {"type": "TextBlock", "text": text, "wrap": True},
            ],
        }
        return url, {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    if kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"[:4096]}}
    if kind == "dingtalk":
        body = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": f"#### {title}\n\n{text}"},
        }
        if secret:
            stamp = int(now.timestamp() * 1000)
            query = urllib.parse.urlencode(
                {"timestamp": stamp, "sign": sign_dingtalk(secret, stamp)}
            )
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url, body
    if kind == "feishu":
        body = {
            "msg_type": "interactive",
            "card": {
                "header": {
                    "title": {"tag": "plain_text", "content": title},
                    "template": TITLE_COLOURS.get(event, "blue"),
                },
                "elements": [{"tag": "markdown", "content": text}],
            },
        }
        if secret:
            stamp = int(now.timestamp())
            body = {"timestamp": str(stamp), "sign": sign_feishu(secret, stamp), **body}
        return url, body
    raise PushFailed(f"unknown chat kind {kind!r}", permanent=True)


def check_answer(kind: str, answer: http.Answer, label: str) -> None:
    """WeCom, DingTalk and Feishu answer 200 with an error code in the body."""
    if kind not in RATE_LIMITED or not isinstance(answer.body, dict):
        return
    code = answer.body.get("errcode", answer.body.get("code", answer.body.get("StatusCode", 0)))
    if not code:
        return
    message = answer.body.get("errmsg") or answer.body.get("msg") or ""
    wait = RATE_LIMITED[kind].get(int(code))
    raise PushFailed(
        f"{label} refused the notice: {code} {message}".strip(),
        permanent=wait is None,
        retry_after=wait,
    )


def send(chat: ChatConfig, title: str, text: str, event: str, *, now: datetime) -> None:
    """Post one notice; raise `PushFailed` (with the platform's wait, if any)."""
    url, body = build(
        chat.kind,
        chat.url.reveal(),
        title,
        text,
        event,
        secret=chat.signing.reveal() if chat.signing else None,
        now=now,
    )
    label = f"the {chat.kind} webhook {chat.name}"
    answer = http.request(
        "POST", url, body=body, timeout=chat.timeout, ok=(200, 201, 202, 204), label=label
    )
    check_answer(chat.kind, answer, label)


def room_at(session: Session, chat: ChatConfig, now: datetime) -> datetime | None:
    """None when the webhook may take one more notice now, else when it may.

    Counted on the pushes done in the last minute, so every process sharing the
    database keeps to the one limit.
    """
    since = now - RATE_WINDOW
    done = session.scalars(
        select(Push.done_at)
        .where(Push.connector == chat.name, Push.state == PushState.DONE, Push.done_at > since)
        .order_by(Push.done_at)
    ).all()
    if len(done) < chat.per_minute:
        return None
    return done[len(done) - chat.per_minute] + RATE_WINDOW  # when the oldest leaves the window
