"""What the admin answered, and projects read from a CSV file."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mailbot.errors import ConfigError

LANGUAGES = ("en", "zh-Hans", "zh-Hant", "zh-HK")
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
CSV_COLUMNS = ("key", "name", "client_domains", "client_addresses", "language", "pm", "pm_name")
IMAP_PASSWORD_ENV = "MAILBOT_IMAP_PASSWORD"
SMTP_PASSWORD_ENV = "MAILBOT_SMTP_PASSWORD"


@dataclass(slots=True)
class MailboxAnswers:
    host: str
    port: int
    security: str  # tls, starttls or none
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None
    processed: str = "mailbot/processed"
    failed: str = "mailbot/failed"


@dataclass(slots=True)
class SmtpAnswers:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None


@dataclass(slots=True)
class ProjectAnswers:
    key: str
    name: str
    client_domains: tuple[str, ...] = ()
    client_addresses: tuple[str, ...] = ()
    language: str = "en"
    pm: str | None = None
    pm_name: str | None = None


@dataclass(slots=True)
class WebUserAnswers:
    name: str
    password: str = field(repr=False)


@dataclass(slots=True)
class InitAnswers:
    mailbox: MailboxAnswers
    site_name: str
    site_address: str
    smtp: SmtpAnswers | None = None
    outbox_dir: str | None = None  # no SMTP: write outgoing mail here as .eml files
    projects: list[ProjectAnswers] = field(default_factory=list)
    timezone: str = "UTC"
    database_url: str = "sqlite:///mailbot.sqlite3"
    mode: str = "observe"  # answers to clients: "observe" first, "on" at once
    observe_until: date | None = None
    web_user: WebUserAnswers | None = None


def split_list(text: str) -> tuple[str, ...]:
    """'a.example, b.example; c.example' -> ('a.example', 'b.example', 'c.example')."""
    return tuple(part for part in re.split(r"[\s,;]+", text.strip()) if part)


def check_project(project: ProjectAnswers, where: str) -> ProjectAnswers:
    """The mistakes worth catching while the admin can still answer again."""
    if not PROJECT_KEY.match(project.key):
        raise ConfigError(
            f"{where}: the project key {project.key!r} is not 2-16 capital letters and digits",
            "it starts item references (ACME-42): e.g. ACME or HX2",
        )
    if not project.name:
        raise ConfigError(f"{where}: project {project.key} has no name")
    if project.language not in LANGUAGES:
        raise ConfigError(
            f"{where}: the language {project.language!r} is not one of {', '.join(LANGUAGES)}"
        )
    for address in (project.pm, *project.client_addresses):
        if address and "@" not in address:
            raise ConfigError(f"{where}: {address!r} is not a mail address")
    return project


def projects_from_csv(path: Path) -> list[ProjectAnswers]:
    """One project per row; columns by name (key, name, client_domains, client_addresses,
    language, pm, pm_name), lists separated by commas, semicolons or spaces."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("key", "name") if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if missing or unknown:
        raise ConfigError(
            f"{path}: "
            + (f"no column {', '.join(missing)}" if missing else f"unknown column {unknown[0]!r}"),
            f"the first line names the columns: {','.join(CSV_COLUMNS)}",
        )
    projects = []
    for number, row in enumerate(reader, start=2):
        cell = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        if not any(cell.values()):
            continue
        project = ProjectAnswers(
            key=cell.get("key", ""),
            name=cell.get("name", ""),
            client_domains=tuple(d.lower() for d in split_list(cell.get("client_domains", ""))),
            client_addresses=tuple(a.lower() for a in split_list(cell.get("client_addresses", ""))),
            language=cell.get("language") or "en",
            pm=cell.get("pm") or None,
            pm_name=cell.get("pm_name") or None,
        )
        projects.append(check_project(project, f"{path}, line {number}"))
    keys = [p.key for p in projects]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{path}: a project key appears twice", "each key once")
    return projects
