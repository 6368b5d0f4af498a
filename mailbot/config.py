"""Loading and validating the one TOML config file.

Every error names the key and says what to do; secrets are never read into
logs or error messages.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mailbot.config_types import (
    CHAT_EVENTS,
    CHAT_KINDS,
    DEFAULT_ACK_MAX_AGE_HOURS,
    DEFAULT_ACKS_PER_SENDER_PER_HOUR,
    DEFAULT_BATCH_SIZE,
    DEFAULT_BREAKER_COOLDOWN_HOURS,
    DEFAULT_CHAT_PER_MINUTE,
    DEFAULT_CONNECTOR_TIMEOUT,
    DEFAULT_DATABASE_URL,
    DEFAULT_DECISION_DAYS,
    DEFAULT_DKIM_TIMEOUT,
    DEFAULT_FIRST_RESPONSE_HOURS,
    DEFAULT_IDLE_RECHECK,
    DEFAULT_IDLE_RENEW,
    DEFAULT_IMAP_PORTS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MIN_FREE_SPACE_MB,
    DEFAULT_PARSE_TIMEOUT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RETRY_DELAY,
    DEFAULT_SMTP_MAX_ATTEMPTS,
    DEFAULT_SMTP_PORTS,
    DEFAULT_SMTP_TIMEOUT,
    DEFAULT_SPAM_MAX_SIZE,
    DEFAULT_SPAM_TIMEOUT,
    DEFAULT_STATUSES_BY_KIND,
    DEFAULT_TIMEOUT,
    DEFAULT_TRACKER_POLL_INTERVAL,
    DEFAULT_TRACKER_STATUSES,
    DEFAULT_WEB_PORT,
    MILESTONE_STATUSES,
    SPAM_BACKENDS,
    TRACKER_KINDS,
    VERIFIED_FOR,
    WEEKDAYS,
    AckConfig,
    AuthPolicy,
    ChatConfig,
    Folders,
    MailboxConfig,
    MilestoneConfig,
    ProjectConfig,
    ScheduleConfig,
    Secret,
    SiteConfig,
    SlaConfig,
    SmtpConfig,
    SpamConfig,
    TrackerConfig,
    WebConfig,
)
from mailbot.errors import ConfigError, MailbotError

CONFIG_ENV = "MAILBOT_CONFIG"
DEFAULT_CONFIG_PATH = Path("mailbot.toml")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_REVIEW_THRESHOLD = 0.6  # verdicts less sure than this wait for a PM


@dataclass(frozen=True, slots=True)
class TriageConfig:
    enabled: bool = True
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    rules_dir: Path | None = None  # None: the bundled rules
    model_dir: Path | None = None  # None: the bundled model


@dataclass(frozen=True, slots=True)
class Config:
    mailboxes: tuple[MailboxConfig, ...]
    database_url: str = DEFAULT_DATABASE_URL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_delay: float = DEFAULT_RETRY_DELAY  # seconds before a failed stage is tried again
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES  # larger: stored, header read only
    parse_timeout: float = DEFAULT_PARSE_TIMEOUT  # seconds per mail; 0: no budget (in process)
    min_free_space_mb: int = DEFAULT_MIN_FREE_SPACE_MB  # less free: no new mail is taken; 0: off
    log_level: str = "INFO"
    triage: TriageConfig = field(default_factory=TriageConfig)
    site: SiteConfig = field(default_factory=SiteConfig)
    projects: tuple[ProjectConfig, ...] = ()
    acknowledgements: AckConfig = field(default_factory=AckConfig)
    smtp: SmtpConfig | None = None  # None: nothing is sent over SMTP
    outbox_dir: Path | None = None  # write outgoing mail here as .eml instead (demo, dry runs)
    schedules: ScheduleConfig = field(default_factory=ScheduleConfig)
    sla: SlaConfig = field(default_factory=SlaConfig)
    spam: SpamConfig = field(default_factory=SpamConfig)
    authentication: AuthPolicy = field(default_factory=AuthPolicy)
    web: WebConfig = field(default_factory=WebConfig)
    chat: tuple[ChatConfig, ...] = ()  # the site's chat webhooks (every project's notices)
    path: Path | None = None

    def project(self, key: str) -> ProjectConfig | None:
        return next((p for p in self.projects if p.key == key), None)

    def require_project(self, key: str, error: type[MailbotError] = ConfigError) -> ProjectConfig:
        """The project `key`, or `error` naming the keys there are (for a command's argument)."""
        project = self.project(key)
        if project is None:
            known = ", ".join(p.key for p in self.projects) or "none configured"
            raise error(f"no project {key!r}", f"use one of the project keys: {known}")
        return project

    def own_addresses(self) -> set[str]:
        """Our addresses: the shared inbox, its aliases, the PMs; never answered as clients."""
        found = {self.site.address, *self.site.own_addresses}
        for project in self.projects:
            found.update(a for a in (project.alias, project.pm) if a)
        return found

    def is_own_address(self, address: str) -> bool:
        """One of our addresses, or anyone at our own domain (a colleague)."""
        address = address.lower()
        domain = self.site.domain.lower()
        return address in self.own_addresses() or (bool(domain) and address.endswith("@" + domain))


# Each section: key -> (accepted types, default). `...` marks a required key.
_MAILBOX_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "name": ((str,), None),
    "kind": ((str,), "imap"),
    "host": ((str,), ""),
    "port": ((int,), None),
    "security": ((str,), "tls"),
    "username": ((str,), ""),
    "auth": ((str,), "password"),
    "password_env": ((str,), None),
    "password_file": ((str,), None),
    "password_command": ((str,), None),
    "token_env": ((str,), None),
    "token_file": ((str,), None),
    "token_command": ((str,), None),
    "tls_verify": ((bool,), True),
    "ca_file": ((str,), None),
    "path": ((str,), None),
    "poll_interval": ((int, float), DEFAULT_POLL_INTERVAL),
    "idle_recheck": ((int, float), DEFAULT_IDLE_RECHECK),
    "idle": ((bool,), True),
    "batch_size": ((int,), DEFAULT_BATCH_SIZE),
    "timeout": ((int, float), DEFAULT_TIMEOUT),
    "folders": ((dict,), {}),
}
_FOLDER_KEYS = {
    "inbox": ((str,), "INBOX"),
    "processed": ((str, bool), "mailbot/processed"),
    "failed": ((str,), "mailbot/failed"),
}
_DATABASE_KEYS = {"url": ((str,), DEFAULT_DATABASE_URL)}
_PROCESSING_KEYS = {
    "max_attempts": ((int,), DEFAULT_MAX_ATTEMPTS),
    "retry_delay": ((int, float), DEFAULT_RETRY_DELAY),
    "max_message_bytes": ((int,), DEFAULT_MAX_MESSAGE_BYTES),
    "parse_timeout": ((int, float), DEFAULT_PARSE_TIMEOUT),
    "min_free_space_mb": ((int,), DEFAULT_MIN_FREE_SPACE_MB),
}
_LOGGING_KEYS = {"level": ((str,), "INFO")}
_TRIAGE_KEYS = {
    "enabled": ((bool,), True),
    "review_threshold": ((int, float), DEFAULT_REVIEW_THRESHOLD),
    "rules_dir": ((str,), None),
    "model_dir": ((str,), None),
}
_SITE_KEYS = {
    "name": ((str,), "Project Team"),
    "address": ((str,), "team@example.com"),
    "own_addresses": ((list,), []),
    "domain": ((str,), ""),
    "templates_dir": ((str,), None),
    "name_by_language": ((dict,), {}),
    "signature_by_language": ((dict,), {}),
}
_PROJECT_KEYS = {
    "key": ((str,), None),
    "name": ((str,), None),
    "client_domains": ((list,), []),
    "client_addresses": ((list,), []),
    "alias": ((str,), None),
    "keywords": ((list,), []),
    "language": ((str,), "en"),
    "pm": ((str,), None),
    "pm_name": ((str,), None),
    "pm_language": ((str,), "en"),
    "templates_dir": ((str,), None),
    "vip_addresses": ((list,), []),
    "escalation_contact": ((str,), None),
    "timezone": ((str,), None),
    "office_hours": ((str,), "09:00-18:00"),
    "holidays": ((str,), None),
    "days_off": ((list,), []),
    "workdays": ((list,), []),
    "milestones": ((list,), []),
    "tracker": ((dict,), None),
    "chat": ((list,), []),
}
# [projects.tracker]: the team's tracker (mailbot.connectors).
_TRACKER_KEYS = {
    "kind": ((str,), None),
    "url": ((str,), None),
    "project": ((str,), None),
    "username": ((str,), None),
    "token_env": ((str,), None),
    "token_file": ((str,), None),
    "token_command": ((str,), None),
    "poll_interval": ((int, float), DEFAULT_TRACKER_POLL_INTERVAL),
    "timeout": ((int, float), DEFAULT_CONNECTOR_TIMEOUT),
    "statuses": ((dict,), dict(DEFAULT_TRACKER_STATUSES)),
    "webhook_secret_env": ((str,), None),
    "webhook_secret_file": ((str,), None),
    "webhook_secret_command": ((str,), None),
}
# [[chat]] (the site's) and [[projects.chat]]: a chat webhook.
_CHAT_KEYS = {
    "kind": ((str,), None),
    "url_env": ((str,), None),
    "url_file": ((str,), None),
    "url_command": ((str,), None),
    "secret_env": ((str,), None),
    "secret_file": ((str,), None),
    "secret_command": ((str,), None),
    "events": ((list,), list(CHAT_EVENTS)),
    "language": ((str,), None),
    "per_minute": ((int,), DEFAULT_CHAT_PER_MINUTE),
    "timeout": ((int, float), DEFAULT_CONNECTOR_TIMEOUT),
}
_MILESTONE_KEYS = {
    "name": ((str,), None),
    "due": ((date,), None),
    "status": ((str,), "planned"),
}
_ACK_KEYS = {
    "enabled": ((bool,), True),
    "follow_ups": ((bool,), False),
    "unknown_senders": ((str,), "triage"),
    "max_per_sender_per_hour": ((int,), DEFAULT_ACKS_PER_SENDER_PER_HOUR),
    "max_age_hours": ((int, float), DEFAULT_ACK_MAX_AGE_HOURS),
    "breaker_cooldown_hours": ((int, float), DEFAULT_BREAKER_COOLDOWN_HOURS),
    "first_response_hours": ((int,), DEFAULT_FIRST_RESPONSE_HOURS),
    "decision_days": ((int,), DEFAULT_DECISION_DAYS),
    "feedback": ((str,), "thanks"),
    "mode": ((str,), "on"),
    "observe_until": ((date, str), None),
}
_SMTP_KEYS = {
    "host": ((str,), None),
    "port": ((int,), None),
    "security": ((str,), "starttls"),
    "username": ((str,), None),
    "password_env": ((str,), None),
    "password_file": ((str,), None),
    "password_command": ((str,), None),
    "timeout": ((int, float), DEFAULT_SMTP_TIMEOUT),
    "tls_verify": ((bool,), True),
    "ca_file": ((str,), None),
    "max_attempts": ((int,), DEFAULT_SMTP_MAX_ATTEMPTS),
    "envelope_from": ((str,), ""),
}
_OUTBOX_KEYS = {"directory": ((str,), None)}
_SECRETS_KEYS = {"env_file": ((str,), None)}
_SCHEDULE_KEYS = {
    "enabled": ((bool,), True),
    "timezone": ((str,), "UTC"),
    "digest_days": ((str,), "weekdays"),
    "digest_time": ((str,), "08:30"),
    "digest_to": ((list,), []),
    "summary_day": ((str,), "monday"),
    "summary_time": ((str,), "09:00"),
    "summary_hold": ((bool,), False),
    "summary_hold_first": ((bool,), True),
    "summary_quiet_weeks": ((str,), "brief"),
}
_SLA_KEYS = {
    "issue_hours": ((int, float), 4.0),
    "change_request_hours": ((int, float), 24.0),
    "feedback_hours": ((int, float), 48.0),
}
_SPAM_KEYS = {
    "backend": ((str,), "none"),
    "host": ((str,), "127.0.0.1"),
    "port": ((int,), None),
    "threshold": ((int, float), None),
    "timeout": ((int, float), DEFAULT_SPAM_TIMEOUT),
    "max_size": ((int,), DEFAULT_SPAM_MAX_SIZE),
    "trusted_upstream": ((bool,), False),
    "heuristics": ((bool,), True),
}
_WEB_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "host": ((str,), "127.0.0.1"),
    "port": ((int,), DEFAULT_WEB_PORT),
    "root_path": ((str,), ""),
    "trusted_proxies": ((list,), ["127.0.0.1"]),
    "secure_cookies": ((bool,), True),
    "session_hours": ((int, float), 12.0),
    "idle_minutes": ((int, float), 120.0),
    "max_failed_logins": ((int,), 5),
    "login_window_minutes": ((int, float), 15.0),
    "language": ((str,), "en"),
    "send_at_once": ((bool,), True),
}
_AUTH_KEYS = {
    "trusted_authserv_ids": ((list,), []),
    "verify_dkim": ((bool,), True),
    "require_verified_for": ((list,), ["approval"]),
    "dkim_timeout": ((int, float), DEFAULT_DKIM_TIMEOUT),
}
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LANGUAGES = ("en", "zh-Hans", "zh-Hant", "zh-HK")  # zh-HK: Hong Kong wording
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
_SECTIONS = (
    "mailbox",
    "mailboxes",
    "database",
    "processing",
    "logging",
    "triage",
    "site",
    "projects",
    "acknowledgements",
    "smtp",
    "outbox",
    "schedules",
    "sla",
    "spam",
    "authentication",
    "web",
    "secrets",
    "chat",
)


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, else $MAILBOT_CONFIG, else ./mailbot.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_CONFIG_PATH


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    config_path = find_config_path(path)
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {config_path}",
            "copy mailbot.example.toml to mailbot.toml and edit it, "
            f"or pass --config PATH or set {CONFIG_ENV}",
        ) from None
    except OSError as err:
        raise ConfigError(f"cannot read {config_path}: {err.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{config_path} is not valid TOML: {err}", "fix the line named") from None
    return parse_config(data, base_dir=config_path.resolve().parent, path=config_path)


