"""GitHub issues over the REST API (https://docs.github.com/en/rest/issues).

`project` is "owner/repo"; `url` is https://api.github.com (or GitHub Enterprise's
https://HOST/api/v3); the token is a fine-grained or classic personal access token
with issues read and write. Statuses are "open", "closed" and "closed:not_planned".
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

from mailbot.config_types import TrackerConfig
from mailbot.connectors import http
from mailbot.connectors.base import ConnectorError, NewIssue, PushFailed, RemoteIssue, marker

PAGE = 100  # GitHub's largest page
FIND_PAGES = 3  # newest issues looked through for a marker: a retry comes soon after a try
STATUSES = ("open", "closed", "closed:not_planned")


class GitHubTracker:
    kind = "github"

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.repo = config.project.strip("/")

    def _call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = f"{self.config.url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if self.config.secret is not None:
            headers["Authorization"] = f"Bearer {self.config.secret.reveal()}"
        return http.request(
            method, url, headers=headers, body=body, timeout=self.config.timeout
        ).body

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        status = data.get("state", "open")
        if status == "closed" and data.get("state_reason") == "not_planned":
            status = "closed:not_planned"
        updated = data.get("updated_at")
        return RemoteIssue(
            remote_id=str(data["number"]),
            key=f"{self.repo}#{data['number']}",
            url=data.get("html_url", ""),
            status=status,
            title=data.get("title", ""),
            updated_at=datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None,
        )

    def _issues(self, **query: Any) -> list[dict[str, Any]]:
        page = self._call("GET", f"/repos/{self.repo}/issues", state="all", per_page=PAGE, **query)
        return [i for i in page or [] if "pull_request" not in i]  # pull requests are issues too

    def find(self, ref: str) -> RemoteIssue | None:
        for page in range(1, FIND_PAGES + 1):
            issues = self._issues(sort="created", direction="desc", page=page)
            for data in issues:
                if str(data.get("title", "")).startswith(marker(ref)):
                    return self._issue(data)
            if len(issues) < PAGE:
                break
        return None

    def create(self, issue: NewIssue) -> RemoteIssue:
        body = {"title": issue.subject, "body": issue.description}
        return self._issue(self._call("POST", f"/repos/{self.repo}/issues", body))

    def get(self, remote_id: str) -> RemoteIssue:
        return self._issue(self._call("GET", f"/repos/{self.repo}/issues/{remote_id}"))

    def has_note(self, remote_id: str, marker_text: str) -> bool:
        comments = self._call(
            "GET", f"/repos/{self.repo}/issues/{remote_id}/comments", per_page=PAGE
        )
        return any(marker_text in (c.get("body") or "") for c in comments or [])

    def add_note(self, remote_id: str, text: str) -> None:
        self._call("POST", f"/repos/{self.repo}/issues/{remote_id}/comments", {"body": text})

    def set_status(self, remote_id: str, status: str) -> None:
        wanted = status.lower()
        if wanted not in STATUSES:
            raise PushFailed(
                f"GitHub issues are {', '.join(STATUSES)}, not {status!r}; "
                "fix [projects.tracker] statuses",
                permanent=True,
            )
        state, _, reason = wanted.partition(":")
        body: dict[str, Any] = {"state": state}
        if state == "closed":
            body["state_reason"] = reason or "completed"
        self._call("PATCH", f"/repos/{self.repo}/issues/{remote_id}", body)

    def updated_since(self, since: datetime) -> list[RemoteIssue]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found: list[RemoteIssue] = []
        page = 1
        while True:
            raw = self._call(
                "GET",
                f"/repos/{self.repo}/issues",
                state="all",
                since=stamp,
                sort="updated",
                direction="asc",
                per_page=PAGE,
                page=page,
            )
            found += [self._issue(i) for i in raw or [] if "pull_request" not in i]
            if len(raw or []) < PAGE:
                return found
            page += 1

    def check(self) -> list[str]:
        try:
            me = self._call("GET", "/user")
        except PushFailed as err:
            raise ConnectorError(
                f"GitHub at {self.config.url} did not accept the token: {err}",
                "make a token with Issues read and write for the repository; check token_env",
            ) from None
        try:
            repo = self._call("GET", f"/repos/{self.repo}")
        except PushFailed as err:
            raise ConnectorError(
                f"GitHub repository {self.repo!r} is not there for {me.get('login')}: {err}",
                'set [projects.tracker] project = "owner/repo" and give the token access to it',
            ) from None
        if not repo.get("has_issues", True):
            raise ConnectorError(
                f"{self.repo} has issues turned off", "turn on Issues in the repository settings"
            )
        return [f"signed in as {me.get('login')}", f"repository {repo.get('full_name')} found"]
