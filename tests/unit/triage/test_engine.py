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


@pytest.mark.parametrize(
    ("text", "focus"),
    [
        (
            "Could you move the logo?\nAnd the important one: nobody can log in since Monday.",
            "And the important one: nobody can log in since Monday.",
        ),
        (
            "Please add a filter. The urgent thing is this. The export is empty.",
            "The urgent thing is this. The export is empty.",
        ),
        (
            "Can you change the banner? We want offline mode. This is now top priority.",
            "We want offline mode. This is now top priority.",
        ),
        (
            "首页的横幅想换个颜色。最重要的是，客户都登录不了。谢谢。",
            "最重要的是，客户都登录不了。",
        ),
    ],
)
def test_focus_marks_the_sentence_of_the_main_ask(ruleset, text, focus):
    report = ruleset.run(Mail(subject="Two things", text=text))
    assert report.focus == focus
    assert 0 < report.focus_weight <= 1
    assert any(h.action == "focus" for h in report.hits)
    assert not report.votes().keys() - {"issue", "change_request", "feedback", "none"}


def test_no_marker_no_focus(ruleset):
    report = ruleset.run(Mail(subject="Logo", text="Could you move the logo? Thanks."))
    assert report.focus == "" and report.focus_weight == 0


@pytest.mark.parametrize(
    ("text", "left"),
    [
        (
            "Approved, the sign-off is attached. Could we also add a filter? No rush.",
            "Approved, the sign-off is attached.",
        ),
        (
            "验收单已经签了。以后能不能加一个按医生筛选？不急，放到下期再说。\n\n王建国",
            "验收单已经签了。 \n\n王建国",
        ),
        (
            "The report is fine. A dark mode would be nice to have for the next phase, not now.\n"
            "Thanks",
            "The report is fine. \nThanks",
        ),
    ],
)
def test_aside_leaves_the_mail_without_its_secondary_ask(ruleset, text, left):
    report = ruleset.run(Mail(subject="", text=text))
    assert report.focus == left
    assert 0 < report.focus_weight <= 1
