"""The public API with the bundled rules and model."""

from __future__ import annotations

import pytest

from mailbot.parse import parse_bytes
from mailbot.triage import Triage
from mailbot.triage.mail import Mail

from .conftest import eml

pytestmark = pytest.mark.no_database


def test_load_names_the_model(triage):
    assert triage.model_version.startswith("mailbot_triage-")
    assert set(triage.model.labels) == {"issue", "change_request", "feedback", "none"}


def test_classify_message_and_many_agree(triage):
    messages = [
        parse_bytes(eml("Login broken", "I cannot log in since this morning, error 500.")),
        parse_bytes(eml("新版首页", "新版首页很漂亮，老板很满意，辛苦了！")),
        parse_bytes(eml("報表欄位", "月報能否增加一個毛利率欄位？謝謝")),
        parse_bytes(eml("Out of Office: back Monday", "I am away.")),
    ]
    one_by_one = [triage.classify(m) for m in messages]
    batched = triage.classify_many(messages)
    assert [v.to_dict() for v in one_by_one] == [v.to_dict() for v in batched]
    assert [v.category for v in batched] == ["issue", "feedback", "change_request", "none"]
    assert [v.language for v in batched] == ["en", "zh-Hans", "zh-Hant", "en"]


def test_classify_uses_new_text_only(triage):
    body = (
        "Thanks, the new logo looks great, well done!\n\n"
        "On Mon, 23 Nov 2026, Bob wrote:\n> The site is down, error 500, nothing works.\n"
        "> Please fix it, the checkout crashes.\n"
    )
    verdict = triage.classify(parse_bytes(eml("Re: logo", body)))
    assert verdict.category == "feedback"


def test_calendar_only_mail_is_noise(triage):
    verdict = triage.classify(
        parse_bytes(
            eml(
                "Invitation: kickoff",
                "BEGIN:VCALENDAR\nEND:VCALENDAR",
                content_type="text/calendar",
            )
        )
    )
    assert verdict.category == "none"


def test_review_threshold_is_used(triage):
    strict = Triage(triage.rules, triage.model, review_threshold=1.0)
    assert strict.classify_text("Export", "The export stops at 1000 rows.").needs_review


def test_shared_tokens_give_the_same_verdicts(triage):
    from mailbot.triage.engine import RuleSet

    assert triage.rules.nlp is triage.model.nlp  # the bundled model shares one Doc with the rules
    separate = Triage(RuleSet.load(), triage.model)
    assert separate.rules.nlp is not separate.model.nlp
    texts = [
        ("Re: Homepage", "Approved. Go ahead."),
        ("後台又登不上了", "輸入密碼之後一直轉圈，麻煩幫忙看一下！！！"),
        ("Tmall 店铺 integration", "Could you also sync the product data to our Tmall 店铺?"),
    ]
    for subject, text in texts:
        assert (
            triage.classify_text(subject, text).to_dict()
            == separate.classify_text(subject, text).to_dict()
        )


def test_the_marked_sentence_is_blended_into_the_models_reading(triage):
    from types import SimpleNamespace

    import numpy as np

    model = triage.model
    texts = ["Could you add a dark mode? Also nobody can log in since Monday.", "Thanks!"]
    raw = model.scores(texts)
    focus = model.scores(["Nobody can log in since Monday."])[0]
    marked = SimpleNamespace(focus="Nobody can log in since Monday.", focus_weight=1.0)
    plain = SimpleNamespace(focus="", focus_weight=0.0)
    alone = model.with_focus(raw, [marked, plain])
    assert np.allclose(alone[0], focus) and np.allclose(alone[1], raw[1])
    half = model.with_focus(raw, [SimpleNamespace(focus=marked.focus, focus_weight=0.5), plain])
    mixed = np.sqrt(raw[0] * focus)
    assert np.allclose(half[0], mixed / mixed.sum())
    assert np.isclose(half[0].sum(), 1.0)


def test_a_mail_whose_sign_off_is_taken_out_later_reads_the_same(triage):
    # The stages leave the sign-off in a mail they hand to triage ahead; triage takes it out.
    signed = (
        "The export to Excel fails since Monday, error 500.\n\nBest regards,\nAnna Berg\n"
        "Head of Operations | Nordlys AS\nT +47 22 00 00 00\n\n"
        "CONFIDENTIAL: this message is for the named recipient only."
    )
    messages = [
        parse_bytes(eml("Export broken", signed)),
        parse_bytes(
            eml("报表", "报表的问题已经好了。\n\n谢谢\n王磊\n上海某某科技 信息部\n电话：021-00000")
        ),
    ]
    now = [Mail.from_message(m) for m in messages]
    later = [Mail.from_message(m, signoff_later=True) for m in messages]
    assert all(m.signoff_pending for m in later) and not any(m.signoff_pending for m in now)
    assert "Anna Berg" in later[0].text and "Anna Berg" not in now[0].text  # left in for now
    assert [m.finished() for m in later] == now
    assert [m.finished() for m in now] == now  # nothing left to take out
    assert [v.to_dict() for v in triage.classify_mails(later)] == [
        v.to_dict() for v in triage.classify_mails(now)
    ]
    assert triage.explain_rules(later[0]) == triage.explain_rules(now[0])
