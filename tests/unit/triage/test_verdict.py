"""How rules and model are combined into one verdict (with a stub model, no training)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mailbot.message import Signals
from mailbot.triage import Triage, Verdict
from mailbot.triage.calibration import Calibration
from mailbot.triage.mail import Mail
from mailbot.triage.model import TriageModel

pytestmark = pytest.mark.no_database

LABELS = ("change_request", "feedback", "issue")


class StubModel:
    """Returns fixed probabilities and counts how many texts it scored."""

    def __init__(self, probs, rule_scale=0.0, temperature=1.0, labels=LABELS):
        self.labels = labels
        self.calibration = Calibration(temperature=temperature, rule_scale=rule_scale)
        self.version = "stub-1"
        self.prep_spec = {"name": "email"}
        self.probs = np.asarray(probs, dtype=float)
        self.seen: list[str] = []

    def prep_new_text(self, subject, text):
        return f"{subject}\n{text}"

    with_focus = TriageModel.with_focus  # reads the marked sentence with `scores` below

    def scores(self, texts):
        texts = list(texts)
        self.seen.extend(texts)
        return np.tile(self.probs, (len(texts), 1)).reshape(len(texts), len(self.labels))


@pytest.fixture
def make(ruleset):
    def build(probs, threshold=0.6, **kw):
        model = StubModel(probs, **kw)
        return Triage(ruleset, model, review_threshold=threshold), model

    return build


def test_noise_is_none_and_never_runs_the_model(make):
    triage, model = make([0.1, 0.1, 0.8])
    mail = Mail(subject="Re: x", text="URGENT the login is broken!!!", signals=Signals(bounce=True))
    verdict = triage.classify_mails([mail])[0]
    assert verdict.category == "none"
    assert verdict.confidence == 1.0
    assert not verdict.escalate and not verdict.needs_review
    assert verdict.explanation["model"] is None
    assert model.seen == []


def test_auto_reply_subject_is_noise(make):
    triage, model = make([0.1, 0.1, 0.8])
    verdict = triage.classify_text("自动回复：关于月报", "我正在休假，下周一回来。")
    assert verdict.category == "none"
    assert verdict.explanation["decided_by"] == "noise rule noise.subject.auto_reply"
    assert model.seen == []


def test_model_decides_and_is_confident(make):
    triage, model = make([0.05, 0.05, 0.9])
    verdict = triage.classify_text("Export", "The CSV export stops at 1000 rows.")
    assert verdict.category == "issue"
    assert verdict.confidence == pytest.approx(0.9)
    assert not verdict.needs_review
    assert verdict.model_version == "stub-1"
    assert model.seen == ["Export\nThe CSV export stops at 1000 rows."]


def test_low_confidence_needs_review(make):
    triage, _ = make([0.3, 0.3, 0.4], threshold=0.6)
    verdict = triage.classify_text("Hello", "See the attached file.")
    assert verdict.category == "issue"
    assert verdict.needs_review
    assert "below the review threshold" in verdict.review_reasons[0]
    lenient, _ = make([0.3, 0.3, 0.4], threshold=0.35)
    assert not lenient.classify_text("Hello", "See the attached file.").needs_review


def test_strong_rule_disagreement_needs_review(make):
    # The rules say change_request (weight 1.0); the model says feedback with high confidence.
    triage, _ = make([0.02, 0.95, 0.03])
    verdict = triage.classify_text("Banner", "Could you change the banner colour?")
    assert verdict.category == "feedback"
    assert verdict.needs_review
    assert any("rules favour change_request" in r for r in verdict.review_reasons)


def test_rules_agreeing_with_model_do_not_ask_for_review(make):
    triage, _ = make([0.9, 0.05, 0.05])
    verdict = triage.classify_text("Banner", "Could you change the banner colour?")
    assert verdict.category == "change_request"
    assert not verdict.needs_review


def test_rule_votes_are_combined_with_the_model(make):
    triage, _ = make([0.45, 0.1, 0.45], rule_scale=1.0)
    verdict = triage.classify_text("Banner", "Please add a second banner.")
    assert verdict.category == "change_request"
    assert verdict.explanation["rule_votes"] == {"change_request": 1.0}
    assert verdict.explanation["decided_by"] == "model and rules"


def test_escalation_with_reasons(make):
    triage, _ = make([0.05, 0.05, 0.9])
    verdict = triage.classify_text("网站挂了", "客户已经投诉了，请马上处理！！！")
    assert verdict.escalate
    reasons = " ".join(verdict.escalate_reasons)
    assert "escalate.complaint.zh" in reasons
    assert "escalate.urgent.zh" in reasons
    assert "escalate.exclamations" in reasons
    calm, _ = make([0.05, 0.05, 0.9])
    assert not calm.classify_text("Export", "The export stops at 1000 rows.").escalate


def test_classify_text_drops_quoted_history(make):
    triage, model = make([0.9, 0.05, 0.05])
    triage.classify_text(
        "Re: logo", "Please use the new logo.\n\nOn Mon, Bob wrote:\n> is it broken?"
    )
    assert "broken" not in model.seen[0]


def test_to_dict_is_json(make):
    triage, _ = make([0.05, 0.05, 0.9])
    verdict = triage.classify_text("Checkout", "The checkout is not working, urgent.")
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["category"] == "issue"
    assert data["escalate"] is True
    assert data["language"] == "en"
    assert data["explanation"]["model"]["calibrated"]["issue"] == pytest.approx(0.9)
    assert {h["rule"] for h in data["explanation"]["rules"]} >= {"issue.en.broken"}


@pytest.mark.parametrize(
    ("subject", "text", "signals"),
    [
        ("Checkout", "The checkout is not working, urgent.", Signals()),  # model and rules
        ("Re: x", "Out of office", Signals(bounce=True)),  # a noise rule
        ("", "", Signals()),  # nothing to read
    ],
)
def test_a_verdict_names_the_rules_that_fired_and_counts_all_that_ran(
    make, ruleset, subject, text, signals
):
    triage, _ = make([0.05, 0.05, 0.9])
    mail = Mail(subject=subject, text=text, signals=signals)
    verdict = triage.classify_mails([mail])[0]
    report = ruleset.run(mail)  # a noise rule that fires skips the text rules
    explanation = verdict.explanation
    fired = {h["rule"] for h in explanation["rules"]}
    assert fired == {h.rule_id for h in report.hits}
    assert explanation["rules_run"] == len(report.hits) + len(report.misses) > len(fired)
    # The ones that did not fire are not spelled out: that is every other rule that ran.
    stored = json.dumps(verdict.to_dict())
    assert report.misses and not any(f'"{rule_id}"' in stored for rule_id in report.misses)


def test_verdict_is_frozen(make):
    triage, _ = make([0.05, 0.05, 0.9])
    verdict = triage.classify_text("a", "b")
    assert isinstance(verdict, Verdict)
    with pytest.raises(AttributeError):
        verdict.category = "none"  # type: ignore[misc]


def test_review_threshold_is_checked(ruleset):
    with pytest.raises(ValueError, match="review_threshold"):
        Triage(ruleset, StubModel([0.3, 0.3, 0.4]), review_threshold=1.5)


FOUR = ("change_request", "feedback", "issue", "none")


def test_confident_noise_from_the_model_is_none(make):
    triage, _ = make([0.01, 0.01, 0.01, 0.97], labels=FOUR)
    verdict = triage.classify_text("Partnership", "We are a leading outsourcing firm.")
    assert verdict.category == "none"
    assert not verdict.needs_review


def test_unsure_noise_is_taken_as_the_likeliest_client_category_for_review(make):
    triage, _ = make([0.1, 0.3, 0.05, 0.55], labels=FOUR)
    verdict = triage.classify_text("Hello", "Please see the document.")
    assert verdict.category == "feedback"
    assert verdict.confidence == pytest.approx(0.3)
    assert verdict.needs_review
    assert verdict.review_reasons[0].startswith("perhaps not client mail (none 0.55")
    assert len(verdict.review_reasons) == 1
