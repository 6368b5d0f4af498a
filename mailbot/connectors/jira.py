"""Jira Cloud and Jira Server/Data Center over the REST API v2 (plain-text fields).

`project` is the project key ("ACME"); `url` the site (https://agency.atlassian.net).
Jira Cloud signs in with `username` (the account's email) and an API token (Basic);
Server/Data Center with a personal access token (Bearer), `username` left out. Issues are
made as DEFAULT_ISSUE_TYPE, labelled with the item ("mailbot-ACME-42") so a retry finds
them; a status is reached by the workflow transition that leads to it.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from typing import Any

from mailbot.config_types import TrackerConfig
from mailbot.connectors import http
from mailbot.connectors.base import ConnectorError, NewIssue, PushFailed, RemoteIssue

DEFAULT_ISSUE_TYPE = "Task"  # every Jira software and business project has it
PAGE = 100
FIELDS = ["summary", "status", "updated"]


def label(ref: str) -> str:
    """The label an item's issue carries: Jira finds labels exactly, summaries fuzzily."""
    return f"mailbot-{ref}"


class JiraTracker:
    kind = "jira"

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config

    def _headers(self) -> dict[str, str]:
        if self.config.secret is None:
            return {}
        token = self.config.secret.reveal()
        if self.config.username:
            pair = f"{self.config.username}:{token}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return http.request(
            method,
            f"{self.config.url}/rest/api/2{path}",
            headers=self._headers(),
            body=body,
            timeout=self.config.timeout,
        ).body

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        fields = data.get("fields") or {}
        updated = fields.get("updated")
        when = None
        if updated:  # "2026-12-04T06:30:00.000+0000"
            when = datetime.strptime(updated, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
        return RemoteIssue(
            remote_id=data["key"],
            key=data["key"],
            url=f"{self.config.url}/browse/{data['key']}",
            status=(fields.get("status") or {}).get("name", ""),
            title=fields.get("summary", ""),
            updated_at=when,
        )

    def _search(self, jql: str) -> list[RemoteIssue]:
        found: list[RemoteIssue] = []
        start = 0
        while True:
            page = self._call(
                "POST",
                "/search",
                {"jql": jql, "startAt": start, "maxResults": PAGE, "fields": FIELDS},
            )
            issues = (page or {}).get("issues", [])
            found += [self._issue(i) for i in issues]
            start += len(issues)
            if not issues or start >= int((page or {}).get("total", 0)):
                return found

    def _project(self) -> str:
        return '"' + self.config.project.replace('"', "") + '"'

    def find(self, ref: str) -> RemoteIssue | None:
        found = self._search(f'project = {self._project()} AND labels = "{label(ref)}"')
        return found[0] if found else None

    def create(self, issue: NewIssue) -> RemoteIssue:
        body = {
            "fields": {
                "project": {"key": self.config.project},
                "summary": issue.subject,
                "description": issue.description,
                "issuetype": {"name": DEFAULT_ISSUE_TYPE},
                "labels": [label(issue.ref)],
            }
        }
        made = self._call("POST", "/issue", body)
        return self.get(made["key"])

    def get(self, remote_id: str) -> RemoteIssue:
        return self._issue(self._call("GET", f"/issue/{remote_id}?fields={','.join(FIELDS)}"))

    def has_note(self, remote_id: str, marker_text: str) -> bool:
        data = self._call("GET", f"/issue/{remote_id}/comment?maxResults={PAGE}&orderBy=-created")
        return any(marker_text in (c.get("body") or "") for c in (data or {}).get("comments", []))

    def add_note(self, remote_id: str, text: str) -> None:
        self._call("POST", f"/issue/{remote_id}/comment", {"body": text})

    def set_status(self, remote_id: str, status: str) -> None:
        data = self._call("GET", f"/issue/{remote_id}/transitions")
        transitions = (data or {}).get("transitions", [])
        chosen = next(
            (
                t
                for t in transitions
                if (t.get("to") or {}).get("name", "").lower() == status.lower()
            ),
            None,
        )
        if chosen is None:
            names = ", ".join(sorted({(t.get("to") or {}).get("name", "?") for t in transitions}))
            raise PushFailed(
                f"Jira's workflow offers no way from here to {status!r} for {remote_id} "
                f"(it offers {names or 'nothing'}); fix [projects.tracker] statuses",
                permanent=True,
            )
        self._call("POST", f"/issue/{remote_id}/transitions", {"transition": {"id": chosen["id"]}})

    def updated_since(self, since: datetime) -> list[RemoteIssue]:
        # JQL reads absolute times in the user's own time zone: a relative time is safe.
        minutes = max(1, math.ceil((datetime.now(UTC) - since).total_seconds() / 60))
        jql = f'project = {self._project()} AND updated >= "-{minutes}m" ORDER BY updated ASC'
        return self._search(jql)

    def check(self) -> list[str]:
        try:
            me = self._call("GET", "/myself")
        except PushFailed as err:
            raise ConnectorError(
                f"Jira at {self.config.url} did not accept the credentials: {err}",
                "Cloud: username = the account's email and an API token; Server: a personal "
                "access token without username",
            ) from None
        try:
            project = self._call("GET", f"/project/{self.config.project}")
        except PushFailed as err:
            raise ConnectorError(
                f"Jira project {self.config.project!r} is not there for "
                f"{me.get('displayName') or me.get('name')}: {err}",
                "set [projects.tracker] project to the project's key and give the account "
                "Browse and Create issues permissions",
            ) from None
        who = me.get("emailAddress") or me.get("name") or me.get("displayName")
        return [
            f"signed in as {who}",
            f"project {project.get('key')} ({project.get('name')}) found",
        ]
