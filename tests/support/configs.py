"""Writing real config files for tests that run the `mailbot` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailbot.config_types import MailboxConfig


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(
    path: Path, box: MailboxConfig, database_url: str, **sections: dict[str, Any]
) -> Path:
    """A mailbot.toml for one IMAP mailbox whose password is in a file."""
    assert box.secret is not None and box.secret.file is not None
    mailbox = {
        "name": box.name,
        "host": box.host,
        "port": box.port,
        "security": box.security,
        "username": box.username,
        "password_file": str(box.secret.file),
        "tls_verify": box.tls_verify,
        "idle": box.idle,
        "poll_interval": box.poll_interval,
        "batch_size": box.batch_size,
        "timeout": box.timeout,
    }
    lines = ["[mailbox]"] + [f"{k} = {_toml_value(v)}" for k, v in mailbox.items()]
    lines += [
        "[mailbox.folders]",
        f"inbox = {_toml_value(box.folders.inbox)}",
        f"processed = {_toml_value(box.folders.processed or False)}",
        f"failed = {_toml_value(box.folders.failed)}",
    ]
    lines += ["[database]", f"url = {_toml_value(database_url)}"]
    for name, table in sections.items():
        lines += [f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
