"""The systemd unit: the settings we promise in docs/install.md, and `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "mailbot.service"
WEB_UNIT = ROOT / "systemd" / "mailbot-web.service"
ENV_EXAMPLE = ROOT / "systemd" / "mailbot.env.example"
EXEC_START = "/opt/mailbot/venv/bin/mailbot --config /etc/mailbot/mailbot.toml run"


def settings(text: str) -> dict[str, list[str]]:
    """Key -> values (in order) of a unit file, comments skipped; sections are not kept apart."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_runs_the_daemon_as_a_dedicated_user() -> None:
    unit = settings(UNIT.read_text(encoding="utf-8"))
    assert unit["ExecStart"] == [EXEC_START]
    assert unit["User"] == ["mailbot"] and unit["DynamicUser"] == ["no"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["TimeoutStopSec"] == ["15"] and unit["KillSignal"] == ["SIGTERM"]
    assert unit["EnvironmentFile"] == ["-/etc/mailbot/mailbot.env"]
    assert unit["StateDirectory"] == ["mailbot"]
    assert unit["WantedBy"] == ["multi-user.target"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ReadWritePaths", "/var/lib/mailbot"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
    ],
)
@pytest.mark.parametrize("unit", [UNIT, WEB_UNIT], ids=["daemon", "web"])
def test_hardening(key: str, value: str, unit: Path) -> None:
    assert settings(unit.read_text(encoding="utf-8")).get(key) == [value]


def test_the_web_unit_serves_the_workspace_like_the_daemon_runs() -> None:
    daemon = settings(UNIT.read_text(encoding="utf-8"))
    web = settings(WEB_UNIT.read_text(encoding="utf-8"))
    assert web["ExecStart"] == [EXEC_START.replace(" run", " web")]
    for key in ("User", "Group", "EnvironmentFile", "StateDirectory", "UMask", "Restart"):
        assert web[key] == daemon[key], key
    assert set(daemon) <= set(web)  # every hardening setting of the daemon, nothing less


def test_the_env_example_names_the_variables_of_the_example_config() -> None:
    env = settings(ENV_EXAMPLE.read_text(encoding="utf-8"))
    example = (ROOT / "mailbot.example.toml").read_text(encoding="utf-8")
    assert env, "the example sets no variable"
    for name in env:
        assert name.isupper() and " " not in name
    assert "MAILBOT_IMAP_PASSWORD" in env
    assert "MAILBOT_IMAP_PASSWORD" in example  # the names agree with the documented config


@pytest.mark.parametrize("unit", [UNIT, WEB_UNIT], ids=["daemon", "web"])
def test_systemd_analyze_verify(tmp_path: Path, unit: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd): unit not verified")
    # verify insists that ExecStart exists; point it at a binary this machine has.
    text = unit.read_text(encoding="utf-8").replace(
        "ExecStart=/opt/mailbot/venv/bin/mailbot", f"ExecStart={sys.executable} -m mailbot"
    )
    assert text != unit.read_text(encoding="utf-8")
    copy = tmp_path / unit.name
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    # Unknown or misspelt keys are only warnings (exit 0): treat every complaint as a failure.
    complaints = [line for line in done.stderr.splitlines() if str(copy) in line]
    assert done.returncode == 0, done.stderr
    assert not complaints, "\n".join(complaints)
