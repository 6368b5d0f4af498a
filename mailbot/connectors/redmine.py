"""Redmine over its REST API (JSON): issues, journal notes, statuses, "updated since".

Documented at https://www.redmine.org/projects/redmine/wiki/Rest_api: the API key goes
in the X-Redmine-API-Key header; the REST API must be enabled (Administration →
Settings → API).
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

from mailbot.config_types import TrackerConfig
from mailbot.connectors import http
from mailbot.connectors.base import ConnectorError, NewIssue, PushFailed, RemoteIssue, marker

PAGE = 100  # issues per page of a query (Redmine's maximum)


class RedmineTracker:
    kind = "redmine"

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self._status_ids: dict[str, int] | None = None

    # --- requests --------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = f"{self.config.url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query, safe="*:")
        secret = self.config.secret
        headers = {"X-Redmine-API-Key": secret.reveal()} if secret is not None else {}
        return http.request(
            method, url, headers=headers, body=body, timeout=self.config.timeout
        ).body

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        number = str(data["id"])
        updated = data.get("updated_on")
        return RemoteIssue(
            remote_id=number,
            key=f"#{number}",
            url=f"{self.config.url}/issues/{number}",
            status=(data.get("status") or {}).get("name", ""),
            title=data.get("subject", ""),
            updated_at=datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None,
        )

    # --- the Tracker interface -------------------------------------------------------

    def find(self, ref: str) -> RemoteIssue | None:
        found = self._call(
            "GET",
            "/issues.json",
            project_id=self.config.project,
            status_id="*",
            subject=f"~{marker(ref)}",
            limit=PAGE,
        )
        for data in (found or {}).get("issues", []):
            if str(data.get("subject", "")).startswith(marker(ref)):
                return self._issue(data)
        return None

    def create(self, issue: NewIssue) -> RemoteIssue:
        body = {
            "issue": {
                "project_id": self.config.project,
                "subject": issue.subject,
                "description": issue.description,
            }
        }
        return self._issue(self._call("POST", "/issues.json", body)["issue"])

    def get(self, remote_id: str) -> RemoteIssue:
        return self._issue(self._call("GET", f"/issues/{remote_id}.json")["issue"])

    def has_note(self, remote_id: str, marker_text: str) -> bool:
        data = self._call("GET", f"/issues/{remote_id}.json", include="journals")["issue"]
        return any(marker_text in (j.get("notes") or "") for j in data.get("journals", []))

    def add_note(self, remote_id: str, text: str) -> None:
        self._call("PUT", f"/issues/{remote_id}.json", {"issue": {"notes": text}})

    def set_status(self, remote_id: str, status: str) -> None:
        ids = self._statuses()
        if status.lower() not in ids:
            raise PushFailed(
                f"Redmine has no issue status {status!r} (it has {', '.join(sorted(ids))}); "
                "fix [projects.tracker] statuses",
                permanent=True,
            )
        body = {"issue": {"status_id": ids[status.lower()]}}
        self._call("PUT", f"/issues/{remote_id}.json", body)

    def updated_since(self, since: datetime) -> list[RemoteIssue]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found: list[RemoteIssue] = []
        offset = 0
        while True:
            page = self._call(
                "GET",
                "/issues.json",
                project_id=self.config.project,
                status_id="*",
                updated_on=f">={stamp}",
                sort="updated_on",
                limit=PAGE,
                offset=offset,
            )
            issues = (page or {}).get("issues", [])
            found += [self._issue(data) for data in issues]
            offset += len(issues)
            if not issues or offset >= int((page or {}).get("total_count", 0)):
                return found

    def check(self) -> list[str]:
        try:
            me = self._call("GET", "/users/current.json")["user"]
        except PushFailed as err:
            raise ConnectorError(
                f"Redmine at {self.config.url} did not accept the API key: {err}",
                "enable the REST API (Administration → Settings → API) and check token_env",
            ) from None
        try:
            project = self._call("GET", f"/projects/{self.config.project}.json")["project"]
        except PushFailed as err:
            raise ConnectorError(
                f"Redmine project {self.config.project!r} is not there for "
                f"{me.get('login')}: {err}",
                "check [projects.tracker] project (the identifier in the project's URL) "
                "and that the key's user is a member",
            ) from None
        missing = [s for _ours, s in self.config.statuses if s.lower() not in self._statuses()]
        if missing:
            raise ConnectorError(
                f"Redmine has no issue status {', '.join(missing)}",
                "name Redmine's statuses in [projects.tracker] statuses",
            )
        return [f"signed in as {me.get('login')}", f"project {project.get('name')!r} found"]

    def _statuses(self) -> dict[str, int]:
        """Redmine's issue statuses by lower-case name (read once)."""
        if self._status_ids is None:
            data = self._call("GET", "/issue_statuses.json")
            self._status_ids = {s["name"].lower(): int(s["id"]) for s in data["issue_statuses"]}
        return self._status_ids
