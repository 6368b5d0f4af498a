"""Typed configuration, as validated by `mailbot.config.load_config`."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from mailbot.errors import ConfigError

# Documented defaults, one named constant each.
DEFAULT_IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
DEFAULT_POLL_INTERVAL = 60.0  # seconds between polls when IDLE is off or missing
DEFAULT_IDLE_RENEW = 25 * 60.0  # RFC 2177: re-issue IDLE before the server's 29-minute limit
# Look for new mail this often even in IDLE: a server's announcement can be lost (it may
# come with another command's answer), and mail should never wait for the 25-minute renewal.
DEFAULT_IDLE_RECHECK = 300.0
DEFAULT_BATCH_SIZE = 100  # messages fetched, stored and committed together
DEFAULT_TIMEOUT = 60.0  # socket timeout for IMAP commands
DEFAULT_MAX_ATTEMPTS = 3  # failed attempts before a message is set aside for a person
DEFAULT_RETRY_DELAY = 60.0  # seconds before a failed stage is retried; doubles each time
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # larger mail is stored whole, read by its header
DEFAULT_PARSE_TIMEOUT = 20.0  # seconds to read one mail before it is read by its header only
DEFAULT_MIN_FREE_SPACE_MB = 64  # below this on its disks mailbot takes no new mail
DEFAULT_DATABASE_URL = "sqlite:///mailbot.sqlite3"
SECRET_COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Secret:
    """Where a secret comes from; the value itself is read only when needed and never logged."""

    key: str  # the config key, for error messages, e.g. "mailbox.password"
    env: str | None = None
    file: Path | None = None
    command: str | None = None
    env_file: Path | None = None  # [secrets] env_file: `env` is read here if not in the environment
    value: str | None = field(default=None, repr=False)  # typed in (`mailbot init`), not yet saved

    def reveal(self) -> str:
        if self.value is not None:
            return self.value
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value and self.env_file is not None:
                value = read_env_file(self.env_file).get(self.env)
            if not value:
                where = f"in the environment nor in {self.env_file}" if self.env_file else ""
                raise ConfigError(
                    f"{self.key}: the environment variable {self.env} is not set "
                    + (where or "or empty"),
                    f"export {self.env}=... before starting mailbot, or use {self.key}_file",
                )
            return value
        if self.file is not None:
            try:
                return self.file.read_text(encoding="utf-8").strip()
            except OSError as err:
                raise ConfigError(
                    f"{self.key}: cannot read the secret file {self.file}: {err.strerror}",
                    "check the path and that the mailbot user may read it",
                ) from None
        if self.command is not None:
            try:
                done = subprocess.run(
                    self.command,
                    shell=True,
                    capture_output=True,
                    text=True,
                    timeout=SECRET_COMMAND_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ConfigError(
                    f"{self.key}: the command timed out after {SECRET_COMMAND_TIMEOUT:.0f}s",
                    "run the command by hand and check that it prints the secret",
                ) from None
            if done.returncode != 0 or not done.stdout.strip():
                raise ConfigError(
                    f"{self.key}: the command exited {done.returncode} without printing a secret",
                    "run the command by hand and check that it prints the secret",
                )
            return done.stdout.strip()
        raise ConfigError(
            f"{self.key}: no secret configured", f"set {self.key}_env or {self.key}_file"
        )


def read_env_file(path: Path) -> dict[str, str]:
    """Variables of a systemd EnvironmentFile (KEY=value, '#' comments, optional quotes).

    Refused when anyone but its owner and group may read it: it holds passwords.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"secrets.env_file: cannot read {path}: {err.strerror}",
            "check the path and that the mailbot user may read it",
        ) from None
    if mode & 0o007:
        raise ConfigError(
            f"secrets.env_file: {path} can be read by anyone on this machine",
            f"chmod 600 {path} (or 640, owned by root:mailbot)",
        )
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.strip()
        if name.startswith("export "):
            name = name[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r'\\(["\\$`])', r"\1", value[1:-1])
        found[name] = value
    return found


