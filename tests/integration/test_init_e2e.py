"""`mailbot init` against a real Dovecot and a real SMTP server (aiosmtpd), answers scripted."""

from __future__ import annotations

import io
import stat
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main
from mailbot.config import load_config
from mailbot.storage.db import open_database
from mailbot.storage.models import User
from tests.servers import DovecotAccount, DovecotServer
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

SECRET_VARS = ("MAILBOT_IMAP_PASSWORD", "MAILBOT_SMTP_PASSWORD", "MAILBOT_WEB_PASSWORD")
WEB_PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MAILBOT_CONFIG", raising=False)


@pytest.fixture
def smtp_server() -> SmtpSink:
    with SmtpSink(security="starttls", users={"sender@agency.example": "smtp pass 'x'"}) as sink:
        yield sink  # type: ignore[misc]


def answer(monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))


def test_interactive_init_sets_up_a_working_installation(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_account: DovecotAccount,
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tls = dovecot.tls_overrides()
    config_path = tmp_path / "etc" / "mailbot.toml"
    answer(
        monkeypatch,
        # the inbox, first with a mistyped password
        "127.0.0.1",
        "tls",
        str(tls["port"]),
        imap_account.user,
        "not the password",
        imap_account.user,
        imap_account.password,
        "",  # processed folder: the default
        "",  # failed folder: the default
        "",  # create them: yes
        # the team
        "team@agency.example",
        "ACME Team",
        "Asia/Shanghai",
        # sending
        "",  # through SMTP: yes
        "127.0.0.1",
        "starttls",
        str(smtp_server.port),
        "sender@agency.example",
        "smtp pass 'x'",
        "admin@agency.example",
        # projects
        "",  # no CSV
        "ACME",
        "ACME Retail web shop",
        "acme-retail.example",
        "boss@gmail.example",
        "en",
        "lena@agency.example",
        "Lena",
        "HX",
        "华信物流运输管理系统",
        "hxwl.example",
        "",
        "zh-Hans",
        "wang@agency.example",
        "王磊",
        "",  # no more projects
        "",  # database: the default SQLite
        "",  # web account: admin
        WEB_PASSWORD,
        WEB_PASSWORD,
        "",  # observe first: yes
    )
    code = main(
        [
            "init",
            "--config",
            str(config_path),
            "--imap-ca-file",
            str(tls["ca_file"]),
            "--smtp-ca-file",
            str(smtp_server.ca_file),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "refused" in out or "failed" in out  # the mistyped password was said and asked again
    assert "IDLE yes, MOVE yes" in out
    assert "created mailbot/processed and mailbot/failed" in out

    # The folders exist on the server, the test mail went through the real server with a login.
    assert {"mailbot/processed", "mailbot/failed"} <= set(imap_account.folders())
    (test_mail,) = smtp_server.wait_for(1)
    assert test_mail.rcpt_tos == ("admin@agency.example",)
    assert test_mail.login == "sender@agency.example"
    assert b"Subject: mailbot: test mail from mailbot init" in test_mail.content

    # Secrets only in the env file, which only its owner may read.
    env_path = config_path.parent / "mailbot.env"
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    toml_text = config_path.read_text(encoding="utf-8")
    assert imap_account.password not in toml_text and "smtp pass" not in toml_text
    assert imap_account.password in env_path.read_text(encoding="utf-8")
    data = tomllib.loads(toml_text)
    assert data["acknowledgements"]["mode"] == "observe"
    assert [p["key"] for p in data["projects"]] == ["ACME", "HX"]
    assert data["projects"][1]["name"] == "华信物流运输管理系统"
    assert data["schedules"]["timezone"] == "Asia/Shanghai"

    # The written config works with no secret in the environment.
    assert main(["check-config", "--config", str(config_path), "--connect"]) == 0
    checked = capsys.readouterr().out
    assert "ok: smtp:" in checked and "imap login" not in checked.split("ok:")[0]
    assert main(["doctor", "--config", str(config_path)]) == 0
    assert "0 failed" in capsys.readouterr().out
    config = load_config(config_path)
    db = open_database(config.database_url)
    try:
        with db.session() as session:
            admin = session.scalars(select(User).where(User.name == "admin")).one()
            assert admin.role == "admin" and not admin.disabled
    finally:
        db.dispose()

    # Running init again changes nothing without --force.
    before = config_path.read_bytes(), env_path.read_bytes()
    assert main(["init", "--config", str(config_path), "--non-interactive"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert (config_path.read_bytes(), env_path.read_bytes()) == before


def test_scripted_init_from_options_then_a_first_run_answers_a_client(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_account: DovecotAccount,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    projects = tmp_path / "projects.csv"
    projects.write_text(
        "key,name,client_domains,client_addresses,language,pm,pm_name\n"
        "ACME,ACME Retail,acme-retail.example;acme.example,,en,lena@agency.example,Lena\n",
        encoding="utf-8",
    )
    config_path = tmp_path / "mailbot.toml"
    (tmp_path / "mailbot.toml").write_text("# an old config\n", encoding="utf-8")
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", imap_account.password)
    monkeypatch.setenv("MAILBOT_WEB_PASSWORD", WEB_PASSWORD)
    args = [
        "init",
        "--config",
        str(config_path),
        "--non-interactive",
        "--imap-host",
        "127.0.0.1",
        "--imap-security",
        "none",
        "--imap-port",
        str(dovecot.imap_port),
        "--imap-user",
        imap_account.user,
        "--address",
        "team@agency.example",
        "--timezone",
        "Europe/Berlin",
        "--no-smtp",
        "--projects-csv",
        str(projects),
        "--project",
        "HX,华信物流,hxwl.example,,zh-Hans,wang@agency.example,王磊",
        "--web-user",
        "anna",
        "--answer-now",
    ]
    assert main(args) == 2  # an old config is there
    assert "exists already" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    config = load_config(config_path)
    assert [p.key for p in config.projects] == ["ACME", "HX"]
    assert config.projects[0].client_domains == ("acme-retail.example", "acme.example")
    assert config.acknowledgements.mode == "on"
    assert config.outbox_dir == tmp_path / "outbox"

    # A client writes; the first run files the mail and answers with the written config.
    monkeypatch.delenv("MAILBOT_IMAP_PASSWORD")
    imap_account.append(
        "INBOX",
        b"From: Peter <peter@acme-retail.example>\r\nTo: team@agency.example\r\n"
        b"Subject: Checkout fails with error 500\r\n"
        b"Message-ID: <init-e2e-1@acme-retail.example>\r\n"
        b"Date: " + _now() + b"\r\n\r\nSince this morning the checkout page shows error 500.\r\n",
    )
    assert main(["run", "--once", "--config", str(config_path)]) == 0
    acks = list((tmp_path / "outbox").glob("*.eml"))
    assert len(acks) == 1
    assert b"peter@acme-retail.example" in acks[0].read_bytes()
    assert "mailbot/processed" in imap_account.folders()


def test_init_refuses_a_missing_answer_in_scripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["init", "--config", str(tmp_path / "m.toml"), "--non-interactive"])
    assert code == 2
    assert "--imap-host is needed with --non-interactive" in capsys.readouterr().err
    assert not (tmp_path / "m.toml").exists()


def _now() -> bytes:
    from datetime import UTC, datetime
    from email.utils import format_datetime

    return format_datetime(datetime.now(UTC)).encode()
