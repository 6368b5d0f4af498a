"""The chains file orders the decisions; a broken one stops start-up with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import Config
from mailbot.errors import ConfigError
from mailbot.message import Address
from mailbot.parse import parse_bytes
from mailbot.pipeline.answer import ACK_CHECKS, ack_checks
from mailbot.pipeline.chains import Outcome, load_chains, run_chain
from mailbot.pipeline.hooks import HOOKS, default_hooks
from mailbot.pipeline.route import ROUTE_STEPS, route_steps, route_to_project
from tests.unit.pipeline.test_route import PROJECTS, FakeLookup

pytestmark = pytest.mark.no_database


def write(tmp_path: Path, route: str, hooks: str = '["sla"]', checks: str = '["enabled"]') -> Path:
    path = tmp_path / "chains.toml"
    path.write_text(
        f"version = 1\n[route]\nsteps = {route}\n[file]\nhooks = {hooks}\n"
        f"[answer]\nchecks = {checks}\n"
    )
    return path


def test_the_engine_stops_at_the_first_decision_and_records_every_link() -> None:
    decided, record = run_chain(
        [
            ("a", lambda: Outcome(None, "not mine")),
            ("b", lambda: Outcome("B", "mine")),
            ("c", lambda: Outcome("C", "never asked")),
        ]
    )
    assert decided == "B"
    assert [(link.name, link.matched, link.reason) for link in record] == [
        ("a", False, "not mine"),
        ("b", True, "mine"),
    ]


def test_the_shipped_file_names_every_step_and_hook() -> None:
    chains = load_chains()
    assert set(chains["route"]) == set(ROUTE_STEPS)
    assert set(chains["file"]) == set(HOOKS)
    assert set(chains["answer"]) == set(ACK_CHECKS)


def test_the_order_comes_from_the_file(tmp_path: Path) -> None:
    raw = (
        b"From: anna@acme.example\r\nTo: team+acme@agency.example\r\nSubject: x\r\n"
        b"Message-ID: <a@b>\r\n\r\nHello\r\n"
    )
    message = parse_bytes(raw)
    steps = route_steps(write(tmp_path, '["domain", "alias"]'))
    route = route_to_project(message, PROJECTS, FakeLookup(), steps)
    assert route.step == "domain"
    assert [line.split(":")[0] for line in route.explanation] == ["domain"]
    assert message.from_ == Address("", "anna@acme.example")


@pytest.mark.parametrize(
    ("route", "hooks", "error"),
    [
        ('["thread", "by_horoscope"]', '["sla"]', "unknown link 'by_horoscope'"),
        ('["thread", "thread"]', '["sla"]', "names 'thread' twice"),
        ('"thread"', '["sla"]', "must be a list of names"),
        ('["thread"]', '["sla", "fortune"]', "unknown link 'fortune'"),
        ('["thread"]', '["sla"]', "unknown link 'astrology'"),
    ],
)
def test_a_broken_file_is_explained(tmp_path: Path, route: str, hooks: str, error: str) -> None:
    path = write(tmp_path, route, hooks, '["enabled", "astrology"]')
    with pytest.raises(ConfigError, match=error):
        route_steps(path)
        default_hooks(Config(mailboxes=()), path)
        ack_checks(path)
