"""`mailbot check-config`: valid or not, what cannot work, and --connect."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mailbot.cli import main

pytestmark = pytest.mark.no_database

BASE = """
[mailbox]
name = "support"
host = "127.0.0.1"
port = {port}
security = "none"
username = "support@agency.example"
password_env = "MB_TEST_PASSWORD"

[database]
url = "sqlite:///mb.sqlite3"

[site]
address = "team@agency.example"
"""

PROJECT = """
[[projects]]
key = "ACME"
name = "ACME Retail"
client_domains = ["acme-retail.example"]
pm = "{pm}"
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")


def test_warns_about_what_cannot_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE.format(port=closed_port()))
    assert main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "sending: nowhere" in out
    assert "warning: delivery: neither [smtp] nor [outbox] directory" in out
    assert "warning: projects: no [[projects]]" in out
    assert main(["check-config", "--config", str(path), "--strict"]) == 1


def test_a_pm_outside_the_site_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE.format(port=closed_port()) + '\n[outbox]\ndirectory = "out"\n'
    path = write(tmp_path, text + PROJECT.format(pm="lena@gmail.example"))
    assert main(["check-config", "--config", str(path), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "project ACME: the PM address lena@gmail.example is outside agency.example" in out
    assert "sending: written as .eml files" in out
    path = write(tmp_path, text + PROJECT.format(pm="lena@agency.example"))
    assert main(["check-config", "--config", str(path), "--strict"]) == 0
    assert "warning" not in capsys.readouterr().out


def test_connect_fails_when_the_server_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    path = write(tmp_path, BASE.format(port=port) + PROJECT.format(pm="lena@agency.example"))
    assert main(["check-config", "--config", str(path)]) == 0  # no network without --connect
    capsys.readouterr()
    assert main(["check-config", "--config", str(path), "--connect"]) == 2
    out = capsys.readouterr().out
    assert f"error: support: cannot connect to 127.0.0.1:{port}" in out
    assert "what to do: check mailbox.host and mailbox.port" in out


def test_trackers_and_chats_are_named_and_checked_with_connect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers.trackers import API_KEY, FakeRedmine

    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    monkeypatch.setenv("MB_TEST_REDMINE", API_KEY)
    monkeypatch.setenv("MB_TEST_SLACK", "http://127.0.0.1:9/services/T/B/X")
    with FakeRedmine() as redmine:
        text = BASE.format(port=closed_port()) + PROJECT.format(pm="lena@agency.example")
        text += f"""
[projects.tracker]
kind = "redmine"
url = "{redmine.base}"
project = "acme"
token_env = "MB_TEST_REDMINE"

[[projects.chat]]
kind = "slack"
url_env = "MB_TEST_SLACK"
events = ["escalation"]
"""
        path = write(tmp_path, text)
        assert main(["check-config", "--config", str(path)]) == 0
        out = capsys.readouterr().out
        assert f"tracker ACME: redmine {redmine.base} project acme (polled every 300 s)" in out
        assert "chat ACME:slack:0: escalation in en" in out
        assert main(["check-config", "--config", str(path), "--connect"]) == 2
        out = capsys.readouterr().out
        assert "ok: tracker ACME: redmine" in out and "signed in as admin" in out
        assert "error: chat ACME:slack:0: 127.0.0.1:9 cannot be reached" in out