def env_file_line(name: str, value: str) -> str:
    """One KEY=value line that `read_env_file` and systemd read back as `value`."""
    if "\n" in value or "\r" in value:
        raise ConfigError(f"{name}: a secret cannot contain a line break")
    if "'" not in value:
        return f"{name}='{value}'"
    escaped = re.sub(r'(["\\$`])', r"\\\1", value)
    return f'{name}="{escaped}"'


# New threads acknowledged per sender per hour of arrival; past it a flood, not a person.
# A last resort: loops are caught by what robots do (see acknowledge.py), and a busy client
# in acceptance testing writes 15 separate issues in half an hour.
DEFAULT_ACKS_PER_SENDER_PER_HOUR = 20
DEFAULT_ACK_MAX_AGE_HOURS = 24.0  # older mail (a backlog) is filed, not acknowledged
DEFAULT_BREAKER_COOLDOWN_HOURS = 24.0  # a breaker ends by itself after this
DEFAULT_FIRST_RESPONSE_HOURS = 4  # promised in issue acknowledgements
DEFAULT_DECISION_DAYS = 5  # change requests: a decision within this many working days


MILESTONE_STATUSES = ("planned", "in_progress", "done", "cancelled")


@dataclass(frozen=True, slots=True)
class MilestoneConfig:
    """A milestone as the config starts it; the PM moves it on (`mailbot project milestone`)."""

    name: str
    due: date | None = None
    status: str = "planned"  # MILESTONE_STATUSES


