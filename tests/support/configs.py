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
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _routed(url: str, base: Path) -> str:
    """The URL the test really uses: on a PostgreSQL run, the server database for it."""
    from mailbot.storage import db
    from tests.support.databases import database_use

    database_use.note(url)
    if db.url_rewriter is None or not url.startswith("sqlite:///"):
        return url
    relative = url[len("sqlite:///") :]
    absolute = relative if relative.startswith("/") else str(base / relative)
    return db.url_rewriter("sqlite:///" + absolute)


def _table(header: str, values: dict[str, Any]) -> list[str]:
    return [header] + [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]


def write_config(
    path: Path,
    box: MailboxConfig,
    database_url: str,
    *,
    projects: list[dict[str, Any]] | None = None,
    smtp_port: int | None = None,
    **sections: dict[str, Any],
) -> Path:
    """A mailbot.toml for one IMAP mailbox whose password is in a file.

    `smtp_port` adds an [smtp] section for a plain test SMTP server on 127.0.0.1.
    """
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
    lines = _table("[mailbox]", mailbox)
    lines += _table(
        "[mailbox.folders]",
        {
            "inbox": box.folders.inbox,
            "processed": box.folders.processed or False,
            "failed": box.folders.failed,
        },
    )
    lines += _table("[database]", {"url": _routed(database_url, path.parent)})
    if smtp_port is not None:
        lines += _table(
            "[smtp]", {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout": 10}
        )
    for name, table in sections.items():
        lines += _table(f"[{name}]", table)
    for project in projects or []:
        lines += _table("[[projects]]", project)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
