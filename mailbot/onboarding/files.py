"""The files `mailbot init` writes: a commented mailbot.toml and the secrets beside it (0600)."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mailbot.config import Config, parse_config
from mailbot.config_types import DEFAULT_IMAP_PORTS, DEFAULT_SMTP_PORTS, env_file_line
from mailbot.errors import ConfigError
from mailbot.onboarding.answers import (
    IMAP_PASSWORD_ENV,
    SMTP_PASSWORD_ENV,
    InitAnswers,
    ProjectAnswers,
)


@dataclass(frozen=True, slots=True)
class Written:
    config_path: Path
    env_path: Path
    config: Config


def q(value: str) -> str:
    """A TOML string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def q_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


def render_config(answers: InitAnswers, env_name: str) -> str:
    """mailbot.toml with a comment on every line an admin may want to change later."""
    box = answers.mailbox
    lines = [
        "# mailbot configuration, written by `mailbot init`. Every key and its default:",
        "# mailbot.example.toml. Check a change with `mailbot check-config --connect`.",
        "",
        "[mailbox]",
        'name = "support"                 # a short stable name; the database keys cursors by it',
        f"host = {q(box.host)}",
    ]
    if box.port != DEFAULT_IMAP_PORTS[box.security]:
        lines.append(f"port = {box.port}")
    lines += [
        f"security = {q(box.security)}",
        f"username = {q(box.username)}",
        f"password_env = {q(IMAP_PASSWORD_ENV)}   # its value is in {env_name}, not here",
    ]
    if box.ca_file:
        lines.append(f"ca_file = {q(str(box.ca_file))}")
    lines += [
        "",
        "[mailbox.folders]",
        'inbox = "INBOX"',
        f"processed = {q(box.processed)}  # read mail is moved here",
        f"failed = {q(box.failed)}        # mail that could not be read; never deleted",
        "",
        "[secrets]",
        f"env_file = {q(env_name)}        # KEY=value lines, mode 0600; systemd's EnvironmentFile",
        "",
        "[database]",
        f"url = {q(answers.database_url)}",
        "",
        "[site]",
        f"name = {q(answers.site_name)}    # signs the mail mailbot sends",
        f"address = {q(answers.site_address)}  # the shared inbox; mail we send comes from it",
        "own_addresses = []               # other addresses of ours: never answered",
        "",
    ]
    if answers.smtp is not None:
        smtp = answers.smtp
        lines += ["[smtp]", f"host = {q(smtp.host)}"]
        if smtp.port != DEFAULT_SMTP_PORTS[smtp.security]:
            lines.append(f"port = {smtp.port}")
        lines.append(f"security = {q(smtp.security)}")
        if smtp.username:
            lines += [
                f"username = {q(smtp.username)}",
                f"password_env = {q(SMTP_PASSWORD_ENV)}   # its value is in {env_name}",
            ]
        if smtp.ca_file:
            lines.append(f"ca_file = {q(str(smtp.ca_file))}")
        lines.append("")
    else:
        lines += [
            "# No SMTP server: mail mailbot sends is written here as .eml files.",
            "[outbox]",
            f"directory = {q(answers.outbox_dir or 'outbox')}",
            "",
        ]
    lines += [
        "[acknowledgements]",
        "enabled = true",
        f"mode = {q(answers.mode)}",
    ]
    if answers.mode == "observe":
        lines[-1] += (
            "                 # file and classify, list in the digest what would have been"
            '\n                                 # sent, send clients nothing; "on" to answer'
        )
        if answers.observe_until:
            lines.append(f"observe_until = {answers.observe_until.isoformat()}  # then answer")
    lines += [
        "",
        "[schedules]",
        f"timezone = {q(answers.timezone)}",
        "",
    ]
    if not answers.projects:
        lines += [
            "# No projects yet: mail waits in TRIAGE. Add one [[projects]] table per client",
            "# project (see mailbot.example.toml).",
            "",
        ]
    for project in answers.projects:
        lines += _project_lines(project)
    return "\n".join(lines)


def _project_lines(project: ProjectAnswers) -> list[str]:
    lines = [
        "[[projects]]",
        f"key = {q(project.key)}                       # item references: {project.key}-1, …",
        f"name = {q(project.name)}",
        f"client_domains = {q_list(project.client_domains)}",
        f"client_addresses = {q_list(project.client_addresses)}",
        f"language = {q(project.language)}                # when a mail's language is unclear",
    ]
    if project.pm:
        lines.append(f"pm = {q(project.pm)}")
    if project.pm_name:
        lines.append(f"pm_name = {q(project.pm_name)}")
    return [*lines, ""]


def render_env(answers: InitAnswers) -> str:
    lines = [
        "# mailbot's secrets: keep this file mode 0600 (or 0640 root:mailbot).",
        env_file_line(IMAP_PASSWORD_ENV, answers.mailbox.password),
    ]
    if answers.smtp is not None and answers.smtp.username:
        lines.append(env_file_line(SMTP_PASSWORD_ENV, answers.smtp.password or ""))
    return "\n".join(lines) + "\n"


def check_free(config_path: Path, env_path: Path, *, force: bool) -> None:
    """Refuse to overwrite an existing installation unless asked to."""
    if force:
        return
    for path in (config_path, env_path):
        if path.exists():
            raise ConfigError(
                f"{path} exists already: init does not overwrite it",
                "edit it and run `mailbot check-config --connect`, or run init again with "
                "--force to replace it",
            )


def write_installation(
    answers: InitAnswers, config_path: Path, env_path: Path, *, force: bool = False
) -> Written:
    """Write the secrets (0600) and the config, after checking the config is valid."""
    check_free(config_path, env_path, force=force)
    env_name = (
        env_path.name
        if env_path.parent.resolve() == config_path.parent.resolve()
        else str(env_path.resolve())
    )
    text = render_config(answers, env_name)
    base_dir = config_path.resolve().parent
    config = parse_config(tomllib.loads(text), base_dir=base_dir, path=config_path)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    env_path.parent.mkdir(parents=True, exist_ok=True)
    _write(env_path, render_env(answers), 0o600)
    _write(config_path, text, 0o640)
    return Written(config_path, env_path, config)


def _write(path: Path, text: str, mode: int) -> None:
    """Written whole under a temporary name, with its mode from the start, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)  # the umask may have taken bits away; never added any
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