# Connectors to the team's tracker and chat (mailbot.connectors); none is required.
TRACKER_KINDS = ("redmine", "jira", "github", "gitlab")
CHAT_KINDS = ("slack", "teams", "wecom", "dingtalk", "feishu")
CHAT_EVENTS = ("escalation", "review", "failure", "digest")
DEFAULT_TRACKER_POLL_INTERVAL = 300.0  # seconds between "updated since" polls of a tracker
DEFAULT_CONNECTOR_TIMEOUT = 30.0  # seconds for one request to a tracker or a chat webhook
# DingTalk and WeCom robots take 20 messages a minute; past it they refuse for a while.
DEFAULT_CHAT_PER_MINUTE = 20
# A mailbot status and the tracker's name for it, both ways (Redmine's default workflow).
DEFAULT_TRACKER_STATUSES = (
    ("in_progress", "In Progress"),
    ("resolved", "Resolved"),
    ("closed", "Closed"),
    ("rejected", "Rejected"),
)
# The same for the other trackers: GitHub's and GitLab's issues are open or closed, and a
# new Jira project's workflow is To Do → In Progress → Done.
DEFAULT_STATUSES_BY_KIND = {
    "redmine": DEFAULT_TRACKER_STATUSES,
    "github": (
        ("in_progress", "open"),
        ("reopened", "open"),
        ("resolved", "closed"),
        ("closed", "closed"),
        ("rejected", "closed:not_planned"),
    ),
    "gitlab": (
        ("in_progress", "opened"),
        ("reopened", "opened"),
        ("resolved", "closed"),
        ("closed", "closed"),
        ("rejected", "closed"),
    ),
    "jira": (("in_progress", "In Progress"), ("resolved", "Done"), ("closed", "Done")),
}


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """The team's issue tracker for one project: where its items are pushed and synced."""

    kind: str  # TRACKER_KINDS
    url: str  # the tracker's base URL, e.g. https://redmine.agency.example
    project: str  # Redmine project identifier, Jira project key, "owner/repo", GitLab path
    secret: Secret | None = None  # the API key or token
    username: str | None = None  # Jira: the account (Cloud: its email) the token belongs to
    poll_interval: float = DEFAULT_TRACKER_POLL_INTERVAL  # 0: never polled (webhooks only)
    timeout: float = DEFAULT_CONNECTOR_TIMEOUT
    statuses: tuple[tuple[str, str], ...] = DEFAULT_TRACKER_STATUSES  # (mailbot, tracker)
    webhook_secret: Secret | None = None  # signs the tracker's webhooks to `mailbot web`

    def tracker_status(self, status: str) -> str | None:
        """The tracker's name for a mailbot status; None: not pushed."""
        return next((theirs for ours, theirs in self.statuses if ours == status), None)

    def mailbot_statuses(self, name: str) -> tuple[str, ...]:
        """The mailbot statuses a tracker status stands for (compared without case)."""
        return tuple(ours for ours, theirs in self.statuses if theirs.lower() == name.lower())


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """One chat webhook: which notices go there, signed how, in which language."""

    kind: str  # CHAT_KINDS
    url: Secret  # the webhook URL: it carries its token, so it is kept like a password
    name: str  # "ACME:slack" or "site:dingtalk": names its pushes and its rate limit
    events: tuple[str, ...] = CHAT_EVENTS
    signing: Secret | None = None  # DingTalk and Feishu signing secret
    language: str | None = None  # None: the project's pm_language (site: "en")
    per_minute: int = DEFAULT_CHAT_PER_MINUTE
    timeout: float = DEFAULT_CONNECTOR_TIMEOUT


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """One client project: who writes about it and how to recognise its mail."""

    key: str  # "ACME": prefix of item references such as ACME-42
    name: str
    client_domains: tuple[str, ...] = ()
    client_addresses: tuple[str, ...] = ()  # people writing from gmail.com, qq.com, 163.com ...
    alias: str | None = None  # plus-address such as projects+acme@agency.example
    keywords: tuple[str, ...] = ()  # product names, English and Chinese
    language: str = "en"  # the client's usual language: en, zh-Hans, zh-Hant or zh-HK
    pm: str | None = None  # the PM's address
    pm_name: str | None = None
    pm_language: str = "en"  # notices to the PM (escalations, decisions needed); as `language`
    templates_dir: Path | None = None  # project templates, before the site's and the built-in
    vip_addresses: tuple[str, ...] = ()  # mail from these people is escalated to the PM at once
    # Who a client reaches when something is urgent ("+86 21 5555 0100, Wang Lei"): named in
    # the acknowledgement of an escalated issue.
    escalation_contact: str | None = None
    # The working calendar promises are counted on (mailbot.items.calendar).
    timezone: str | None = None  # None: schedules.timezone
    office_hours: str = "09:00-18:00"
    holidays: str | None = None  # public holidays of a country: "CN", "TW", "HK", …
    days_off: tuple[date, ...] = ()  # the team's own days off
    workdays: tuple[date, ...] = ()  # weekend days worked instead (调休)
    milestones: tuple[MilestoneConfig, ...] = ()
    tracker: TrackerConfig | None = None  # None: items stay in mailbot only
    chat: tuple[ChatConfig, ...] = ()  # this project's chat webhooks

    def lists(self, address: str) -> bool:
        """Is `address` one of this project's clients: a listed address, or at (a subdomain
        of) one of its client domains?"""
        address = address.strip().lower()
        domain = address.rpartition("@")[2]
        return bool(address) and (
            address in self.client_addresses
            or any(domain == d or domain.endswith("." + d) for d in self.client_domains)
        )


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Who we are: our addresses are never answered, our name signs the acknowledgements."""

    name: str = "Project Team"
    address: str = "team@example.com"  # the shared inbox's address; acknowledgements come from it
    own_addresses: tuple[str, ...] = ()  # other addresses of ours (aliases, the PMs)
    domain: str = ""  # for Message-IDs; default: the address's domain
    templates_dir: Path | None = None
    # Per language (("zh-Hans", "北风数码"), …): the From name, and the last line of a mail
    # (default: that language's name, else `name`).
    names: tuple[tuple[str, str], ...] = ()
    signatures: tuple[tuple[str, str], ...] = ()

    def name_in(self, languages: Sequence[str]) -> str:
        """The From name for the first of `languages` that has one, else `name`."""
        found = dict(self.names)
        return next((found[lang] for lang in languages if lang in found), self.name)

    def signature_in(self, languages: Sequence[str]) -> str:
        """The signature line for the first of `languages` that has one (or a name)."""
        found = dict(self.signatures)
        return next((found[lang] for lang in languages if lang in found), self.name_in(languages))


@dataclass(frozen=True, slots=True)
class AckConfig:
    enabled: bool = True
    follow_ups: bool = False  # acknowledge follow-ups on an existing item too
    unknown_senders: str = "triage"  # "triage": file without answering; "acknowledge"
    max_per_sender_per_hour: int = DEFAULT_ACKS_PER_SENDER_PER_HOUR
    max_age_hours: float = DEFAULT_ACK_MAX_AGE_HOURS
    breaker_cooldown_hours: float = DEFAULT_BREAKER_COOLDOWN_HOURS
    first_response_hours: int = DEFAULT_FIRST_RESPONSE_HOURS
    decision_days: int = DEFAULT_DECISION_DAYS
    feedback: str = "thanks"  # "thanks": a short thank-you for feedback; "none": no answer
    # "observe": file and classify, record what would have been sent, send clients nothing
    # (for watching a new installation decide); "on": answer clients.
    mode: str = "on"
    observe_until: date | None = None  # with mode "observe": answer from this day on (UTC)

    def observing(self, now: datetime) -> bool:
        """Is mailbot only watching at `now` (nothing automatic goes to clients)?"""
        if self.mode != "observe":
            return False
        return self.observe_until is None or now.astimezone(UTC).date() < self.observe_until


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """When the daemon sends PM digests and client progress summaries (local times)."""

    enabled: bool = True
    timezone: str = "UTC"  # an IANA name such as "Asia/Shanghai"
    digest_days: str = "weekdays"  # "daily" or "weekdays"
    digest_time: str = "08:30"
    digest_to: tuple[str, ...] = ()  # default: every project's PM
    summary_day: str = "monday"  # client progress summaries, weekly
    summary_time: str = "09:00"
    summary_hold: bool = False  # true: each summary waits for the PM to release it
    summary_hold_first: bool = True  # a project's first report waits for the PM to read it
    summary_quiet_weeks: str = "brief"  # a week with no news: "brief" report, or "skip" it


@dataclass(frozen=True, slots=True)
class SlaConfig:
    """Hours until a person must first answer a new item, per category."""

    issue_hours: float = 4.0
    change_request_hours: float = 24.0
    feedback_hours: float = 48.0

    def hours_for(self, category: str) -> float | None:
        return getattr(self, f"{category}_hours", None)


@dataclass(frozen=True, slots=True)
class Folders:
    inbox: str = "INBOX"
    processed: str | None = "mailbot/processed"  # None: flag processed mail \Seen in place
    failed: str = "mailbot/failed"


@dataclass(frozen=True, slots=True)
class MailboxConfig:
    name: str  # a short stable name, used as the account key in the database
    kind: str = "imap"  # "imap" or "maildir"
    host: str = ""
    port: int = 993
    security: str = "tls"  # "tls" | "starttls" | "none"
    username: str = ""
    auth: str = "password"  # "password" | "xoauth2"
    secret: Secret | None = None  # the password or the OAuth2 access token
    tls_verify: bool = True
    ca_file: Path | None = None
    path: Path | None = None  # Maildir root, for kind = "maildir"
    folders: Folders = field(default_factory=Folders)
    poll_interval: float = DEFAULT_POLL_INTERVAL
    idle: bool = True
    idle_recheck: float = DEFAULT_IDLE_RECHECK  # seconds in IDLE before looking again anyway
    batch_size: int = DEFAULT_BATCH_SIZE
    timeout: float = DEFAULT_TIMEOUT

    @property
    def account(self) -> str:
        return self.name


DEFAULT_SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}
DEFAULT_SMTP_TIMEOUT = 30.0  # seconds per SMTP command; a stuck server must not stall the daemon
DEFAULT_SMTP_MAX_ATTEMPTS = 8  # temporary failures before an outbox mail is marked failed


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where acknowledgements are sent from. Empty `envelope_from` and `domain` are
    filled from `from_address`."""

    host: str
    from_address: str  # the From: header address, e.g. team@agency.example
    port: int = 587
    security: str = "starttls"  # "tls" | "starttls" | "none"
    username: str | None = None  # None: no AUTH
    secret: Secret | None = None  # the password, when username is set
    timeout: float = DEFAULT_SMTP_TIMEOUT
    from_name: str = ""
    envelope_from: str = ""  # SMTP MAIL FROM (where bounces go); default from_address
    tls_verify: bool = True
    ca_file: Path | None = None
    max_attempts: int = DEFAULT_SMTP_MAX_ATTEMPTS
    domain: str = ""  # right-hand side of our Message-IDs; default the from_address domain

    def __post_init__(self) -> None:
        if not self.envelope_from:
            object.__setattr__(self, "envelope_from", self.from_address)
        if not self.domain:
            object.__setattr__(self, "domain", self.from_address.rpartition("@")[2])