def parse_config(data: dict[str, Any], base_dir: Path, path: Path | None = None) -> Config:
    _check_keys("", data, dict.fromkeys(_SECTIONS, ((dict, list), None)))
    if "mailbox" in data and "mailboxes" in data:
        raise ConfigError("use either [mailbox] or [[mailboxes]], not both")
    boxes_raw = data.get("mailboxes", [data["mailbox"]] if "mailbox" in data else [])
    if not isinstance(boxes_raw, list) or not boxes_raw:
        raise ConfigError(
            "no mailbox configured", "add a [mailbox] section with host, username and password_env"
        )
    mailboxes = tuple(
        _mailbox(box, f"mailboxes[{i}]" if "mailboxes" in data else "mailbox", base_dir)
        for i, box in enumerate(boxes_raw)
    )
    names = [m.name for m in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigError("two mailboxes share a name", "give each mailbox a distinct name")

    db = _section(data, "database", _DATABASE_KEYS)
    processing = _section(data, "processing", _PROCESSING_KEYS)
    logging_ = _section(data, "logging", _LOGGING_KEYS)
    triage = _section(data, "triage", _TRIAGE_KEYS)
    level = logging_["level"].upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"logging.level {logging_['level']!r} is unknown", f"use one of {LOG_LEVELS}"
        )
    if processing["max_attempts"] < 1:
        raise ConfigError("processing.max_attempts must be at least 1")
    if processing["retry_delay"] < 0:
        raise ConfigError("processing.retry_delay must be 0 or more seconds")
    if processing["parse_timeout"] < 0:
        raise ConfigError(
            "processing.parse_timeout must be 0 (no budget) or more seconds",
            "e.g. parse_timeout = 20",
        )
    if processing["max_message_bytes"] < 64 * 1024:
        raise ConfigError(
            "processing.max_message_bytes must be at least 65536",
            "mail up to this size is read in full; the default is 26214400 (25 MB)",
        )
    if processing["min_free_space_mb"] < 0:
        raise ConfigError(
            "processing.min_free_space_mb must be 0 (no limit) or more megabytes",
            "e.g. min_free_space_mb = 64",
        )
    threshold = float(triage["review_threshold"])
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError("triage.review_threshold must be between 0 and 1")
    site = _site(_section(data, "site", _SITE_KEYS), base_dir)
    projects = _projects(data.get("projects", []), base_dir)
    site_chat = _chats("chat", data.get("chat", []), owner="site")
    acks = _section(data, "acknowledgements", _ACK_KEYS)
    _choice("acknowledgements.unknown_senders", acks["unknown_senders"], ("triage", "acknowledge"))
    _choice("acknowledgements.feedback", acks["feedback"], ("thanks", "none"))
    _choice("acknowledgements.mode", acks["mode"], ("on", "observe"))
    acks["observe_until"] = _observe_until(acks["observe_until"])
    if acks["max_per_sender_per_hour"] < 0:
        raise ConfigError("acknowledgements.max_per_sender_per_hour must not be negative")
    for key in ("max_age_hours", "breaker_cooldown_hours"):
        if acks[key] <= 0:
            raise ConfigError(f"acknowledgements.{key} must be a positive number of hours")
    smtp = _smtp(data["smtp"], site, base_dir) if "smtp" in data else None
    outbox = _section(data, "outbox", _OUTBOX_KEYS)
    sla = _section(data, "sla", _SLA_KEYS)
    if any(v <= 0 for v in sla.values()):
        raise ConfigError("every sla.*_hours must be positive")
    env_file = _path(_section(data, "secrets", _SECRETS_KEYS)["env_file"], base_dir)
    if env_file is not None:
        mailboxes = tuple(_with_env_file(box, env_file) for box in mailboxes)
        if smtp is not None and smtp.secret is not None:
            smtp = replace(smtp, secret=replace(smtp.secret, env_file=env_file))
        projects = tuple(_connectors_with_env_file(p, env_file) for p in projects)
        site_chat = tuple(_chat_with_env_file(c, env_file) for c in site_chat)
    return Config(
        schedules=_schedules(_section(data, "schedules", _SCHEDULE_KEYS)),
        sla=SlaConfig(**{k: float(v) for k, v in sla.items()}),
        spam=_spam(_section(data, "spam", _SPAM_KEYS)),
        authentication=_authentication(_section(data, "authentication", _AUTH_KEYS)),
        web=_web(_section(data, "web", _WEB_KEYS)),
        chat=site_chat,
        smtp=smtp,
        outbox_dir=_path(outbox["directory"], base_dir),
        site=site,
        projects=projects,
        acknowledgements=AckConfig(**acks),
        mailboxes=mailboxes,
        database_url=_database_url(db["url"], base_dir),
        max_attempts=processing["max_attempts"],
        retry_delay=float(processing["retry_delay"]),
        max_message_bytes=processing["max_message_bytes"],
        parse_timeout=float(processing["parse_timeout"]),
        min_free_space_mb=processing["min_free_space_mb"],
        log_level=level,
        triage=TriageConfig(
            enabled=triage["enabled"],
            review_threshold=threshold,
            rules_dir=_path(triage["rules_dir"], base_dir),
            model_dir=_path(triage["model_dir"], base_dir),
        ),
        path=path,
    )


