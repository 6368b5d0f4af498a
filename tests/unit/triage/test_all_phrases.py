"""The rule set matches all its phrase rules at once: the same hits, misses, evidence and
focus as each rule matching on its own."""

from __future__ import annotations

import dataclasses

import pytest

from mailbot.triage.data import dev_dir, read_records
from mailbot.triage.engine import RuleSet
from mailbot.triage.mail import Mail
from mailbot.triage.rules import AllPhrases, Context, PhraseRule, make_phrase_matcher
from mailbot.triage.tokenizer import blank_nlp

pytestmark = pytest.mark.no_database


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load()


def test_every_bundled_phrase_rule_is_matched_at_once(rules: RuleSet) -> None:
    phrase_rules = [r for r in rules.rules if isinstance(r, PhraseRule)]
    assert len(phrase_rules) >= 20
    context = rules.context(Mail(subject="", text="x"))
    assert context.all_phrases is not None
    assert all(context.all_phrases.covers(rule) for rule in phrase_rules)


def test_reports_are_those_of_each_rule_on_its_own_over_the_dev_set(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    mails = [record.mail() for record in read_records(dev_dir())]
    assert len(mails) > 1000
    at_once = [rules.run(mail, stop_at_noise=False) for mail in mails]
    # Each rule with its own matcher, as before the rule set matched them together.
    of = Context.of
    monkeypatch.setattr(Context, "of", lambda doc, text, all_phrases=None: of(doc, text))
    one_by_one = [rules.run(mail, stop_at_noise=False) for mail in mails]
    assert at_once == one_by_one
    fired = {hit.rule_id for report in at_once for hit in report.hits}
    assert len(fired & {r.id for r in rules.rules if isinstance(r, PhraseRule)}) >= 15
    assert any(report.focus for report in at_once)  # focus and aside read the same matches


def test_a_rule_the_set_does_not_hold_matches_on_its_own(rules: RuleSet) -> None:
    held = next(r for r in rules.rules if isinstance(r, PhraseRule))
    phrases = ["purple elephant"]
    matcher = make_phrase_matcher(rules.nlp, held.id, phrases, "LOWER")
    other = dataclasses.replace(held, phrases=tuple(phrases), matcher=matcher)  # same id
    context = rules.context(Mail(subject="", text="A purple elephant broke the build."))
    assert context.all_phrases is not None and not context.all_phrases.covers(other)
    assert other.where(context) == (1, 3)
    assert held.where(context) is None


def test_overlapping_phrases_of_two_rules_each_find_their_first_match() -> None:
    nlp = blank_nlp()
    short = PhraseRule("short", "", "vote", 1.0, "issue", phrases=("not working",))
    long = PhraseRule("long", "", "vote", 1.0, "issue", phrases=("still not working", "broken"))
    phrases = AllPhrases(nlp, [short, long])
    doc = nlp.make_doc("It is broken and still not working, really not working.")
    found = phrases.first_matches(doc)
    assert found == {"long": (2, 3), "short": (5, 7)}  # "still not working" is 4..7
