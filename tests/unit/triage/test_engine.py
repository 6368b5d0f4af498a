from __future__ import annotations

import pytest

from mailbot.message import Signals
from mailbot.triage.mail import Mail

pytestmark = pytest.mark.no_database


def test_records_every_hit_and_miss(ruleset):
    report = ruleset.run(Mail(subject="Checkout", text="The checkout is not working!!!"))
    hit_ids = {h.rule_id for h in report.hits}
    assert {"issue.en.broken", "escalate.exclamations"} <= hit_ids
    assert set(report.misses) | hit_ids == {r.id for r in ruleset.rules}
    assert not hit_ids & set(report.misses)
    assert report.votes()["issue"] >= 1.0
    assert not report.noise


def test_noise_stops_before_text_rules(ruleset):
    mail = Mail(
        subject="Re: x", text="urgent: the login is broken", signals=Signals(auto_reply=True)
    )
    report = ruleset.run(mail)
    assert report.noise
    assert all(h.action == "noise" for h in report.hits)
    full = ruleset.run(mail, stop_at_noise=False)
    assert {"escalate.urgent.en", "issue.en.broken"} <= {h.rule_id for h in full.hits}


def test_checks_are_pure(ruleset):
    mail = Mail(subject="能不能加一列毛利", text="谢谢")
    first = ruleset.run(mail)
    second = ruleset.run(mail)
    assert first == second
    assert first.votes() == {"change_request": 1.0, "feedback": 0.8}


def test_text_rules_read_the_start_of_a_long_mail_only(ruleset):
    from mailbot.triage.rules import RULE_TEXT_CHARS

    filler = "Hello team, some context here. " * (RULE_TEXT_CHARS // 30)
    early = ruleset.run(Mail(subject="Login", text="I can't log in today. " + filler))
    late = ruleset.run(Mail(subject="Login", text=filler + " I can't log in today."))
    assert "issue.en.cannot" in {h.rule_id for h in early.hits}
    assert "issue.en.cannot" not in {h.rule_id for h in late.hits}


def test_token_rule_skips_mail_without_its_first_words(ruleset):
    rule = ruleset.get("issue.en.cannot")
    assert rule.first_lowers  # every pattern starts with a known word
    thanks = ruleset.run(Mail(subject="Thanks", text="Great work, thank you!"))
    assert "issue.en.cannot" in thanks.misses
    assert "issue.en.cannot" in {
        h.rule_id for h in ruleset.run(Mail(subject="x", text="We cannot export it.")).hits
    }
