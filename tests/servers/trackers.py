"""Local stand-ins for the team's trackers: Redmine, GitHub, GitLab and Jira, each checking
every request against its documented REST API (paths, auth headers, JSON bodies) and
answering as it does; `fail_next` plays back refusals (429 with Retry-After, 500, 422)::

    with FakeRedmine(projects={"acme"}) as redmine:
        config = redmine.tracker_config()     # a TrackerConfig pointing here
        redmine.fail_next(429, headers={"Retry-After": "120"})
        ...
        assert redmine.issues[1]["subject"] == "[ACME-1] Login fails"
        assert not redmine.violations
"""

from __future__ import annotations

import base64
import urllib.parse
from datetime import UTC, datetime
from typing import Any, ClassVar

from mailbot.config_types import Secret, TrackerConfig
from tests.servers.local_http import LocalServer, Refused, Seen

API_KEY = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
STATUSES = [
    (1, "New", False),
    (2, "In Progress", False),
    (3, "Resolved", False),
    (4, "Feedback", False),
    (5, "Closed", True),
    (6, "Rejected", True),
]


class FakeRedmine(LocalServer):
    """Redmine's REST API (https://www.redmine.org/projects/redmine/wiki/Rest_api) for
    issues, journals, statuses, users and projects, with an API key."""

    def __init__(self, projects: set[str] | None = None, api_key: str = API_KEY) -> None:
        super().__init__()
        self.projects = projects or {"acme"}
        self.api_key = api_key
        self.issues: dict[int, dict[str, Any]] = {}
        self.clock = lambda: datetime.now(UTC)

    def tracker_config(self, project: str = "acme", **overrides: Any) -> TrackerConfig:
        values: dict[str, Any] = {
            "kind": "redmine",
            "url": self.base,
            "project": project,
            "secret": Secret(key="projects[0].tracker.token", value=self.api_key),
            "poll_interval": 60.0,
            "timeout": 5.0,
        }
        values.update(overrides)
        return TrackerConfig(**values)

    # --- what the team does in Redmine's own pages -------------------------------------

    def move(self, number: int, status: str, note: str = "") -> None:
        """A person changes the issue's status (and may write a note) in Redmine."""
        with self._lock:
            issue = self.issues[number]
            new = next(s for s in STATUSES if s[1] == status)
            issue["journals"].append(
                {
                    "id": self._journal_id(),
                    "user": {"id": 2, "name": "Dev"},
                    "notes": note,
                    "created_on": self._stamp(),
                    "details": [
                        {
                            "property": "attr",
                            "name": "status_id",
                            "old_value": str(issue["status"]["id"]),
                            "new_value": str(new[0]),
                        }
                    ],
                }
            )
            issue["status"] = {"id": new[0], "name": new[1], "is_closed": new[2]}
            issue["updated_on"] = self._stamp()

    def add_issue(self, subject: str, project: str = "acme") -> int:
        with self._lock:
            return self._create(project, subject, "")

    # --- the API -----------------------------------------------------------------------

    def _stamp(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _journal_id(self) -> int:
        return 1 + sum(len(i["journals"]) for i in self.issues.values())

    def _create(self, project: str, subject: str, description: str) -> int:
        number = len(self.issues) + 1
        self.issues[number] = {
            "id": number,
            "project": {"id": 1, "name": project.upper(), "identifier": project},
            "tracker": {"id": 1, "name": "Bug"},
            "status": {"id": 1, "name": "New", "is_closed": False},
            "subject": subject,
            "description": description,
            "created_on": self._stamp(),
            "updated_on": self._stamp(),
            "journals": [],
        }
        return number

    def _public(self, issue: dict[str, Any], journals: bool = False) -> dict[str, Any]:
        found = {k: v for k, v in issue.items() if k != "journals"}
        if journals:
            found["journals"] = issue["journals"]
        return found

    def handle(self, seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("x-redmine-api-key") != self.api_key:
            raise Refused(401, None)
        if not seen.path.endswith(".json"):
            raise self.violation(f"{seen.path}: the REST API is asked with .json paths")
        if seen.method in ("POST", "PUT"):
            if not seen.headers.get("content-type", "").startswith("application/json"):
                raise self.violation(f"{seen.method} {seen.path} without Content-Type JSON")
            if not isinstance(seen.body, dict) or not isinstance(seen.body.get("issue"), dict):
                raise self.violation(
                    f"{seen.method} {seen.path}: the body must be {{'issue': {{}}}}"
                )
        q = {k: v[-1] for k, v in seen.query.items()}
        parts = seen.path.removesuffix(".json").strip("/").split("/")
        if seen.method == "GET" and parts == ["users", "current"]:
            return 200, {"user": {"id": 1, "login": "admin", "api_key": self.api_key}}
        if seen.method == "GET" and parts == ["issue_statuses"]:
            return 200, {
                "issue_statuses": [{"id": i, "name": n, "is_closed": c} for i, n, c in STATUSES]
            }
        if seen.method == "GET" and len(parts) == 2 and parts[0] == "projects":
            if parts[1] not in self.projects:
                raise Refused(404, None)
            return 200, {"project": {"id": 1, "name": parts[1].upper(), "identifier": parts[1]}}
        if parts == ["issues"] and seen.method == "POST":
            data = seen.body["issue"]
            for key in ("project_id", "subject"):
                if not data.get(key):
                    raise Refused(422, {"errors": [f"{key} cannot be blank"]})
            if data["project_id"] not in self.projects:
                raise Refused(422, {"errors": ["Project is invalid"]})
            number = self._create(data["project_id"], data["subject"], data.get("description", ""))
            return 201, {"issue": self._public(self.issues[number])}
        if parts == ["issues"] and seen.method == "GET":
            return 200, self._query(q)
        if len(parts) == 2 and parts[0] == "issues" and parts[1].isdigit():
            number = int(parts[1])
            if number not in self.issues:
                raise Refused(404, None)
            issue = self.issues[number]
            if seen.method == "GET":
                journals = "journals" in q.get("include", "").split(",")
                return 200, {"issue": self._public(issue, journals)}
            if seen.method == "PUT":
                return self._update(issue, seen.body["issue"])
        raise self.violation(f"{seen.method} {seen.path} is not in Redmine's REST API")

    def _update(self, issue: dict[str, Any], data: dict[str, Any]) -> tuple[int, Any]:
        details = []
        if "status_id" in data:
            new = next((s for s in STATUSES if s[0] == int(data["status_id"])), None)
            if new is None:
                raise Refused(422, {"errors": ["Status is not included in the list"]})
            details.append(
                {
                    "property": "attr",
                    "name": "status_id",
                    "old_value": str(issue["status"]["id"]),
                    "new_value": str(new[0]),
                }
            )
            issue["status"] = {"id": new[0], "name": new[1], "is_closed": new[2]}
        issue["journals"].append(
            {
                "id": self._journal_id(),
                "user": {"id": 1, "name": "Redmine Admin"},
                "notes": data.get("notes", ""),
                "created_on": self._stamp(),
                "details": details,
            }
        )
        issue["updated_on"] = self._stamp()
        return 204, None

    def _query(self, q: dict[str, str]) -> dict[str, Any]:
        found = list(self.issues.values())
        if "project_id" in q:
            found = [i for i in found if i["project"]["identifier"] == q["project_id"]]
        if q.get("status_id") != "*":
            found = [i for i in found if not i["status"]["is_closed"]]
        if "subject" in q:
            if not q["subject"].startswith("~"):
                raise self.violation("subject filter without the ~ (contains) operator")
            found = [i for i in found if q["subject"][1:] in i["subject"]]
        if "updated_on" in q:
            if not q["updated_on"].startswith(">="):
                raise self.violation("updated_on filter without the >= operator")
            since = q["updated_on"][2:]
            try:
                datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                raise self.violation(f"updated_on {since!r} is not an ISO 8601 UTC time") from None
            found = [i for i in found if i["updated_on"] >= since]
        if q.get("sort") == "updated_on":
            found.sort(key=lambda i: i["updated_on"])
        offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 25)), 100)
        page = found[offset : offset + limit]
        return {
            "issues": [self._public(i) for i in page],
            "total_count": len(found),
            "offset": offset,
            "limit": limit,
        }


