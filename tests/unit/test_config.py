"""Config loading: valid files load, every mistake is one clear error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.config import check_secrets, load_config
from mailbot.errors import ConfigError

VALID = """
[mailbox]
name = "support"
host = "imap.example.com"
username = "support@example.com"
password_env = "MB_TEST_PASSWORD"

[mailbox.folders]
processed = "Done"

[database]
url = "sqlite:///state/mailbot.sqlite3"

[logging]
level = "debug"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_config_loads_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "s3cret")
    config = load_config(write(tmp_path, VALID))
    box = config.mailboxes[0]
    assert (box.name, box.port, box.security, box.folders.processed) == (
        "support",
        993,
        "tls",
        "Done",
    )
    assert box.folders.failed == "mailbot/failed"
    assert box.secret is not None and box.secret.reveal() == "s3cret"
    assert config.log_level == "DEBUG"
    # A relative SQLite path is relative to the config file.
    assert config.database_url == f"sqlite:///{tmp_path}/state/mailbot.sqlite3"


def test_config_found_through_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_CONFIG", str(write(tmp_path, VALID)))
    assert load_config(None).mailboxes[0].host == "imap.example.com"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('host = "imap.example.com"', 'host = "imap.example.com"\nhots = 1'),
            "unknown key 'mailbox.hots'",
        ),
        (('username = "support@example.com"', "username = 42"), "mailbox.username must be str"),
        (("[logging]", "[logging]\ncolour = true"), "unknown key 'logging.colour'"),
        (('level = "debug"', 'level = "loud"'), "logging.level 'loud' is unknown"),
        (
            ('host = "imap.example.com"', 'host = "imap.example.com"\nsecurity = "ssl"'),
            "mailbox.security 'ssl' is not one of tls, starttls, none",
        ),
        (('password_env = "MB_TEST_PASSWORD"', ""), "set exactly one of password_env"),
        (
            ('host = "imap.example.com"', 'host = "imap.example.com"\nport = true'),
            "mailbox.port must be int, not bool",
        ),
        (("[database]", "[databse]"), "unknown key 'databse'"),
    ],
)
def test_mistakes_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], expected: str
) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID.replace(*change)))
    assert expected in str(info.value)


def test_missing_secret_is_reported_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MB_TEST_PASSWORD", raising=False)
    config = load_config(write(tmp_path, VALID))  # reading the queue needs no password
    with pytest.raises(ConfigError) as info:
        check_secrets(config)  # what `run` and `check-config` do at start-up
    assert "MB_TEST_PASSWORD is not set" in str(info.value)
    assert "what to do" in str(info.value)


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 3"):
        load_config(write(tmp_path, "[mailbox]\nname = 'x'\nhost = \n"))


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config file") as info:
        load_config(tmp_path / "nope.toml")
    assert "mailbot.example.toml" in str(info.value)


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", "x")
    example = Path(__file__).resolve().parents[2] / "mailbot.example.toml"
    config = load_config(example)
    assert config.mailboxes[0].host


