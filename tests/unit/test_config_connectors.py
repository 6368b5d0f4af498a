"""[projects.tracker], [[projects.chat]] and [[chat]]: valid tables load with their
defaults, every mistake is one clear error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import load_config
from mailbot.config_types import DEFAULT_STATUSES_BY_KIND, DEFAULT_TRACKER_STATUSES
from mailbot.errors import ConfigError

pytestmark = pytest.mark.no_database

BASE = """
[mailbox]
kind = "maildir"
path = "Maildir"

[secrets]
env_file = "mailbot.env"

[[projects]]
key = "ACME"
name = "ACME web shop"
pm_language = "zh-Hans"
"""


TRACKER = '[projects.tracker]\nurl = "https://x"\nproject = "p"\n'
REDMINE = TRACKER + 'kind = "redmine"\ntoken_env = "K"\n'


def load(tmp_path: Path, extra: str) -> object:
    env = tmp_path / "mailbot.env"
    env.write_text(
        "ACME_KEY=k1\nACME_HOOK=h1\nDING_URL=https://oapi.dingtalk.com/robot/send?access_token=t\n"
    )
    env.chmod(0o600)
    path = tmp_path / "mailbot.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_config(path)


def test_a_tracker_and_chats_load_with_their_defaults(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[projects.tracker]
kind = "redmine"
url = "https://redmine.agency.example/"
project = "acme"
token_env = "ACME_KEY"
webhook_secret_env = "ACME_HOOK"

[[projects.chat]]
kind = "dingtalk"
url_env = "DING_URL"
secret_file = "/etc/mailbot/ding.secret"

[[chat]]
kind = "slack"
url_command = "echo https://hooks.slack.com/services/T/B/X"
events = ["failure"]
language = "en"
""",
    )
    (project,) = config.projects  # type: ignore[attr-defined]
    tracker = project.tracker
    assert tracker.url == "https://redmine.agency.example"  # no trailing slash
    assert tracker.statuses == DEFAULT_TRACKER_STATUSES
    assert tracker.secret.reveal() == "k1"  # from [secrets] env_file
    assert tracker.webhook_secret.reveal() == "h1"
    assert tracker.poll_interval == 300
    (ding,) = project.chat
    assert ding.name == "ACME:dingtalk:0" and ding.url.reveal().endswith("access_token=t")
    assert ding.events == ("escalation", "review", "failure", "digest") and ding.per_minute == 20
    assert ding.signing is not None and ding.language is None
    (slack,) = config.chat  # type: ignore[attr-defined]
    assert slack.name == "site:slack:0" and slack.events == ("failure",)
    assert slack.url.reveal() == "https://hooks.slack.com/services/T/B/X"


def test_each_tracker_kind_has_its_own_status_names(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[projects.tracker]
kind = "github"
url = "https://api.github.com"
project = "agency/acme"
token_env = "ACME_KEY"
""",
    )
    assert config.projects[0].tracker.statuses == DEFAULT_STATUSES_BY_KIND["github"]  # type: ignore[attr-defined]
    assert config.projects[0].tracker.mailbot_statuses("closed") == ("resolved", "closed")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            TRACKER + 'kind = "trello"\ntoken_env = "K"',
            "projects[0].tracker.kind 'trello' is not one of redmine, jira, github, gitlab",
        ),
        (
            '[projects.tracker]\nkind = "redmine"\nproject = "p"\ntoken_env = "K"',
            "projects[0].tracker.url is required",
        ),
        (
            REDMINE.replace("https://x", "redmine.example"),
            "must start with https://",
        ),
        (
            TRACKER + 'kind = "redmine"',
            "set exactly one of token_env, token_file or token_command",
        ),
        (
            REDMINE + "colour = 1",
            "unknown key 'projects[0].tracker.colour'",
        ),
        (
            REDMINE + 'statuses = { resolved = "" }',
            "projects[0].tracker.statuses.resolved must be the tracker's status name",
        ),
        ('[[projects.chat]]\nkind = "icq"\nurl_env = "U"', "is not one of slack, teams"),
        (
            '[[projects.chat]]\nkind = "slack"',
            "set exactly one of url_env, url_file or url_command",
        ),
        (
            '[[projects.chat]]\nkind = "slack"\nurl_env = "U"\nevents = ["lunch"]',
            "projects[0].chat[0].events 'lunch' is not one of escalation, review, failure, digest",
        ),
        (
            '[[projects.chat]]\nkind = "slack"\nurl_env = "U"\nper_minute = 0',
            "per_minute and timeout must be positive",
        ),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, table)
    assert message in str(err.value)
