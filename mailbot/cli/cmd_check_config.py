"""`mailbot check-config`: validate the config file and say what it means."""

from __future__ import annotations

import argparse

from mailbot.cli.common import load
from mailbot.config import check_secrets

NAME = "check-config"
HELP = (
    "validate the config file, warn about what cannot work, and with --connect log in to "
    "IMAP, SMTP and the trackers and reach the chat webhooks (exit 0 valid, 1 warnings under "
    "--strict, 2 invalid or a login failed)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connect",
        action="store_true",
        help="also log in to every mailbox, SMTP and each tracker, and reach each chat webhook "
        "(nothing is changed or sent)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")


def run(args: argparse.Namespace) -> int:
    from mailbot.ops.checks import FAIL, PASS, WARN
    from mailbot.ops.connectors import check_connectors
    from mailbot.ops.doctor import check_delivery, check_servers, config_warnings

    config = load(args)
    check_secrets(config)
    print(f"{config.path}: valid")
    for box in config.mailboxes:
        if box.kind == "maildir":
            print(f"  mailbox {box.name}: maildir {box.path}")
        else:
            print(
                f"  mailbox {box.name}: imap {box.security} {box.host}:{box.port} as {box.username}"
                f" ({box.auth}; secret from {_secret_source(box)})"
            )
        folders = box.folders
        print(
            f"    folders: inbox={folders.inbox} processed={folders.processed or '(flag in place)'}"
            f" failed={folders.failed}"
        )
    print(f"  database: {_safe_url(config.database_url)}")
    print(f"  sending: {_sending(config)}")
    print(f"  answers to clients: {_mode(config)}")
    for line in _connectors(config):
        print(f"  {line}")
    checks = config_warnings(config)
    if args.connect:
        checks += check_servers(config)
        checks += check_connectors(config)
    elif config.smtp is None:
        checks += check_delivery(config)  # no network: is there a way to send at all?
    for check in checks:
        if check.status == PASS:
            print(f"ok: {check.subject}: {check.detail}")
        else:
            label = "warning" if check.status == WARN else "error"
            print(f"{label}: {check.subject}: {check.detail}")
            if check.action:
                print(f"  what to do: {check.action}")
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return 2
    return 1 if args.strict and WARN in statuses else 0


def _connectors(config) -> list[str]:  # type: ignore[no-untyped-def]
    """The trackers and chat webhooks, as configured (nothing is contacted)."""
    lines = []
    for project in config.projects:
        tracker = project.tracker
        if tracker is not None:
            polled = (
                f"polled every {tracker.poll_interval:g} s"
                if tracker.poll_interval
                else "not polled"
            )
            hook = "; webhook on" if tracker.webhook_secret else ""
            lines.append(
                f"tracker {project.key}: {tracker.kind} {tracker.url} project {tracker.project} "
                f"({polled}{hook})"
            )
        for chat in project.chat:
            language = chat.language or project.pm_language
            lines.append(f"chat {chat.name}: {', '.join(chat.events)} in {language}")
    for chat in config.chat:
        lines.append(f"chat {chat.name}: {', '.join(chat.events)} in {chat.language or 'en'}")
    return lines


def _sending(config) -> str:  # type: ignore[no-untyped-def]
    if config.smtp is not None:
        smtp = config.smtp
        who = f" as {smtp.username}" if smtp.username else ""
        return f"smtp {smtp.security} {smtp.host}:{smtp.port}{who}"
    if config.outbox_dir is not None:
        return f"written as .eml files to {config.outbox_dir}"
    return "nowhere"


def _mode(config) -> str:  # type: ignore[no-untyped-def]
    acks = config.acknowledgements
    if not acks.enabled:
        return "off"
    if acks.mode == "observe":
        until = f" until {acks.observe_until}" if acks.observe_until else ""
        return f"observe{until} (filed and listed in the digest, nothing sent to clients)"
    return "on"


def _secret_source(box) -> str:  # type: ignore[no-untyped-def]
    s = box.secret
    if s is None:
        return "nowhere"
    if s.env:
        return f"${s.env}" + (f" (or {s.env_file})" if s.env_file else "")
    return str(s.file) if s.file else "a command"


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
