"""GitLab issues over the REST API v4 (https://docs.gitlab.com/api/issues/).

`project` is the project's path ("group/project") or numeric id; `url` is the GitLab
server (https://gitlab.com); the token is a personal, group or project access token with
the `api` scope, sent as PRIVATE-TOKEN. Statuses are "opened" and "closed".
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

from mailbot.config_types import TrackerConfig
from mailbot.connectors import http
from mailbot.connectors.base import ConnectorError, NewIssue, PushFailed, RemoteIssue, marker

PAGE = 100
STATUSES = {"opened": "reopen", "closed": "close"}  # status -> the state_event that sets it


class GitLabTracker:
    kind = "gitlab"

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.project = urllib.parse.quote(config.project.strip("/"), safe="")

    def _call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = f"{self.config.url}/api/v4{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {}
        if self.config.secret is not None:
            headers["PRIVATE-TOKEN"] = self.config.secret.reveal()
        return http.request(
            method, url, headers=headers, body=body, timeout=self.config.timeout
        ).body

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        updated = data.get("updated_at")
        return RemoteIssue(
            remote_id=str(data["iid"]),
            key=f"{self.config.project}#{data['iid']}",
            url=data.get("web_url", ""),
            status=data.get("state", "opened"),
            title=data.get("title", ""),
            updated_at=datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None,
        )

    def find(self, ref: str) -> RemoteIssue | None:
        found = self._call(
            "GET", f"/projects/{self.project}/issues", search=marker(ref), per_page=PAGE
        )
        for data in found or []:
            if str(data.get("title", "")).startswith(marker(ref)):
                return self._issue(data)
        return None

    def create(self, issue: NewIssue) -> RemoteIssue:
        body = {"title": issue.subject, "description": issue.description}
        return self._issue(self._call("POST", f"/projects/{self.project}/issues", body))

    def get(self, remote_id: str) -> RemoteIssue:
        return self._issue(self._call("GET", f"/projects/{self.project}/issues/{remote_id}"))

    def has_note(self, remote_id: str, marker_text: str) -> bool:
        notes = self._call(
            "GET", f"/projects/{self.project}/issues/{remote_id}/notes", per_page=PAGE
        )
        return any(marker_text in (n.get("body") or "") for n in notes or [])

    def add_note(self, remote_id: str, text: str) -> None:
        self._call("POST", f"/projects/{self.project}/issues/{remote_id}/notes", {"body": text})

    def set_status(self, remote_id: str, status: str) -> None:
        event = STATUSES.get(status.lower())
        if event is None:
            raise PushFailed(
                f"GitLab issues are opened or closed, not {status!r}; "
                "fix [projects.tracker] statuses",
                permanent=True,
            )
        path = f"/projects/{self.project}/issues/{remote_id}"
        self._call("PUT", path, {"state_event": event})

    def updated_since(self, since: datetime) -> list[RemoteIssue]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found: list[RemoteIssue] = []
        page = 1
        while True:
            raw = self._call(
                "GET",
                f"/projects/{self.project}/issues",
                updated_after=stamp,
                order_by="updated_at",
                sort="asc",
                per_page=PAGE,
                page=page,
            )
            found += [self._issue(i) for i in raw or []]
            if len(raw or []) < PAGE:
                return found
            page += 1

    def check(self) -> list[str]:
        try:
            me = self._call("GET", "/user")
        except PushFailed as err:
            raise ConnectorError(
                f"GitLab at {self.config.url} did not accept the token: {err}",
                "make an access token with the api scope; check token_env",
            ) from None
        try:
            project = self._call("GET", f"/projects/{self.project}")
        except PushFailed as err:
            raise ConnectorError(
                f"GitLab project {self.config.project!r} is not there for "
                f"{me.get('username')}: {err}",
                'set [projects.tracker] project = "group/project" and make the token '
                "a member of it",
            ) from None
        return [
            f"signed in as {me.get('username')}",
            f"project {project.get('path_with_namespace')} found",
        ]
