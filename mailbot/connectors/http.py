"""JSON over HTTP with the standard library, and the answers that mean "try later"."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from mailbot.connectors.base import PushFailed

log = logging.getLogger("mailbot.connectors")

USER_AGENT = "mailbot"
MAX_ERROR_BODY = 500  # characters of a refusal kept in the error
# Answers worth retrying: the platform is busy, down or rate limiting us.
RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the decoded JSON, or the text when it is not JSON, or None
    headers: dict[str, str]


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: float,
    ok: tuple[int, ...] = (200, 201, 204),
    label: str | None = None,
) -> Answer:
    """Send one request with a JSON body; raise `PushFailed` unless the answer is `ok`.

    Errors name `label` (else the URL without its query): a webhook URL carries a token.

    A refused request (4xx but 408/409/425/429) is permanent; the others are retried,
    after the Retry-After the platform gave, if it gave one.
    """
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    wanted = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    if data is not None:
        wanted.setdefault("Content-Type", "application/json; charset=utf-8")
    where = label or url.split("?", 1)[0]
    req = urllib.request.Request(url, data=data, method=method, headers=wanted)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return _answer(resp.status, resp.read(), dict(resp.headers.items()), ok, method, where)
    except urllib.error.HTTPError as err:
        return _answer(err.code, err.read(), dict(err.headers.items()), ok, method, where)
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise PushFailed(f"{method} {where}: cannot connect ({reason})") from None


def _answer(
    status: int, raw: bytes, headers: dict[str, str], ok: tuple[int, ...], method: str, where: str
) -> Answer:
    text = raw.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text) if text.strip() else None
    except ValueError:
        body = text
    if status in ok:
        return Answer(status, body, headers)
    what = f"{method} {where} answered {status}: {text[:MAX_ERROR_BODY]}".rstrip(": ")
    wait = retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    raise PushFailed(what, permanent=status not in RETRYABLE, retry_after=wait)