def test_check_config_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "s3cret")
    assert main(["--config", str(write(tmp_path, VALID)), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "$MB_TEST_PASSWORD" in out and "s3cret" not in out
    assert main(["--config", str(write(tmp_path, VALID + "\nbogus = 1\n")), "check-config"]) == 2
    assert "unknown key 'logging.bogus'" in capsys.readouterr().err


PROJECTS = """
[site]
address = "Team@Agency.example"

[[projects]]
key = "ACME"
name = "ACME web shop"
client_domains = ["ACME.example"]
client_addresses = ["boss@gmail.com"]
keywords = ["web shop", "网店"]
language = "zh-Hans"
"""


def test_projects_and_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    config = load_config(write(tmp_path, VALID + PROJECTS))
    assert config.site.address == "team@agency.example"
    assert config.site.domain == "agency.example"
    acme = config.project("ACME")
    assert acme is not None and acme.client_domains == ("acme.example",)
    assert acme.keywords == ("web shop", "网店") and acme.language == "zh-Hans"
    assert config.acknowledgements.max_per_sender_per_hour == 20  # a busy client is no loop


def test_hong_kong_is_a_language_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    hong_kong = PROJECTS.replace(
        'language = "zh-Hans"', 'language = "zh-HK"\npm_language = "zh-HK"'
    )
    hong_kong = hong_kong.replace(
        "[site]\n", '[site]\nsignature_by_language = { "zh-HK" = "北風數碼項目組" }\n'
    )
    config = load_config(write(tmp_path, VALID + hong_kong))
    acme = config.project("ACME")
    assert acme is not None and acme.language == "zh-HK" and acme.pm_language == "zh-HK"
    assert config.site.signatures == (("zh-HK", "北風數碼項目組"),)
    with pytest.raises(ConfigError, match="language 'zh-HKG' is not one of"):
        load_config(write(tmp_path, VALID + hong_kong.replace('"zh-HK"\npm', '"zh-HKG"\npm')))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('key = "ACME"', 'key = "acme"'), "must be 2-16 capital letters"),
        (('language = "zh-Hans"', 'language = "zh"'), "language 'zh' is not one of"),
        (('name = "ACME web shop"', 'name = "x"\ncolour = 1'), "unknown key 'projects[0].colour'"),
        (
            ('client_domains = ["ACME.example"]', "client_domains = [1]"),
            "list of non-empty strings",
        ),
    ],
)
def test_project_mistakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], expected: str
) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_config(write(tmp_path, VALID + PROJECTS.replace(*change)))


def test_duplicate_project_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    twice = PROJECTS + PROJECTS.split("[site]")[1].split('"\n', 1)[1]
    with pytest.raises(ConfigError, match="share a key"):
        load_config(write(tmp_path, VALID + twice))


def test_schedules_and_sla(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    extra = (
        '\n[schedules]\ntimezone = "Asia/Shanghai"\nsummary_day = "Friday"\n'
        "[sla]\nissue_hours = 2\n"
    )
    config = load_config(write(tmp_path, VALID + extra))
    assert config.schedules.timezone == "Asia/Shanghai" and config.schedules.summary_day == "friday"
    assert config.sla.hours_for("issue") == 2.0 and config.sla.hours_for("feedback") == 48.0
    for bad, message in (
        ('timezone = "Mars/Base"', "not a known time zone"),
        ('digest_time = "8:30"', "must be HH:MM"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config(write(tmp_path, VALID + "\n[schedules]\n" + bad + "\n"))


def test_reading_commands_need_no_mailbox_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailbot.cli import main

    monkeypatch.delenv("MB_TEST_PASSWORD", raising=False)
    monkeypatch.delenv("MB_TEST_SMTP_PASSWORD", raising=False)
    project = (
        '\n[[projects]]\nkey = "ACME"\nname = "ACME"\nclient_domains = ["acme.example"]\n'
        'pm = "lena@example.com"\n'
    )
    cfg = write(tmp_path, VALID + SMTP_WITH_PASSWORD + project)
    for command in (
        ["queue", "list"],
        ["queue", "list", "--json"],
        ["items", "--json"],
        ["messages", "--json"],
        ["failed", "list"],
        ["digest", "--preview"],
        ["summary", "--project", "ACME", "--preview"],
        ["status"],
        ["breakers", "list"],
        ["spam", "list"],
        ["user", "list"],
    ):
        assert main(["--config", str(cfg), *command]) == 0, command
    capsys.readouterr()
    assert main(["--config", str(cfg), "check-config"]) == 2
    assert "MB_TEST_PASSWORD is not set" in capsys.readouterr().err


def test_authentication(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    default = load_config(write(tmp_path, VALID)).authentication
    assert default.trusted_authserv_ids == () and default.verify_dkim
    assert default.require_verified_for == ("approval",) and default.dkim_timeout == 5.0
    extra = (
        '\n[authentication]\ntrusted_authserv_ids = ["MX.Agency.example"]\nverify_dkim = false\n'
        'require_verified_for = ["approval", "acknowledgement"]\ndkim_timeout = 2\n'
    )
    policy = load_config(write(tmp_path, VALID + extra)).authentication
    assert policy.trusted_authserv_ids == ("mx.agency.example",) and not policy.verify_dkim
    assert policy.require_verified_for == ("approval", "acknowledgement")
    assert policy.dkim_timeout == 2.0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'require_verified_for = ["approvals"]',
            "authentication.require_verified_for 'approvals' is not one of approval, "
            "acknowledgement",
        ),
        ('require_verified_for = "approval"', "authentication.require_verified_for must be list"),
        ("trusted_authserv_ids = [1]", "authentication.trusted_authserv_ids must be a list"),
        ('trusted_authserv_ids = [" "]', "authentication.trusted_authserv_ids must be a list"),
        ("dkim_timeout = 0", "authentication.dkim_timeout must be a positive number"),
        ("dkim_timeout = nan", "authentication.dkim_timeout must be a positive number"),
        ('verify_dkim = "yes"', "authentication.verify_dkim must be bool"),
        ("trusted_ids = []", "unknown key 'authentication.trusted_ids'"),
    ],
)
def test_authentication_mistakes_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, expected: str
) -> None:
    monkeypatch.setenv("MB_TEST_PASSWORD", "x")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID + "\n[authentication]\n" + line + "\n"))
    assert expected in str(info.value)