def _with_env_file(box: MailboxConfig, env_file: Path) -> MailboxConfig:
    if box.secret is None:
        return box
    return replace(box, secret=replace(box.secret, env_file=env_file))


def _check_keys(
    prefix: str, table: dict[str, Any], spec: dict[str, tuple[tuple[type, ...], Any]]
) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if key not in spec:
            known = ", ".join(sorted(spec))
            raise ConfigError(f"unknown key {name!r}", f"check the spelling; known keys: {known}")
        types = spec[key][0]
        # bool is an int in Python; do not let `port = true` through.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{name} must be {wanted}, not {type(value).__name__}")


def _section(
    data: dict[str, Any], name: str, spec: dict[str, tuple[tuple[type, ...], Any]]
) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    _check_keys(f"{name}.", table, spec)
    return {key: table.get(key, default) for key, (_types, default) in spec.items()}


def _path(value: str | None, base_dir: Path) -> Path | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else base_dir / p


def _database_url(url: str, base_dir: Path) -> str:
    try:
        make_url(url)
    except (ArgumentError, ValueError) as err:
        # The URL may hold a password: say what is wrong, never repeat the URL.
        why = "its port is not a number" if "invalid literal for int" in str(err) else str(err)
        why = why.replace(url, "the URL")
        raise ConfigError(
            f"database.url is not a usable database URL: {why}",
            'e.g. url = "postgresql+psycopg://mailbot@db.example:5432/mailbot" or '
            '"sqlite:///mailbot.sqlite3"',
        ) from None
    # A relative SQLite path is taken relative to the config file, not the working directory.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(base_dir / url[len(prefix) :])
    return url


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{key} {value!r} is not one of {', '.join(allowed)}")
    return value