SPAM_BACKENDS = ("none", "spamd", "rspamd")
DEFAULT_SPAM_PORTS = {"spamd": 783, "rspamd": 11333}
DEFAULT_SPAM_TIMEOUT = 10.0  # seconds for one check; a slow filter must not stall the pipeline
DEFAULT_SPAM_MAX_SIZE = 512_000  # bytes sent to the filter; bigger mails by their start (as spamc)


@dataclass(frozen=True, slots=True)
class SpamConfig:
    """The spam filter asked about every mail, and the heuristics added to it."""

    backend: str = "none"  # "none" | "spamd" (SpamAssassin) | "rspamd"
    host: str = "127.0.0.1"
    port: int | None = None  # None: 783 for spamd, 11333 for rspamd
    threshold: float | None = None  # None: the filter's own
    timeout: float = DEFAULT_SPAM_TIMEOUT
    max_size: int = DEFAULT_SPAM_MAX_SIZE
    # Respect X-Spam-Flag / X-Spam-Status written by the organisation's own filter. Off by
    # default: anyone can write these headers into the mail they send.
    trusted_upstream: bool = False
    heuristics: bool = True

    def __post_init__(self) -> None:
        if self.port is None and self.backend in DEFAULT_SPAM_PORTS:
            object.__setattr__(self, "port", DEFAULT_SPAM_PORTS[self.backend])


