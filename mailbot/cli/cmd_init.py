"""`mailbot init`: set up a real inbox step by step (or from flags, for scripts)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.errors import ConfigError, MailbotError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mailbot.onboarding.answers import (
        InitAnswers,
        MailboxAnswers,
        ProjectAnswers,
        SmtpAnswers,
        WebUserAnswers,
    )

NAME = "init"
HELP = (
    "set up mailbot for a real inbox: log in to IMAP, create its folders, send a test mail "
    "through SMTP, add the projects and the first web user, write mailbot.toml and its "
    "secrets file, then run doctor"
)
SECURITIES = ("tls", "starttls", "none")
IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}
LOGIN_TRIES = 3  # a mistyped password is asked again, this often


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--non-interactive",
        action="store_true",
        help="ask nothing: take every answer from the options and the environment "
        "(MAILBOT_IMAP_PASSWORD, MAILBOT_SMTP_PASSWORD, MAILBOT_WEB_PASSWORD)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing config and secrets file"
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help="where the secrets go (default: mailbot.env beside the config)",
    )
    imap = parser.add_argument_group("the shared inbox (IMAP)")
    imap.add_argument("--imap-host", metavar="HOST", help="e.g. imap.agency.example")
    imap.add_argument("--imap-security", choices=SECURITIES, help="default: tls")
    imap.add_argument(
        "--imap-port", type=int, metavar="PORT", help="default: 993 (143 without TLS)"
    )
    imap.add_argument("--imap-user", metavar="NAME", help="the login, often the inbox's address")
    imap.add_argument(
        "--imap-ca-file", type=Path, metavar="PEM", help="CA of a server with its own certificate"
    )
    imap.add_argument("--processed-folder", metavar="FOLDER", help="default: mailbot/processed")
    imap.add_argument("--failed-folder", metavar="FOLDER", help="default: mailbot/failed")
    smtp = parser.add_argument_group("sending (SMTP)")
    smtp.add_argument("--smtp-host", metavar="HOST", help="e.g. smtp.agency.example")
    smtp.add_argument("--smtp-security", choices=SECURITIES, help="default: starttls")
    smtp.add_argument("--smtp-port", type=int, metavar="PORT", help="default: 587 (465 with tls)")
    smtp.add_argument(
        "--smtp-user", metavar="NAME", help="the SMTP login (default: the IMAP one; '' for none)"
    )
    smtp.add_argument("--smtp-ca-file", type=Path, metavar="PEM", help="CA of the SMTP server")
    smtp.add_argument(
        "--no-smtp",
        action="store_true",
        help="send nothing: write outgoing mail as .eml files into ./outbox (a try-out)",
    )
    smtp.add_argument(
        "--test-mail-to", metavar="ADDRESS", help="who gets the test mail (default: the inbox)"
    )
    smtp.add_argument("--skip-test-mail", action="store_true", help="send no test mail")
    team = parser.add_argument_group("the team and its projects")
    team.add_argument("--team-name", metavar="NAME", help="signs mailbot's mail")
    team.add_argument("--address", metavar="ADDRESS", help="the shared inbox's address")
    team.add_argument("--timezone", metavar="ZONE", help="IANA name, e.g. Asia/Shanghai")
    team.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ROW",
        help="a project as one CSV row: key,name,client_domains,client_addresses,language,"
        "pm,pm_name (lists separated by ';'); repeat for more",
    )
    team.add_argument(
        "--projects-csv",
        type=Path,
        metavar="FILE",
        help="projects from a CSV file whose first line names the columns (key, name, "
        "client_domains, client_addresses, language, pm, pm_name)",
    )
    rest = parser.add_argument_group("database, web workspace and first answers")
    rest.add_argument("--database", metavar="URL", help="default: SQLite beside the config")
    rest.add_argument(
        "--web-user", metavar="NAME", help="the first web workspace account (an admin)"
    )
    rest.add_argument("--no-web-user", action="store_true", help="create no web account")
    rest.add_argument(
        "--answer-now",
        action="store_true",
        help="answer clients from the start (default: observe first, send clients nothing)",
    )
    rest.add_argument(
        "--observe-days",
        type=int,
        metavar="N",
        help="observe for N days, then answer by itself (default: until you switch it on)",
    )


class Asker:
    """Questions with defaults; with --non-interactive, the defaults and options only."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def text(
        self,
        question: str,
        given: str | None,
        default: str | None = None,
        *,
        option: str,
        check: Callable[[str], str | None] | None = None,
    ) -> str:
        """`given` (an option) wins; else ask, offering `default`; `check` says what is wrong."""
        if given is not None:
            problem = check(given) if check else None
            if problem:
                raise ConfigError(f"{option}: {problem}")
            return given
        if not self.interactive:
            if default is None:
                raise ConfigError(f"{option} is needed with --non-interactive")
            return default
        while True:
            shown = f" [{default}]" if default else ""
            answer = self._line(f"{question}{shown}: ").strip()
            value = answer or (default or "")
            if not value and default is None:
                print("  an answer is needed")
                continue
            problem = check(value) if check and value else None
            if problem:
                print(f"  {problem}")
                continue
            return value

    def yes(self, question: str, default: bool = True) -> bool:
        if not self.interactive:
            return default
        while True:
            answer = self._line(f"{question} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
            if not answer:
                return default
            if answer in ("y", "yes", "j", "ja", "是", "好"):
                return True
            if answer in ("n", "no", "nein", "否", "不"):
                return False
            print("  answer y or n")

    def secret(self, question: str, env: str, *, confirm: bool = False) -> str:
        """From the environment variable `env` when set, else asked (never echoed on a tty)."""
        value = os.environ.get(env)
        if value:
            print(f"{question}: taken from ${env}")
            return value
        if not self.interactive:
            raise ConfigError(f"{env} is not set", f"export {env}=... for --non-interactive")
        while True:
            first = self._secret_line(f"{question}: ")
            if not first:
                print("  an answer is needed")
                continue
            if confirm and self._secret_line("again: ") != first:
                print("  the two differ; once more")
                continue
            return first

    def _line(self, prompt: str) -> str:
        try:
            return input(prompt)
        except EOFError:
            raise ConfigError(
                "the answers ended before the questions did",
                "answer every question, or use --non-interactive with options",
            ) from None

    def _secret_line(self, prompt: str) -> str:
        if sys.stdin.isatty():
            return getpass.getpass(prompt)
        return self._line(prompt)  # scripted answers on a pipe


def _checker(allowed: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda v: None if v in allowed else f"one of {', '.join(allowed)}"


def _is_port(value: str) -> str | None:
    return None if value.isdigit() and 0 < int(value) < 65536 else "a port number, 1-65535"


def _is_address(value: str) -> str | None:
    return None if "@" in value and " " not in value.strip() else "a mail address"


def _is_zone(value: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone such as Europe/Berlin or Asia/Shanghai"
    return None


def _local_zone() -> str:
    try:
        zone = Path("/etc/timezone").read_text(encoding="utf-8").strip()
    except OSError:
        zone = ""
    return zone if zone and _is_zone(zone) is None else "UTC"


def _ask_server(
    ask: Asker,
    args: argparse.Namespace,
    flag: str,
    label: str,
    host_guess: str | None,
    security_default: str,
    ports: dict[str, int],
) -> tuple[str, str, int]:
    """Host, security and port of one server (options --<flag>-host, -security, -port)."""
    host = ask.text(
        f"  {label} server", getattr(args, f"{flag}_host"), host_guess, option=f"--{flag}-host"
    )
    security = ask.text(
        "  security: tls, starttls or none",
        getattr(args, f"{flag}_security"),
        security_default,
        option=f"--{flag}-security",
        check=_checker(SECURITIES),
    )
    given_port = getattr(args, f"{flag}_port")
    port = ask.text(
        "  port",
        None if given_port is None else str(given_port),
        str(ports[security]),
        option=f"--{flag}-port",
        check=_is_port,
    )
    return host, security, int(port)


def ask_mailbox(ask: Asker, args: argparse.Namespace) -> tuple[MailboxAnswers, object]:
    """The inbox, logged in to; its server report."""
    from mailbot.onboarding.answers import IMAP_PASSWORD_ENV, MailboxAnswers
    from mailbot.onboarding.servers import probe_imap
    from mailbot.sources.imap import SourceAuthError

    print("\nThe shared inbox (IMAP)")
    host, security, port = _ask_server(ask, args, "imap", "IMAP", None, "tls", IMAP_PORTS)
    for attempt in range(1, LOGIN_TRIES + 1):
        user = ask.text("  user name", args.imap_user, option="--imap-user")
        password = ask.secret("  password", IMAP_PASSWORD_ENV)
        answers = MailboxAnswers(host, port, security, user, password, args.imap_ca_file)
        try:
            report = probe_imap(answers)
        except SourceAuthError as err:
            if not ask.interactive or attempt == LOGIN_TRIES or os.environ.get(IMAP_PASSWORD_ENV):
                raise
            print(f"  {err.message}\n  try again")
            args.imap_user = None
            continue
        break
    _describe_server(answers, report)
    return answers, report


def _describe_server(answers: MailboxAnswers, report) -> None:  # type: ignore[no-untyped-def]
    caps = report.capabilities
    offered = ", ".join(
        f"{cap} {'yes' if cap in caps else 'no'}" for cap in ("IDLE", "MOVE", "UIDPLUS")
    )
    print(f"  logged in to {answers.host}:{answers.port} as {answers.username}: {offered}")
    if "IDLE" not in caps:
        print("  without IDLE, new mail is noticed by polling every 60 s")
    special = report.special_use()
    names = [name for name, _flags in report.folders]
    shown = ", ".join(sorted(names)[:12]) + (" …" if len(names) > 12 else "")
    print(f"  folders on the server: {shown}")
    if special:
        marked = ", ".join(f"{flag[1:]}: {name}" for flag, name in sorted(special.items()))
        print(f"  marked by the server: {marked}")


def ask_folders(ask: Asker, args: argparse.Namespace, answers: MailboxAnswers, report) -> None:  # type: ignore[no-untyped-def]
    from mailbot.onboarding.servers import create_folders

    answers.processed = ask.text(
        "  folder for read mail",
        args.processed_folder,
        "mailbot/processed",
        option="--processed-folder",
    )
    answers.failed = ask.text(
        "  folder for mail that could not be read",
        args.failed_folder,
        "mailbot/failed",
        option="--failed-folder",
    )
    missing = [f for f in (answers.processed, answers.failed) if not report.has_folder(f)]
    if not missing:
        print("  both folders exist")
        return
    if ask.yes(f"  create {' and '.join(missing)} now?"):
        create_folders(answers)
        print(f"  created {' and '.join(missing)}")
    else:
        print("  mailbot creates them on its first run")


def ask_sending(
    ask: Asker, args: argparse.Namespace, box: MailboxAnswers, address: str, team: str
) -> SmtpAnswers | None:
    from mailbot.onboarding.answers import SMTP_PASSWORD_ENV, SmtpAnswers
    from mailbot.onboarding.servers import send_test_mail, smtp_config

    print("\nSending (SMTP)")
    if args.no_smtp or (args.smtp_host is None and not ask.yes("  send mail through SMTP?")):
        print("  mail mailbot sends is written as .eml files to ./outbox")
        return None
    guess = box.host.replace("imap.", "smtp.", 1) if box.host.startswith("imap.") else box.host
    host, security, port = _ask_server(ask, args, "smtp", "SMTP", guess, "starttls", SMTP_PORTS)
    user: str | None = ask.text(
        "  user name ('-' for no login)", args.smtp_user, box.username, option="--smtp-user"
    )
    user = None if user in ("", "-") else user
    password = None
    if user:
        if user == box.username and not os.environ.get(SMTP_PASSWORD_ENV):
            same = ask.yes("  the same password as the inbox?")
            password = box.password if same else ask.secret("  password", SMTP_PASSWORD_ENV)
        else:
            password = ask.secret("  password", SMTP_PASSWORD_ENV)
    answers = SmtpAnswers(host, port, security, user, password, args.smtp_ca_file)
    if args.skip_test_mail:
        return answers
    to = ask.text(
        "  send a test mail to",
        args.test_mail_to,
        address,
        option="--test-mail-to",
        check=_is_address,
    )
    message_id = send_test_mail(smtp_config(answers, address, team), to)
    print(f"  test mail sent to {to} ({message_id}): look for it in that inbox")
    return answers


def ask_projects(ask: Asker, args: argparse.Namespace) -> list[ProjectAnswers]:
    from mailbot.onboarding.answers import ProjectAnswers, check_project, projects_from_csv

    print("\nClient projects")
    projects = projects_from_csv(args.projects_csv) if args.projects_csv else []
    for number, row in enumerate(args.project, start=1):
        projects.append(_project_from_row(row, f"--project #{number}"))
    if projects or not ask.interactive:
        for p in projects:
            print(f"  {p.key}: {p.name} ({', '.join(p.client_domains) or 'no domain'})")
        return projects
    path = ask.text(
        "  import them from a CSV file? (path, or Enter to type them)",
        None,
        "",
        option="--projects-csv",
    )
    if path:
        return projects_from_csv(Path(path).expanduser())
    while True:
        key = ask.text("  project key, e.g. ACME (Enter when done)", None, "", option="--project")
        if not key:
            return projects
        project = ProjectAnswers(
            key=key.upper(),
            name=ask.text("    name", None, option="--project"),
            client_domains=_split(ask.text("    client domains", None, "", option="--project")),
            client_addresses=_split(
                ask.text("    other client addresses (gmail, qq …)", None, "", option="--project")
            ),
            language=ask.text(
                "    language: en, zh-Hans, zh-Hant or zh-HK",
                None,
                "en",
                option="--project",
                check=_checker(("en", "zh-Hans", "zh-Hant", "zh-HK")),
            ),
            pm=ask.text("    PM's address", None, "", option="--project") or None,
            pm_name=ask.text("    PM's name", None, "", option="--project") or None,
        )
        try:
            projects.append(check_project(project, project.key))
        except ConfigError as err:
            print(f"  {err.message}; that project was not added")


def _split(text: str) -> tuple[str, ...]:
    from mailbot.onboarding.answers import split_list

    return tuple(v.lower() for v in split_list(text))


def _project_from_row(row: str, where: str) -> ProjectAnswers:
    import csv

    from mailbot.onboarding.answers import CSV_COLUMNS, ProjectAnswers, check_project

    cells = next(csv.reader([row]), [])
    values = dict(zip(CSV_COLUMNS, (c.strip() for c in cells), strict=False))
    project = ProjectAnswers(
        key=values.get("key", ""),
        name=values.get("name", ""),
        client_domains=_split(values.get("client_domains", "")),
        client_addresses=_split(values.get("client_addresses", "")),
        language=values.get("language") or "en",
        pm=values.get("pm") or None,
        pm_name=values.get("pm_name") or None,
    )
    return check_project(project, where)


def ask_web_user(ask: Asker, args: argparse.Namespace) -> WebUserAnswers | None:
    from mailbot.accounts.users import check_password_rules
    from mailbot.onboarding.answers import WebUserAnswers

    if args.no_web_user:
        return None
    print("\nThe web workspace (`mailbot web`)")
    default = "admin" if ask.interactive else "-"  # scripts: only with --web-user
    name = ask.text(
        "  first account, an admin ('-' for none)", args.web_user, default, option="--web-user"
    )
    if name in ("", "-"):
        return None
    while True:
        password = ask.secret("  its password", "MAILBOT_WEB_PASSWORD", confirm=True)
        try:
            check_password_rules(password)
        except MailbotError as err:
            if not ask.interactive or os.environ.get("MAILBOT_WEB_PASSWORD"):
                raise
            print(f"  {err.message}")
            continue
        return WebUserAnswers(name, password)


def gather(args: argparse.Namespace) -> InitAnswers:
    from mailbot.onboarding.answers import InitAnswers

    ask = Asker(interactive=not args.non_interactive)
    box, report = ask_mailbox(ask, args)
    ask_folders(ask, args, box, report)
    print("\nThe team")
    address = ask.text(
        "  the inbox's address (mail mailbot sends comes from it)",
        args.address,
        box.username if "@" in box.username else None,
        option="--address",
        check=_is_address,
    )
    team = ask.text(
        "  the team's name, signing the mail", args.team_name, "Project Team", option="--team-name"
    )
    zone = ask.text(
        "  time zone", args.timezone, _local_zone(), option="--timezone", check=_is_zone
    )
    smtp = ask_sending(ask, args, box, address, team)
    projects = ask_projects(ask, args)
    database = ask.text(
        "\nDatabase URL (SQLite is fine for one daemon)",
        args.database,
        "sqlite:///mailbot.sqlite3",
        option="--database",
    )
    web_user = ask_web_user(ask, args)
    print("\nAnswers to clients")
    observe = not args.answer_now and ask.yes(
        "  watch first: file and classify, but send clients nothing until you switch it on?"
    )
    until = None
    if observe and args.observe_days:
        until = (datetime.now(UTC) + timedelta(days=args.observe_days)).date()
    return InitAnswers(
        mailbox=box,
        site_name=team,
        site_address=address,
        smtp=smtp,
        outbox_dir=None if smtp else "outbox",
        projects=projects,
        timezone=zone,
        database_url=database,
        mode="observe" if observe else "on",
        observe_until=until,
        web_user=web_user,
    )


def run(args: argparse.Namespace) -> int:
    from mailbot.cli.common import log_as_asked
    from mailbot.config import find_config_path
    from mailbot.onboarding.files import check_free, write_installation

    log_as_asked(args, "WARNING")
    config_path = find_config_path(getattr(args, "config", None))
    env_path = args.env_file or config_path.parent / "mailbot.env"
    check_free(config_path, env_path, force=args.force)  # before a single question
    answers = gather(args)
    written = write_installation(answers, config_path, env_path, force=args.force)
    print(f"\nwrote {written.config_path} and {written.env_path} (secrets, mode 0600)")
    _prepare_database(written.config, answers.web_user)
    return _doctor_and_next_steps(written.config_path, answers)


def _prepare_database(config, web_user) -> None:  # type: ignore[no-untyped-def]
    from mailbot.accounts.users import add_user
    from mailbot.storage.db import open_database

    db = open_database(config.database_url)  # creates and migrates it
    try:
        if web_user is not None:
            with db.session() as session:
                add_user(
                    session,
                    config,
                    web_user.name,
                    web_user.password,
                    role="admin",
                    actor="mailbot init",
                )
            print(f"web account {web_user.name} (admin) created")
    finally:
        db.dispose()


def _doctor_and_next_steps(config_path: Path, answers: InitAnswers) -> int:
    from mailbot.cli.cmd_doctor import render_table
    from mailbot.ops.doctor import exit_code, run_checks

    print("\n`mailbot doctor`:")
    checks = run_checks(config_path)
    print(render_table(checks))
    code = exit_code(checks)
    where = f"--config {config_path}"
    print("\nNext:")
    if answers.mode == "observe":
        print(
            "  mailbot files and classifies but answers no client yet; the digest lists what it\n"
            '  would have sent. When that looks right, set acknowledgements.mode = "on".'
        )
    print(f"  start it:        mailbot {where} run      (or the systemd unit, systemd/)")
    print(f"  see what it did: mailbot {where} status")
    if answers.web_user:
        print(f"  the web queue:   mailbot {where} web")
    return code
