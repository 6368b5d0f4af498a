"""The public API with the bundled rules and model."""

from __future__ import annotations

import pytest

from mailbot.parse import parse_bytes
from mailbot.triage import Triage

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