DEFAULT_DKIM_TIMEOUT = 5.0  # seconds for the DNS lookup of one DKIM key
VERIFIED_FOR = ("approval", "acknowledgement")  # what `require_verified_for` may name


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """Whom mailbot believes about who sent a mail (see docs/security.md).

    The first four come from [authentication]; the protected names are filled from the
    projects and the site by `mailbot.trust.sender.auth_policy(config)`."""

    # Authentication-Results written by these servers (their authserv-id) are read; any
    # other is ignored, as anyone can write one into the mail they send.
    trusted_authserv_ids: tuple[str, ...] = ()
    verify_dkim: bool = True  # without a trusted header, check DKIM signatures ourselves
    require_verified_for: tuple[str, ...] = ("approval",)  # of VERIFIED_FOR
    dkim_timeout: float = DEFAULT_DKIM_TIMEOUT
    protected_domains: tuple[str, ...] = ()  # client domains and our own, lower-case
    protected_addresses: tuple[str, ...] = ()  # client, VIP and our own addresses


DEFAULT_WEB_PORT = 8025


@dataclass(frozen=True, slots=True)
class WebConfig:
    """`mailbot web`: the PMs' workspace in the browser (see docs/web.md)."""

    host: str = "127.0.0.1"  # behind a reverse proxy; bind elsewhere only on purpose
    port: int = DEFAULT_WEB_PORT
    root_path: str = ""  # the URL prefix the proxy serves it under, e.g. "/mailbot"
    # Proxies whose X-Forwarded-For/-Proto are believed (the client's address and https).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    # Cookies only over https. Turn off only for a try-out on http://127.0.0.1.
    secure_cookies: bool = True
    session_hours: float = 12.0  # a sign-in lasts at most this long
    idle_minutes: float = 120.0  # ... and ends sooner when the browser is idle this long
    max_failed_logins: int = 5  # per name within login_window_minutes, then wait
    login_window_minutes: float = 15.0
    language: str = "en"  # of the sign-in page; each user chooses their own after
    # A status mail, approval request or released report goes out right after the click,
    # not at the daemon's next delivery pass (the outbox's claims keep it to one send).
    send_at_once: bool = True