TOKEN = "tok-0123456789"


class _IssueStore(LocalServer):
    """Issues with comments and a state, shared by the GitHub, GitLab and Jira stand-ins."""

    kind = ""

    def __init__(self, project: str) -> None:
        super().__init__()
        self.project = project
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[str]] = {}
        self.clock = lambda: datetime.now(UTC)

    def stamp(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    def tracker_config(self, **overrides: Any) -> TrackerConfig:
        from mailbot.config_types import DEFAULT_STATUSES_BY_KIND

        values: dict[str, Any] = {
            "kind": self.kind,
            "url": self.base,
            "project": self.project,
            "secret": Secret(key="projects[0].tracker.token", value=TOKEN),
            "statuses": DEFAULT_STATUSES_BY_KIND[self.kind],
            "poll_interval": 60.0,
            "timeout": 5.0,
        }
        values.update(overrides)
        return TrackerConfig(**values)

    def body_field(self, seen: Seen, *names: str) -> dict[str, Any]:
        if not seen.headers.get("content-type", "").startswith("application/json"):
            raise self.violation(f"{seen.method} {seen.path} without Content-Type JSON")
        if not isinstance(seen.body, dict) or not all(n in seen.body for n in names):
            raise self.violation(f"{seen.method} {seen.path}: the body needs {', '.join(names)}")
        return seen.body


class FakeGitHub(_IssueStore):
    """GitHub's REST API for issues and their comments (docs.github.com/en/rest/issues)."""

    kind = "github"

    def __init__(self, project: str = "agency/acme") -> None:
        super().__init__(project)

    def close(self, number: int, reason: str = "completed") -> None:
        with self._lock:
            self.issues[number].update(state="closed", state_reason=reason, updated_at=self.stamp())

    def handle(self, seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            raise Refused(401, {"message": "Bad credentials"})
        if seen.headers.get("accept") != "application/vnd.github+json":
            raise self.violation("GitHub: Accept must be application/vnd.github+json")
        if "x-github-api-version" not in seen.headers:
            raise self.violation("GitHub: X-GitHub-Api-Version is missing")
        q = {k: v[-1] for k, v in seen.query.items()}
        base = f"/repos/{self.project}"
        if seen.path == "/user":
            return 200, {"login": "mailbot-bot"}
        if seen.path == base:
            return 200, {"full_name": self.project, "has_issues": True}
        if seen.path == f"{base}/issues" and seen.method == "POST":
            data = self.body_field(seen, "title")
            number = len(self.issues) + 1
            self.issues[number] = {
                "number": number,
                "id": 9000 + number,
                "title": data["title"],
                "body": data.get("body", ""),
                "state": "open",
                "state_reason": None,
                "html_url": f"https://github.example/{self.project}/issues/{number}",
                "updated_at": self.stamp(),
            }
            self.comments[number] = []
            return 201, self.issues[number]
        if seen.path == f"{base}/issues" and seen.method == "GET":
            if q.get("state") != "all":
                raise self.violation("GitHub lists open issues only unless state=all")
            found = list(self.issues.values())
            if "since" in q:
                found = [i for i in found if i["updated_at"] >= q["since"]]
            reverse = q.get("direction", "desc") == "desc"
            key = "updated_at" if q.get("sort") == "updated" else "number"
            found.sort(key=lambda i: i[key], reverse=reverse)
            per_page, page = int(q.get("per_page", 30)), int(q.get("page", 1))
            return 200, found[(page - 1) * per_page : page * per_page]
        parts = seen.path.removeprefix(f"{base}/issues/").split("/")
        if not parts[0].isdigit() or int(parts[0]) not in self.issues:
            raise Refused(404, {"message": "Not Found"})
        number = int(parts[0])
        if parts[1:] == ["comments"] and seen.method == "POST":
            self.comments[number].append(self.body_field(seen, "body")["body"])
            return 201, {"id": len(self.comments[number])}
        if parts[1:] == ["comments"]:
            return 200, [{"body": b} for b in self.comments[number]]
        if seen.method == "PATCH":
            data = self.body_field(seen, "state")
            if data["state"] not in ("open", "closed"):
                raise Refused(422, {"message": "Validation Failed"})
            issue = self.issues[number]
            issue.update(state=data["state"], state_reason=data.get("state_reason"))
            issue["updated_at"] = self.stamp()
            return 200, issue
        return 200, self.issues[number]


class FakeGitLab(_IssueStore):
    """GitLab's REST API v4 for issues and notes (docs.gitlab.com/api/issues)."""

    kind = "gitlab"

    def __init__(self, project: str = "agency/acme") -> None:
        super().__init__(project)

    def close(self, iid: int) -> None:
        with self._lock:
            self.issues[iid].update(state="closed", updated_at=self.stamp())

    def handle(self, seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("private-token") != TOKEN:
            raise Refused(401, {"message": "401 Unauthorized"})
        q = {k: v[-1] for k, v in seen.query.items()}
        encoded = "/api/v4/projects/" + urllib.parse.quote(self.project, safe="")
        raw_path = seen.path  # as sent: the project's path stays percent-encoded
        if seen.path == "/api/v4/user":
            return 200, {"username": "mailbot-bot"}
        if not raw_path.startswith(encoded):
            if raw_path.startswith("/api/v4/projects/"):
                raise Refused(404, {"message": "404 Project Not Found"})
            raise self.violation(f"{seen.method} {raw_path} is not in GitLab's API v4")
        rest = raw_path[len(encoded) :]
        if rest == "":
            return 200, {"path_with_namespace": self.project}
        if rest == "/issues" and seen.method == "POST":
            data = self.body_field(seen, "title")
            iid = len(self.issues) + 1
            self.issues[iid] = {
                "iid": iid,
                "id": 7000 + iid,
                "title": data["title"],
                "description": data.get("description", ""),
                "state": "opened",
                "web_url": f"https://gitlab.example/{self.project}/-/issues/{iid}",
                "updated_at": self.stamp(),
            }
            self.comments[iid] = []
            return 201, self.issues[iid]
        if rest == "/issues":
            found = list(self.issues.values())
            if "search" in q:
                found = [i for i in found if q["search"] in i["title"] + i["description"]]
            if "updated_after" in q:
                found = [i for i in found if i["updated_at"] >= q["updated_after"]]
            per_page, page = int(q.get("per_page", 20)), int(q.get("page", 1))
            return 200, found[(page - 1) * per_page : page * per_page]
        parts = rest.removeprefix("/issues/").split("/")
        if not parts[0].isdigit() or int(parts[0]) not in self.issues:
            raise Refused(404, {"message": "404 Not found"})
        iid = int(parts[0])
        if parts[1:] == ["notes"] and seen.method == "POST":
            self.comments[iid].append(self.body_field(seen, "body")["body"])
            return 201, {"id": len(self.comments[iid])}
        if parts[1:] == ["notes"]:
            return 200, [{"body": b} for b in self.comments[iid]]
        if seen.method == "PUT":
            event = self.body_field(seen, "state_event")["state_event"]
            if event not in ("close", "reopen"):
                raise Refused(400, {"error": "state_event does not have a valid value"})
            issue = self.issues[iid]
            issue.update(state="closed" if event == "close" else "opened", updated_at=self.stamp())
            return 200, issue
        return 200, self.issues[iid]


class FakeJira(_IssueStore):
    """Jira's REST API v2: issues, comments, transitions, JQL search (the basic workflow
    To Do → In Progress → Done)."""

    kind = "jira"
    USER = "bot@agency.example"
    WORKFLOW: ClassVar[dict[str, str]] = {"11": "To Do", "21": "In Progress", "31": "Done"}

    def __init__(self, project: str = "ACME") -> None:
        super().__init__(project)

    def tracker_config(self, **overrides: Any) -> TrackerConfig:
        return super().tracker_config(**{"username": self.USER, **overrides})

    def stamp(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def move(self, number: int, status: str) -> None:
        with self._lock:
            self.issues[number]["fields"]["status"] = {"name": status}
            self.issues[number]["fields"]["updated"] = self.stamp()

    def handle(self, seen: Seen) -> tuple[int, Any]:
        expected = "Basic " + base64.b64encode(f"{self.USER}:{TOKEN}".encode()).decode()
        if seen.headers.get("authorization") != expected:
            raise Refused(401, {"errorMessages": ["You are not authenticated."]})
        path = seen.path.removeprefix("/rest/api/2")
        if path == seen.path:
            raise self.violation(f"{seen.path} is not under /rest/api/2")
        if path == "/myself":
            return 200, {"emailAddress": self.USER, "displayName": "mailbot"}
        if path.startswith("/project/"):
            if path != f"/project/{self.project}":
                raise Refused(404, {"errorMessages": ["No project could be found."]})
            return 200, {"key": self.project, "name": "ACME web shop"}
        if path == "/issue" and seen.method == "POST":
            fields = self.body_field(seen, "fields")["fields"]
            for name in ("project", "summary", "issuetype"):
                if name not in fields:
                    raise Refused(400, {"errors": {name: f"{name} is required."}})
            if fields["project"].get("key") != self.project:
                raise Refused(400, {"errors": {"project": "valid project is required"}})
            number = len(self.issues) + 1
            key = f"{self.project}-{number}"
            self.issues[number] = {
                "id": str(10000 + number),
                "key": key,
                "fields": {
                    "summary": fields["summary"],
                    "description": fields.get("description", ""),
                    "labels": fields.get("labels", []),
                    "status": {"name": "To Do"},
                    "updated": self.stamp(),
                },
            }
            self.comments[number] = []
            return 201, {"id": self.issues[number]["id"], "key": key}
        if path == "/search" and seen.method == "POST":
            return 200, self._search(self.body_field(seen, "jql"))
        parts = path.removeprefix("/issue/").split("/")
        number = next((n for n, i in self.issues.items() if i["key"] == parts[0]), None)
        if number is None:
            raise Refused(404, {"errorMessages": ["Issue does not exist"]})
        issue = self.issues[number]
        if parts[1:] == ["comment"] and seen.method == "POST":
            self.comments[number].append(self.body_field(seen, "body")["body"])
            return 201, {"id": str(len(self.comments[number]))}
        if parts[1:] == ["comment"]:
            return 200, {"comments": [{"body": b} for b in self.comments[number]]}
        if parts[1:] == ["transitions"] and seen.method == "POST":
            chosen = self.body_field(seen, "transition")["transition"].get("id")
            if chosen not in self.WORKFLOW:
                raise Refused(400, {"errorMessages": ["Transition id is not valid."]})
            issue["fields"]["status"] = {"name": self.WORKFLOW[chosen]}
            issue["fields"]["updated"] = self.stamp()
            return 204, None
        if parts[1:] == ["transitions"]:
            here = issue["fields"]["status"]["name"]
            return 200, {
                "transitions": [
                    {"id": i, "name": f"Move to {n}", "to": {"name": n}}
                    for i, n in self.WORKFLOW.items()
                    if n != here
                ]
            }
        return 200, {"key": issue["key"], "fields": issue["fields"]}

    def _search(self, query: dict[str, Any]) -> dict[str, Any]:
        jql = query["jql"]
        if f'project = "{self.project}"' not in jql:
            raise self.violation(f"JQL without the project: {jql}")
        found = list(self.issues.values())
        if "labels = " in jql:
            wanted = jql.split('labels = "', 1)[1].split('"', 1)[0]
            found = [i for i in found if wanted in i["fields"]["labels"]]
        if "updated >= " in jql:
            relative = jql.split('updated >= "', 1)[1].split('"', 1)[0]
            if not (relative.startswith("-") and relative.endswith("m")):
                raise self.violation(f"updated >= {relative!r}: use a relative time")
        start, most = int(query.get("startAt", 0)), int(query.get("maxResults", 50))
        page = found[start : start + most]
        return {
            "issues": [{"key": i["key"], "fields": i["fields"]} for i in page],
            "total": len(found),
            "startAt": start,
        }