def _secret(box: dict[str, Any], key: str, stem: str) -> Secret:
    sources = {kind: box.get(f"{stem}_{kind}") for kind in ("env", "file", "command")}
    given = {k: v for k, v in sources.items() if v is not None}
    if len(given) != 1:
        raise ConfigError(
            f"{key}.{stem}: set exactly one of {stem}_env, {stem}_file or {stem}_command",
            "secrets never go in the config file itself",
        )
    secret = Secret(
        key=f"{key}.{stem}",
        env=given.get("env"),
        file=Path(given["file"]).expanduser() if "file" in given else None,
        command=given.get("command"),
    )
    # Read when needed (`check_secrets` at start-up of what logs in): a PM reading the
    # queue on the server needs no mailbox password.
    return secret


def _mailbox(box: Any, key: str, base_dir: Path) -> MailboxConfig:
    if not isinstance(box, dict):
        raise ConfigError(f"{key} must be a table")
    _check_keys(f"{key}.", box, _MAILBOX_KEYS)
    opts = {k: box.get(k, default) for k, (_t, default) in _MAILBOX_KEYS.items()}
    folders_raw = opts["folders"]
    _check_keys(f"{key}.folders.", folders_raw, _FOLDER_KEYS)
    processed = folders_raw.get("processed", _FOLDER_KEYS["processed"][1])
    if processed is True:
        raise ConfigError(
            f"{key}.folders.processed must be a folder name, or false to flag in place"
        )
    folders = Folders(
        inbox=folders_raw.get("inbox", "INBOX"),
        processed=processed or None,
        failed=folders_raw.get("failed", "mailbot/failed"),
    )
    kind = _choice(f"{key}.kind", opts["kind"], ("imap", "maildir"))
    if opts["batch_size"] < 1 or opts["poll_interval"] <= 0 or opts["timeout"] <= 0:
        raise ConfigError(f"{key}: batch_size, poll_interval and timeout must be positive")
    if not 1 <= opts["idle_recheck"] <= DEFAULT_IDLE_RENEW:
        raise ConfigError(
            f"{key}.idle_recheck must be from 1 to {DEFAULT_IDLE_RENEW:g} seconds",
            "the default, 300, looks for new mail every 5 minutes even while idling",
        )
    common = {
        "folders": folders,
        "poll_interval": float(opts["poll_interval"]),
        "idle": opts["idle"],
        "idle_recheck": float(opts["idle_recheck"]),
        "batch_size": opts["batch_size"],
        "timeout": float(opts["timeout"]),
    }
    if kind == "maildir":
        if not opts["path"]:
            raise ConfigError(f"{key}.path is required for a maildir mailbox")
        path = _path(opts["path"], base_dir)
        return MailboxConfig(name=opts["name"] or f"maildir:{path}", kind=kind, path=path, **common)

    for required in ("host", "username"):
        if not opts[required]:
            raise ConfigError(f"{key}.{required} is required for an IMAP mailbox")
    security = _choice(f"{key}.security", opts["security"], ("tls", "starttls", "none"))
    auth = _choice(f"{key}.auth", opts["auth"], ("password", "xoauth2"))
    secret = _secret(box, key, "password" if auth == "password" else "token")
    return MailboxConfig(
        name=opts["name"] or f"{opts['username']}@{opts['host']}",
        kind=kind,
        host=opts["host"],
        port=opts["port"] or DEFAULT_IMAP_PORTS[security],
        security=security,
        username=opts["username"],
        auth=auth,
        secret=secret,
        tls_verify=opts["tls_verify"],
        ca_file=_path(opts["ca_file"], base_dir),
        **common,
    )


