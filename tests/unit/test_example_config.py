"""mailbot.example.toml documents every key the config accepts, and is itself valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot import config as config_module
from mailbot.config import parse_config

pytestmark = pytest.mark.no_database

EXAMPLE = Path(__file__).resolve().parents[2] / "mailbot.example.toml"
# Each table of the config file and the schema of its keys.
SECTIONS = {
    "mailbox": config_module._MAILBOX_KEYS,
    "mailbox.folders": config_module._FOLDER_KEYS,
    "database": config_module._DATABASE_KEYS,
    "processing": config_module._PROCESSING_KEYS,
    "logging": config_module._LOGGING_KEYS,
    "triage": config_module._TRIAGE_KEYS,
    "site": config_module._SITE_KEYS,
    "projects": config_module._PROJECT_KEYS,
    "projects.tracker": config_module._TRACKER_KEYS,
    "projects.chat": config_module._CHAT_KEYS,
    "acknowledgements": config_module._ACK_KEYS,
    "smtp": config_module._SMTP_KEYS,
    "outbox": config_module._OUTBOX_KEYS,
    "schedules": config_module._SCHEDULE_KEYS,
    "sla": config_module._SLA_KEYS,
    "spam": config_module._SPAM_KEYS,
    "authentication": config_module._AUTH_KEYS,
    "web": config_module._WEB_KEYS,
    "secrets": config_module._SECRETS_KEYS,
    "chat": config_module._CHAT_KEYS,
}
_HEADER = re.compile(r"^#?\s*\[\[?([a-z_.]+)\]\]?")


def documented_keys() -> dict[str, set[str]]:
    """Keys written (or shown commented out) under each table header of the example."""
    found: dict[str, set[str]] = {}
    section = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = _HEADER.match(line)
        if header:
            section = header.group(1)
            continue
        key = re.match(r"^#?\s*([a-z_]+)\s*=", line)
        if key:
            found.setdefault(section, set()).add(key.group(1))
    return found


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_key_of_the_schema_is_in_the_example(section: str) -> None:
    documented = documented_keys().get(section, set())
    # A sub-table such as [mailbox.folders] is documented by its own header.
    documented |= {key.rpartition(".")[2] for key in SECTIONS if key.startswith(f"{section}.")}
    missing = sorted(set(SECTIONS[section]) - documented)
    assert not missing, (
        f"mailbot.example.toml does not show [{section}] {', '.join(missing)}: "
        "add each with its default and a comment saying what it does"
    )


def test_every_section_is_covered_by_this_test() -> None:
    assert set(config_module._SECTIONS) - {"mailboxes"} <= {s.split(".")[0] for s in SECTIONS}


def test_the_example_is_a_valid_config(tmp_path: Path) -> None:
    import tomllib

    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    config = parse_config(data, base_dir=tmp_path)
    assert config.mailboxes and config.projects
