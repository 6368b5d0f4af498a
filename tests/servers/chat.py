"""Local stand-ins for the chat platforms' webhooks: Slack, Microsoft Teams (workflow),
WeCom group robot, DingTalk robot and Feishu/Lark bot, each at its own path::

    with FakeChat(secret="SEC123") as chat:
        config = chat.chat_config("dingtalk")    # a ChatConfig with the robot's URL and secret
        ...
        assert chat.received["dingtalk"][0]["markdown"]["title"] == "..."
        assert not chat.violations
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, ClassVar

from mailbot.config_types import ChatConfig, Secret
from tests.servers.local_http import LocalServer, Refused, Seen


class FakeChat(LocalServer):
    """Slack, Teams, WeCom, DingTalk and Feishu webhooks, each at its own path."""

    TOKENS: ClassVar[dict[str, str]] = {
        "wecom": "wecom-key-1",
        "dingtalk": "ding-token-1",
        "feishu": "feishu-hook-1",
    }

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret  # DingTalk and Feishu signing secret; None: unsigned robots
        self.received: dict[str, list[dict[str, Any]]] = {}

    def url(self, kind: str) -> str:
        return {
            "slack": f"{self.base}/services/T000/B000/XXXX",
            "teams": f"{self.base}/workflows/abc/triggers/manual/paths/invoke?api-version=1",
            "wecom": f"{self.base}/cgi-bin/webhook/send?key={self.TOKENS['wecom']}",
            "dingtalk": f"{self.base}/robot/send?access_token={self.TOKENS['dingtalk']}",
            "feishu": f"{self.base}/open-apis/bot/v2/hook/{self.TOKENS['feishu']}",
        }[kind]

    def chat_config(self, kind: str, name: str | None = None, **overrides: Any) -> ChatConfig:
        values: dict[str, Any] = {
            "kind": kind,
            "url": Secret(key="chat[0].url", value=self.url(kind)),
            "name": name or f"ACME:{kind}:0",
            "signing": Secret(key="chat[0].secret", value=self.secret)
            if self.secret and kind in ("dingtalk", "feishu")
            else None,
            "timeout": 5.0,
        }
        values.update(overrides)
        return ChatConfig(**values)

    def handle(self, seen: Seen) -> tuple[int, Any]:
        if seen.method != "POST":
            raise self.violation(f"{seen.method} {seen.path}: webhooks take POST")
        if not seen.headers.get("content-type", "").startswith("application/json"):
            raise self.violation(f"{seen.path}: the body must be sent as application/json")
        if not isinstance(seen.body, dict):
            raise self.violation(f"{seen.path}: the body is not a JSON object")
        q = {k: v[-1] for k, v in seen.query.items()}
        if seen.path == "/services/T000/B000/XXXX":
            return self._slack(seen.body)
        if seen.path.startswith("/workflows/"):
            return self._teams(seen.body)
        if seen.path == "/cgi-bin/webhook/send":
            return self._wecom(seen.body, q)
        if seen.path == "/robot/send":
            return self._dingtalk(seen.body, q)
        if seen.path.startswith("/open-apis/bot/v2/hook/"):
            return self._feishu(seen.body, seen.path.rsplit("/", 1)[1])
        raise Refused(404, "no_service")

    def _keep(self, kind: str, body: dict[str, Any]) -> None:
        self.received.setdefault(kind, []).append(body)

    def _slack(self, body: dict[str, Any]) -> tuple[int, Any]:
        if not isinstance(body.get("text"), str) or not body["text"]:
            raise Refused(400, "invalid_payload")  # Slack: text is the fallback, required
        for block in body.get("blocks", []):
            if block.get("type") not in ("header", "section") or "text" not in block:
                raise Refused(400, "invalid_blocks")
            if block["type"] == "header" and block["text"].get("type") != "plain_text":
                raise Refused(400, "invalid_blocks")
        self._keep("slack", body)
        return 200, "ok"

    def _teams(self, body: dict[str, Any]) -> tuple[int, Any]:
        attachments = body.get("attachments")
        if body.get("type") != "message" or not isinstance(attachments, list) or not attachments:
            raise self.violation("Teams: a message with attachments is expected")
        card = attachments[0]
        if card.get("contentType") != "application/vnd.microsoft.card.adaptive":
            raise self.violation("Teams: the attachment must be an Adaptive Card")
        content = card.get("content") or {}
        if content.get("type") != "AdaptiveCard" or not content.get("body"):
            raise self.violation("Teams: content must be an AdaptiveCard with a body")
        self._keep("teams", body)
        return 202, None

    def _wecom(self, body: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        if q.get("key") != self.TOKENS["wecom"]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        if body.get("msgtype") != "markdown" or not (body.get("markdown") or {}).get("content"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(body["markdown"]["content"].encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        self._keep("wecom", body)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(self, body: dict[str, Any], q: dict[str, str]) -> tuple[int, Any]:
        if q.get("access_token") != self.TOKENS["dingtalk"]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if self.secret:
            stamp = q.get("timestamp", "")
            if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > 3600_000:
                return 200, {"errcode": 310000, "errmsg": "timestamp is invalid"}
            expected = base64.b64encode(
                hmac.new(
                    self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            if q.get("sign") != expected:
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        markdown = body.get("markdown") or {}
        if (
            body.get("msgtype") != "markdown"
            or not markdown.get("title")
            or not markdown.get("text")
        ):
            return 200, {"errcode": 40035, "errmsg": "missing markdown title or text"}
        self._keep("dingtalk", body)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _feishu(self, body: dict[str, Any], token: str) -> tuple[int, Any]:
        if token != self.TOKENS["feishu"]:
            return 200, {
                "code": 19001,
                "msg": "param invalid: incoming webhook access token invalid",
            }
        if self.secret:
            stamp = str(body.get("timestamp", ""))
            key = f"{stamp}\n{self.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if (
                not stamp.isdigit()
                or abs(time.time() - int(stamp)) > 3600
                or body.get("sign") != expected
            ):
                return 200, {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        if body.get("msg_type") != "interactive":
            return 200, {"code": 9499, "msg": "Bad Request"}
        card = body.get("card") or {}
        title = (card.get("header") or {}).get("title") or {}
        if title.get("tag") != "plain_text" or not card.get("elements"):
            return 200, {"code": 11246, "msg": "card is invalid"}
        self._keep("feishu", body)
        return 200, {"code": 0, "msg": "success", "data": {}}
