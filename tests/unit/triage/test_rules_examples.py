"""Every rule fires on each of its `examples` and on none of its `counter_examples`."""

from __future__ import annotations

import pytest

from mailbot.resources import rules_dir
from mailbot.triage.loader import rule_tables
from mailbot.triage.mail import Mail

pytestmark = pytest.mark.no_database


def _cases(key: str) -> list:
    cases = []
    for path in sorted(rules_dir().glob("*.toml")):
        for table in rule_tables(path):
            for n, example in enumerate(table.get(key, [])):
                cases.append(pytest.param(table["id"], example, id=f"{table['id']}[{n}]"))
    return cases


def test_every_rule_has_examples_and_counter_examples():
    for path in sorted(rules_dir().glob("*.toml")):
        for table in rule_tables(path):
            assert table.get("examples"), f"{table['id']} has no examples"
            assert table.get("counter_examples"), f"{table['id']} has no counter_examples"


@pytest.mark.parametrize(("rule_id", "example"), _cases("examples"))
def test_rule_fires_on_example(ruleset, rule_id, example):
    rule = ruleset.get(rule_id)
    mail = Mail.from_example(example)
    hit = rule.check(mail, ruleset.context(mail))
    assert hit is not None, f"{rule_id} did not fire on {example!r}"
    assert hit.rule_id == rule_id
    assert hit.action == rule.action


@pytest.mark.parametrize(("rule_id", "example"), _cases("counter_examples"))
def test_rule_does_not_fire_on_counter_example(ruleset, rule_id, example):
    rule = ruleset.get(rule_id)
    mail = Mail.from_example(example)
    assert rule.check(mail, ruleset.context(mail)) is None, f"{rule_id} fired on {example!r}"


def test_no_phrase_votes_twice_for_one_category() -> None:
    """Every rule fires whatever the mail's language: a phrase listed in two rules of one
    category would count twice."""
    from mailbot.resources import rules_dir
    from mailbot.triage.loader import rule_tables

    seen: dict[tuple[str, str], str] = {}
    twice = []
    for path in sorted(rules_dir().glob("*.toml")):
        for rule in rule_tables(path):
            if rule.get("action") != "vote":
                continue
            for phrase in rule.get("phrases", []):
                key = (rule["category"], phrase.lower())
                if key in seen and seen[key] != rule["id"]:
                    twice.append(f"{phrase!r} in {seen[key]} and {rule['id']}")
                seen.setdefault(key, rule["id"])
    assert not twice, twice