def _strings(key: str, value: list[Any], *, lower: bool = False) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key} must be a list of non-empty strings")
    return tuple(v.strip().lower() if lower else v.strip() for v in value)


def _site(table: dict[str, Any], base_dir: Path) -> SiteConfig:
    address = table["address"].strip().lower()
    if "@" not in address:
        raise ConfigError(f"site.address {address!r} is not an email address")
    return SiteConfig(
        name=table["name"],
        address=address,
        own_addresses=_strings("site.own_addresses", table["own_addresses"], lower=True),
        domain=table["domain"] or address.rsplit("@", 1)[1],
        templates_dir=_path(table["templates_dir"], base_dir),
        names=_by_language("site.name_by_language", table["name_by_language"]),
        signatures=_by_language("site.signature_by_language", table["signature_by_language"]),
    )


def _by_language(key: str, table: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A {language: text} table, checked: known languages, non-empty text."""
    for language, text in table.items():
        _choice(f"{key} language", language, LANGUAGES)
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{key}.{language} must be a non-empty string")
    return tuple((language, text.strip()) for language, text in table.items())


def _projects(raw: Any, base_dir: Path) -> tuple[ProjectConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError("projects must be written as [[projects]] tables")
    projects = []
    for i, table in enumerate(raw):
        where = f"projects[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        _check_keys(f"{where}.", table, _PROJECT_KEYS)
        opts = {k: table.get(k, default) for k, (_t, default) in _PROJECT_KEYS.items()}
        for required in ("key", "name"):
            if not opts[required]:
                raise ConfigError(f"{where}.{required} is required")
        if not _PROJECT_KEY.match(opts["key"]):
            raise ConfigError(
                f"{where}.key {opts['key']!r} must be 2-16 capital letters or digits",
                "it prefixes item references such as ACME-42",
            )
        projects.append(
            ProjectConfig(
                key=opts["key"],
                name=opts["name"],
                client_domains=_strings(
                    f"{where}.client_domains", opts["client_domains"], lower=True
                ),
                client_addresses=_strings(
                    f"{where}.client_addresses", opts["client_addresses"], lower=True
                ),
                alias=opts["alias"].strip().lower() if opts["alias"] else None,
                keywords=_strings(f"{where}.keywords", opts["keywords"]),
                language=_choice(f"{where}.language", opts["language"], LANGUAGES),
                pm=opts["pm"].strip().lower() if opts["pm"] else None,
                pm_name=opts["pm_name"],
                pm_language=_choice(f"{where}.pm_language", opts["pm_language"], LANGUAGES),
                templates_dir=_path(opts["templates_dir"], base_dir),
                vip_addresses=_strings(f"{where}.vip_addresses", opts["vip_addresses"], lower=True),
                milestones=_milestones(f"{where}.milestones", opts["milestones"]),
                tracker=_tracker(f"{where}.tracker", opts["tracker"]),
                chat=_chats(f"{where}.chat", opts["chat"], owner=opts["key"]),
                **_calendar(where, opts),
            )
        )
    keys = [p.key for p in projects]
    if len(set(keys)) != len(keys):
        raise ConfigError("two projects share a key", "give each project a distinct key")
    return tuple(projects)


def _tracker(where: str, table: dict[str, Any] | None) -> TrackerConfig | None:
    """[projects.tracker], checked; None when the project has none."""
    if table is None:
        return None
    _check_keys(f"{where}.", table, _TRACKER_KEYS)
    opts = {k: table.get(k, default) for k, (_t, default) in _TRACKER_KEYS.items()}
    kind = _choice(f"{where}.kind", opts["kind"] or "", TRACKER_KINDS)
    for required in ("url", "project"):
        if not opts[required]:
            raise ConfigError(
                f"{where}.{required} is required",
                'e.g. url = "https://redmine.agency.example", project = "acme"',
            )
    if not opts["url"].startswith(("https://", "http://")):
        raise ConfigError(f"{where}.url must start with https:// (or http://)")
    if opts["poll_interval"] < 0 or opts["timeout"] <= 0:
        raise ConfigError(f"{where}: poll_interval must be 0 or more, timeout positive")
    # Without statuses, the kind's own defaults (the example shows Redmine's).
    statuses = table.get("statuses") or dict(DEFAULT_STATUSES_BY_KIND[kind])
    for ours, theirs in statuses.items():
        if not isinstance(theirs, str) or not theirs.strip():
            raise ConfigError(f"{where}.statuses.{ours} must be the tracker's status name")
    webhook = None
    if any(opts[f"webhook_secret_{k}"] for k in ("env", "file", "command")):
        webhook = _secret(table, where, "webhook_secret")
    return TrackerConfig(
        kind=kind,
        url=opts["url"].rstrip("/"),
        project=opts["project"],
        secret=_secret(table, where, "token"),
        username=opts["username"],
        poll_interval=float(opts["poll_interval"]),
        timeout=float(opts["timeout"]),
        statuses=tuple((ours, theirs.strip()) for ours, theirs in statuses.items()),
        webhook_secret=webhook,
    )


def _chats(where: str, raw: Any, *, owner: str) -> tuple[ChatConfig, ...]:
    """[[chat]] or [[projects.chat]] tables, checked."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be written as [[{where.split('[')[0]}]] tables")
    found = []
    for i, table in enumerate(raw):
        key = f"{where}[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{key} must be a table")
        _check_keys(f"{key}.", table, _CHAT_KEYS)
        opts = {k: table.get(k, default) for k, (_t, default) in _CHAT_KEYS.items()}
        kind = _choice(f"{key}.kind", opts["kind"] or "", CHAT_KINDS)
        events = _strings(f"{key}.events", opts["events"])
        for event in events:
            _choice(f"{key}.events", event, CHAT_EVENTS)
        signing = None
        if any(opts[f"secret_{k}"] for k in ("env", "file", "command")):
            signing = _secret(table, key, "secret")
        if opts["per_minute"] < 1 or opts["timeout"] <= 0:
            raise ConfigError(f"{key}: per_minute and timeout must be positive")
        language = opts["language"]
        found.append(
            ChatConfig(
                kind=kind,
                url=_secret(table, key, "url"),
                name=f"{owner}:{kind}:{i}",
                events=events,
                signing=signing,
                language=_choice(f"{key}.language", language, LANGUAGES) if language else None,
                per_minute=opts["per_minute"],
                timeout=float(opts["timeout"]),
            )
        )
    return tuple(found)