HOSTILE = Path(__file__).parent.parent / "fixtures" / "hostile"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://mailbot:S3cretPW@db.example:notaport/mailbot",  # F19's URL
        "postgresql+psycopg://mailbot:S3cretPW@db.example:99999999999999999999x/mailbot",
        "not a url at all",
    ],
)
def test_a_database_url_that_cannot_work_is_a_config_error_without_the_password(
    tmp_path: Path, url: str
) -> None:
    shipped = (HOSTILE / "F19-check-config-bad-port.toml").read_text(encoding="utf-8")
    path = tmp_path / "mailbot.toml"
    path.write_text(
        shipped.replace("postgresql+psycopg://mailbot:S3cretPW@db.example:notaport/mailbot", url),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"database\.url is not a usable database URL") as err:
        load_config(path)
    assert "S3cretPW" not in str(err.value)


SMTP_WITH_PASSWORD = """
[smtp]
host = "smtp.example.com"
username = "support@example.com"
password_env = "MB_TEST_SMTP_PASSWORD"
"""


def test_secrets_come_from_the_env_file_when_the_environment_lacks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailbot.config_types import env_file_line

    monkeypatch.delenv("MB_TEST_PASSWORD", raising=False)
    monkeypatch.delenv("MB_TEST_SMTP_PASSWORD", raising=False)
    env = tmp_path / "mailbot.env"
    hard = 'it\'s "quoted" $HOME `x` \\ back'
    env.write_text(
        "# secrets\n"
        + env_file_line("MB_TEST_PASSWORD", "plain s3cret")
        + "\n"
        + env_file_line("MB_TEST_SMTP_PASSWORD", hard)
        + "\n",
        encoding="utf-8",
    )
    env.chmod(0o600)
    text = VALID + SMTP_WITH_PASSWORD + '\n[secrets]\nenv_file = "mailbot.env"\n'
    config = load_config(write(tmp_path, text))
    assert config.mailboxes[0].secret is not None
    assert config.mailboxes[0].secret.reveal() == "plain s3cret"
    assert config.smtp is not None and config.smtp.secret is not None
    assert config.smtp.secret.reveal() == hard
    # The environment wins over the file.
    monkeypatch.setenv("MB_TEST_PASSWORD", "from the environment")
    assert config.mailboxes[0].secret.reveal() == "from the environment"


def test_an_env_file_anyone_may_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MB_TEST_PASSWORD", raising=False)
    env = tmp_path / "mailbot.env"
    env.write_text("MB_TEST_PASSWORD=x\n", encoding="utf-8")
    env.chmod(0o644)
    config = load_config(write(tmp_path, VALID + '\n[secrets]\nenv_file = "mailbot.env"\n'))
    with pytest.raises(ConfigError, match="can be read by anyone") as info:
        check_secrets(config)
    assert "chmod 600" in (info.value.hint or "")
    env.chmod(0o600)
    env.write_text("OTHER=1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not set in the environment nor in"):
        check_secrets(config)


def test_a_secret_with_a_line_break_cannot_be_written() -> None:
    from mailbot.config_types import env_file_line

    with pytest.raises(ConfigError, match="line break"):
        env_file_line("X", "a\nb")
