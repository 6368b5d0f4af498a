"""Broken rule files stop loading with a RulesError naming the file and the line."""

from __future__ import annotations

import re
import shutil

import pytest

from mailbot.errors import RulesError
from mailbot.resources import rules_dir
from mailbot.triage.engine import RuleSet
from mailbot.triage.mail import Mail

pytestmark = pytest.mark.no_database

GOOD = """\
version = 1

[[rule]]
id = "issue.custom.printer"
description = "Printer trouble."
kind = "phrase"
action = "vote"
category = "issue"
weight = 0.5
phrases = ["printer jam"]
examples = ["There is a printer jam."]
counter_examples = ["Print the report."]
"""


def _load_one(tmp_path, text, name="custom.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return RuleSet.load(tmp_path), path


def _error(tmp_path, text, name="custom.toml") -> tuple[str, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        RuleSet.load(tmp_path)
    return str(info.value), str(path)


def _line(message: str, path: str) -> int:
    found = re.search(re.escape(path) + r":(\d+):", message)
    assert found, f"no file:line in {message!r}"
    return int(found.group(1))


def test_good_file_loads_and_a_new_phrase_needs_no_code(tmp_path):
    rules, _ = _load_one(tmp_path, GOOD)
    rule = rules.get("issue.custom.printer")
    mail = Mail(subject="Office", text="Another PRINTER JAM today")
    report = rules.run(mail)
    assert [h.rule_id for h in report.hits] == ["issue.custom.printer"]
    assert report.votes() == {"issue": 0.5}
    assert rule.description == "Printer trouble."


def test_bad_toml_names_file_and_line(tmp_path):
    text = GOOD.replace("weight = 0.5", "weight = = 0.5")
    message, path = _error(tmp_path, text)
    assert _line(message, path) == 9
    assert "not valid TOML" in message


def test_unknown_key_names_its_line(tmp_path):
    text = GOOD.replace("weight = 0.5", 'weight = 0.5\nphrase = ["typo"]')
    message, path = _error(tmp_path, text)
    assert _line(message, path) == 10
    assert "unknown key 'phrase'" in message


def test_duplicate_id_across_files(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    message, path = _error(tmp_path, GOOD, name="b.toml")
    assert _line(message, path) == 4
    assert "duplicate rule id 'issue.custom.printer'" in message
    assert "a.toml" in message


def test_bad_regex(tmp_path):
    text = """\
[[rule]]
id = "noise.custom"
description = "x"
kind = "subject"
action = "noise"
patterns = ['(unclosed']
"""
    message, path = _error(tmp_path, text)
    assert _line(message, path) == 6
    assert "bad pattern" in message


def test_bad_token_pattern(tmp_path):
    text = """\
[[rule]]
id = "issue.custom.token"
description = "x"
kind = "token"
action = "vote"
category = "issue"

patterns = [[{ LOWERR = "crash" }]]
"""
    message, path = _error(tmp_path, text)
    assert _line(message, path) == 8
    assert "bad pattern" in message


def test_unknown_kind_action_and_missing_category(tmp_path):
    message, path = _error(tmp_path, GOOD.replace('kind = "phrase"', 'kind = "phrases"'))
    assert "unknown kind 'phrases'" in message and _line(message, path) == 6
    message, path = _error(tmp_path, GOOD.replace('action = "vote"', 'action = "classify"'))
    assert "unknown action 'classify'" in message and _line(message, path) == 7
    message, path = _error(tmp_path, GOOD.replace('category = "issue"\n', ""))
    assert "needs category" in message


def test_a_focus_rule_must_find_its_place_in_the_text(tmp_path):
    focus = GOOD.replace('action = "vote"\ncategory = "issue"', 'action = "focus"')
    ruleset, _ = _load_one(tmp_path, focus)
    report = ruleset.run(Mail(subject="Two things", text="Add a tab.\nA printer jam again."))
    assert report.focus == "A printer jam again." and report.focus_weight == 0.5
    as_regex = focus.replace('kind = "phrase"', 'kind = "regex"').replace("phrases", "patterns")
    message, _ = _error(tmp_path, as_regex)
    assert "'focus' rule marks a place" in message and "'phrase' or 'token'" in message


def test_second_rule_error_points_at_second_rule(tmp_path):
    second = GOOD.split("\n", 2)[2].replace("issue.custom.printer", "issue.custom.other")
    second = second.replace("phrases = ", "phrasez = ")
    message, path = _error(tmp_path, GOOD + "\n" + second)
    assert _line(message, path) == 21
    assert "unknown key 'phrasez'" in message


def test_bundled_rules_load_and_a_broken_copy_fails(tmp_path):
    rules = RuleSet.load(rules_dir())
    assert len(rules.rules) >= 20
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir(), copy)
    with (copy / "noise.toml").open("a", encoding="utf-8") as handle:
        handle.write(GOOD.split("\n", 2)[2].replace("issue.custom.printer", "noise.signal.bulk"))
    with pytest.raises(RulesError, match=r"noise\.toml:\d+: .*noise\.signal\.bulk"):
        RuleSet.load(copy)


def test_empty_or_missing_directory(tmp_path):
    with pytest.raises(RulesError, match=r"no \*\.toml"):
        RuleSet.load(tmp_path)
    with pytest.raises(RulesError, match="no such rules directory"):
        RuleSet.load(tmp_path / "missing")