def _chat_with_env_file(chat: ChatConfig, env_file: Path) -> ChatConfig:
    signing = chat.signing and replace(chat.signing, env_file=env_file)
    return replace(chat, url=replace(chat.url, env_file=env_file), signing=signing)


def _connectors_with_env_file(project: ProjectConfig, env_file: Path) -> ProjectConfig:
    tracker = project.tracker
    if tracker is not None:
        tracker = replace(
            tracker,
            secret=tracker.secret and replace(tracker.secret, env_file=env_file),
            webhook_secret=tracker.webhook_secret
            and replace(tracker.webhook_secret, env_file=env_file),
        )
    chat = tuple(_chat_with_env_file(c, env_file) for c in project.chat)
    return replace(project, tracker=tracker, chat=chat)


def _milestones(where: str, raw: list[Any]) -> tuple[MilestoneConfig, ...]:
    found = []
    for i, table in enumerate(raw):
        key = f"{where}[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(
                f"{key} must be a table", 'e.g. milestones = [{ name = "UAT", due = 2026-12-15 }]'
            )
        _check_keys(f"{key}.", table, _MILESTONE_KEYS)
        name = str(table.get("name") or "").strip()
        if not name:
            raise ConfigError(f"{key}.name is required")
        status = _choice(f"{key}.status", table.get("status", "planned"), MILESTONE_STATUSES)
        found.append(MilestoneConfig(name=name, due=table.get("due"), status=status))
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two milestones share a name", "give each a distinct name")
    return tuple(found)


