"""`mailbot doctor` against a real Dovecot and a real SMTP server, before and after a first run."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.cli import main
from tests.servers import DovecotAccount, DovecotServer
from tests.servers.smtp import SmtpSink
from tests.support.configs import write_config

pytestmark = pytest.mark.integration

ACME = {
    "key": "ACME",
    "name": "ACME web shop",
    "client_domains": ["acme.example"],
    "pm": "lena@agency.example",
}


def doctor(
    config: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, list[dict[str, str]]]]:
    """Run `mailbot doctor --json`; the exit code and the rows grouped by check name."""
    code = main(["--config", str(config), "doctor", "--json", *extra])
    report = json.loads(capsys.readouterr().out)
    rows: dict[str, list[dict[str, str]]] = {}
    for row in report["checks"]:
        rows.setdefault(row["name"], []).append(row)
    assert report["exit_code"] == code
    return code, rows


def statuses(rows: dict[str, list[dict[str, str]]], name: str) -> list[str]:
    return [row["status"] for row in rows[name]]


def configure(tmp_path: Path, account: DovecotAccount, sink: SmtpSink, **box: object) -> Path:
    path = write_config(
        tmp_path / "mailbot.toml",
        account.mailbox_config(**box),
        "sqlite:///mb.sqlite3",
        projects=[ACME],
        smtp_port=sink.port,
        site={"name": "Team", "address": "team@agency.example"},
    )
    if box.get("ca_file"):  # write_config does not write ca_file; the TLS test needs it
        text = path.read_text(encoding="utf-8")
        text = text.replace("[mailbox]\n", f'[mailbox]\nca_file = "{box["ca_file"]}"\n', 1)
        path.write_text(text, encoding="utf-8")
    return path


def test_before_and_after_the_first_run(
    tmp_path: Path,
    imap_account: DovecotAccount,
    smtp_sink: SmtpSink,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = configure(tmp_path, imap_account, smtp_sink)
    folders_before = imap_account.folders()
    code, rows = doctor(config, capsys)
    assert code == 2  # the database does not exist yet
    assert statuses(rows, "imap reachable") == ["pass"]
    assert statuses(rows, "imap login") == ["pass"]
    assert statuses(rows, "imap IDLE") == statuses(rows, "imap MOVE") == ["pass"]
    # inbox exists; processed and failed are created by the first run: warnings.
    assert statuses(rows, "imap folder") == ["pass", "warn", "warn"]
    assert statuses(rows, "smtp") == ["pass"]
    assert statuses(rows, "database") == ["fail"]
    assert "mailbot run --once" in rows["database"][0]["action"]
    assert statuses(rows, "triage") == ["pass"]
    assert imap_account.folders() == folders_before  # doctor created nothing on the server
    assert not (tmp_path / "mb.sqlite3").exists()

    assert main(["--config", str(config), "run", "--once"]) == 0
    capsys.readouterr()
    code, rows = doctor(config, capsys, "--strict")
    problems = [r for group in rows.values() for r in group if r["status"] != "pass"]
    assert code == 0, problems
    assert statuses(rows, "imap folder") == ["pass", "pass", "pass"]
    assert statuses(rows, "last fetch") == ["pass"]
    assert statuses(rows, "outbox pending") == statuses(rows, "outbox failed") == ["pass"]


def test_tls_port_and_a_wrong_password(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_account: DovecotAccount,
    smtp_sink: SmtpSink,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password", encoding="utf-8")
    config = configure(tmp_path, imap_account, smtp_sink, **dovecot.tls_overrides())
    config.write_text(
        config.read_text(encoding="utf-8").replace(str(imap_account.password_file), str(wrong)),
        encoding="utf-8",
    )
    code, rows = doctor(config, capsys)
    assert code == 2
    assert statuses(rows, "imap reachable") == ["pass"]
    assert "TLS" in rows["imap reachable"][0]["detail"]
    (login,) = rows["imap login"]
    assert login["status"] == "fail"
    assert "password" in login["action"]
    assert "imap IDLE" not in rows  # nothing past a failed login


def _jwt(exp: datetime) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': int(exp.timestamp())})}.sig"


def test_xoauth2_login_with_a_token_that_expires_soon(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The test Dovecot checks an XOAUTH2 token like a password: make the password a JWT.
    token = _jwt(datetime.now(UTC) + timedelta(days=2))
    account = dovecot.add_account(password=token)
    config = configure(tmp_path, account, smtp_sink)
    text = config.read_text(encoding="utf-8")
    text = text.replace("password_file =", 'auth = "xoauth2"\ntoken_file =', 1)
    config.write_text(text, encoding="utf-8")
    code, rows = doctor(config, capsys)
    assert statuses(rows, "imap login") == ["pass"]
    (token_row,) = rows["oauth2 token"]
    assert token_row["status"] == "warn" and "expires at" in token_row["detail"]
    assert code == 2  # still: the database was never created