def _calendar(where: str, opts: dict[str, Any]) -> dict[str, Any]:
    """A project's escalation contact and working calendar, checked."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import holidays

    if opts["timezone"] is not None:
        try:
            ZoneInfo(opts["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{where}.timezone {opts['timezone']!r} is not a known time zone",
                "use an IANA name such as Asia/Shanghai, Asia/Taipei or Asia/Hong_Kong",
            ) from None
    match = re.match(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$", opts["office_hours"])
    if not match or opts["office_hours"][6:] <= opts["office_hours"][:5]:
        raise ConfigError(
            f"{where}.office_hours {opts['office_hours']!r} must be HH:MM-HH:MM, end after start",
            'e.g. office_hours = "09:00-18:00"',
        )
    country = opts["holidays"]
    if country is not None and country.upper() not in holidays.list_supported_countries():
        raise ConfigError(
            f"{where}.holidays {country!r} is not a country the holidays package knows",
            'use a country code such as "CN", "TW" or "HK"',
        )
    return {
        "escalation_contact": opts["escalation_contact"],
        "timezone": opts["timezone"],
        "office_hours": opts["office_hours"],
        "holidays": country.upper() if country else None,
        "days_off": _dates(f"{where}.days_off", opts["days_off"]),
        "workdays": _dates(f"{where}.workdays", opts["workdays"]),
    }


def _dates(key: str, values: list[Any]) -> tuple[date, ...]:
    """TOML dates (days_off = [2026-10-08]) or ISO strings."""
    found = []
    for value in values:
        if isinstance(value, date) and not isinstance(value, datetime):
            found.append(value)
            continue
        try:
            found.append(date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(
                f"{key}: {value!r} is not a date", "write dates as 2026-10-08"
            ) from None
    return tuple(sorted(found))


def _smtp(table: Any, site: SiteConfig, base_dir: Path) -> SmtpConfig:
    if not isinstance(table, dict):
        raise ConfigError("[smtp] must be a table")
    _check_keys("smtp.", table, _SMTP_KEYS)
    opts = {k: table.get(k, default) for k, (_t, default) in _SMTP_KEYS.items()}
    if not opts["host"]:
        raise ConfigError("smtp.host is required", "or remove [smtp] to send nothing")
    security = _choice("smtp.security", opts["security"], ("tls", "starttls", "none"))
    secret = _secret(table, "smtp", "password") if opts["username"] else None
    if not opts["username"] and any(table.get(f"password_{k}") for k in ("env", "file", "command")):
        raise ConfigError("smtp: a password is set but no username", "set smtp.username")
    if opts["max_attempts"] < 1 or opts["timeout"] <= 0:
        raise ConfigError("smtp.max_attempts and smtp.timeout must be positive")
    # The From: of everything we send is the shared inbox itself, so replies come back to it.
    return SmtpConfig(
        host=opts["host"],
        port=opts["port"] or DEFAULT_SMTP_PORTS[security],
        security=security,
        username=opts["username"],
        secret=secret,
        timeout=float(opts["timeout"]),
        from_address=site.address,
        from_name=site.name,
        envelope_from=opts["envelope_from"],
        tls_verify=opts["tls_verify"],
        ca_file=_path(opts["ca_file"], base_dir),
        max_attempts=opts["max_attempts"],
        domain=site.domain,
    )


def _schedules(table: dict[str, Any]) -> ScheduleConfig:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(table["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"schedules.timezone {table['timezone']!r} is not a known time zone",
            "use an IANA name such as Europe/Berlin or Asia/Shanghai",
        ) from None
    for key in ("digest_time", "summary_time"):
        if not _HHMM.match(table[key]):
            raise ConfigError(f"schedules.{key} {table[key]!r} must be HH:MM (24-hour)")
    _choice("schedules.digest_days", table["digest_days"], ("daily", "weekdays"))
    _choice("schedules.summary_day", table["summary_day"].lower(), WEEKDAYS)
    _choice("schedules.summary_quiet_weeks", table["summary_quiet_weeks"], ("brief", "skip"))
    return ScheduleConfig(
        enabled=table["enabled"],
        timezone=table["timezone"],
        digest_days=table["digest_days"],
        digest_time=table["digest_time"],
        digest_to=_strings("schedules.digest_to", table["digest_to"], lower=True),
        summary_day=table["summary_day"].lower(),
        summary_time=table["summary_time"],
        summary_hold=table["summary_hold"],
        summary_hold_first=table["summary_hold_first"],
        summary_quiet_weeks=table["summary_quiet_weeks"],
    )


def _spam(table: dict[str, Any]) -> SpamConfig:
    _choice("spam.backend", table["backend"], SPAM_BACKENDS)
    if not table["host"].strip():
        raise ConfigError("spam.host must not be empty", 'e.g. host = "127.0.0.1"')
    port = table["port"]
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"spam.port {port} is not a TCP port", "use a number from 1 to 65535")
    threshold = table["threshold"]
    if threshold is not None and not math.isfinite(threshold):
        raise ConfigError("spam.threshold must be a finite number", "e.g. threshold = 5.0")
    if not (table["timeout"] > 0 and math.isfinite(table["timeout"])):
        raise ConfigError("spam.timeout must be a positive number of seconds")
    if table["max_size"] < 1024:
        raise ConfigError("spam.max_size must be at least 1024 bytes")
    return SpamConfig(
        backend=table["backend"],
        host=table["host"].strip(),
        port=port,
        threshold=None if threshold is None else float(threshold),
        timeout=float(table["timeout"]),
        max_size=table["max_size"],
        trusted_upstream=table["trusted_upstream"],
        heuristics=table["heuristics"],
    )


WEB_LANGUAGES = ("en", "zh-Hans")


def _observe_until(value: date | str | None) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"acknowledgements.observe_until {value!r} is not a date",
            "write a day such as observe_until = 2026-12-10",
        ) from None


def _web(table: dict[str, Any]) -> WebConfig:
    port = table["port"]
    if not 0 < port < 65536:
        raise ConfigError(f"web.port {port} is not a TCP port", "use a number from 1 to 65535")
    root = table["root_path"].strip().rstrip("/")
    if root and not root.startswith("/"):
        raise ConfigError(
            f"web.root_path {root!r} must start with /", 'e.g. root_path = "/mailbot"'
        )
    _choice("web.language", table["language"], WEB_LANGUAGES)
    for key in ("session_hours", "idle_minutes", "login_window_minutes"):
        if not (table[key] > 0 and math.isfinite(table[key])):
            raise ConfigError(f"web.{key} must be a positive number")
    if table["max_failed_logins"] < 1:
        raise ConfigError("web.max_failed_logins must be at least 1")
    return WebConfig(
        host=table["host"].strip() or "127.0.0.1",
        port=port,
        root_path=root,
        trusted_proxies=_strings("web.trusted_proxies", table["trusted_proxies"]),
        secure_cookies=table["secure_cookies"],
        session_hours=float(table["session_hours"]),
        idle_minutes=float(table["idle_minutes"]),
        max_failed_logins=table["max_failed_logins"],
        login_window_minutes=float(table["login_window_minutes"]),
        language=table["language"],
        send_at_once=table["send_at_once"],
    )


def _authentication(table: dict[str, Any]) -> AuthPolicy:
    ids = _strings("authentication.trusted_authserv_ids", table["trusted_authserv_ids"], lower=True)
    needs = _strings("authentication.require_verified_for", table["require_verified_for"])
    for need in needs:
        _choice("authentication.require_verified_for", need, VERIFIED_FOR)
    timeout = table["dkim_timeout"]
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ConfigError(
            "authentication.dkim_timeout must be a positive number of seconds",
            "e.g. dkim_timeout = 5",
        )
    return AuthPolicy(
        trusted_authserv_ids=ids,
        verify_dkim=table["verify_dkim"],
        require_verified_for=tuple(dict.fromkeys(needs)),
        dkim_timeout=float(timeout),
    )


def check_secrets(config: Config) -> None:
    """Read every secret from the environment or a file now, so a missing one stops start-up
    with a clear message rather than at the first login (commands are run when needed)."""
    secrets = [box.secret for box in config.mailboxes]
    secrets.append(config.smtp.secret if config.smtp else None)
    for secret in secrets:
        if secret is not None and (secret.env is not None or secret.file is not None):
            secret.reveal()
