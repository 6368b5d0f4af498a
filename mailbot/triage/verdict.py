"""One verdict per mail, and how rules and model are combined into it.

- a `noise` rule hit decides alone: category "none", the model is not consulted;
- otherwise the model's probabilities and the rules' category votes are combined and calibrated
  (calibration.py): z = log p_model + rule_weight * votes, confidence = softmax(z / T);
- a mail is `none` only when that is at least NONE_THRESHOLD sure, otherwise its most likely
  client category is taken and it goes to review;
- `needs_review` when the confidence is below the review threshold, when the rules strongly
  favour another category than the verdict, or when a `review` rule fired;
- `escalate` when an `escalate` rule fired, with the rules' reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailbot.triage.report import RuleReport

if TYPE_CHECKING:  # numpy is imported where verdicts are made, not where they are read
    import numpy as np

    from mailbot.triage.calibration import Calibration

CATEGORIES = ("issue", "change_request", "feedback", "none")
DEFAULT_REVIEW_THRESHOLD = 0.6
# The rules "strongly disagree" when their favourite category has at least this much weight ...
STRONG_RULE_VOTE = 1.0
# ... and leads the runner-up by at least this much, yet the verdict is another category.
STRONG_RULE_MARGIN = 0.5
# A mail is called noise (and gets no answer) only when that is this sure; below it, the most
# likely client category is taken and a person looks at it. Dropping a client's mail as noise
# costs far more than answering a spam once. Fixed, not fitted: a threshold fitted on the dev
# set (0.8, just above the surest none a client mail got there) called a client mail noise on
# the blind set (BENCHMARKS.md).
NONE_THRESHOLD = 0.9


@dataclass(frozen=True)
class Verdict:
    category: str
    confidence: float
    needs_review: bool
    escalate: bool
    escalate_reasons: tuple[str, ...]
    language: str
    explanation: dict[str, Any]
    model_version: str
    review_reasons: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "confidence": round(self.confidence, 4),
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "escalate": self.escalate,
            "escalate_reasons": list(self.escalate_reasons),
            "language": self.language,
            "model_version": self.model_version,
            "explanation": self.explanation,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """The verdict as stored with its message (`to_dict`), for the later stages."""
        return cls(
            category=data["category"],
            confidence=float(data["confidence"]),
            needs_review=bool(data["needs_review"]),
            escalate=bool(data["escalate"]),
            escalate_reasons=tuple(data.get("escalate_reasons", ())),
            language=data["language"],
            explanation=dict(data.get("explanation") or {}),
            model_version=data.get("model_version", ""),
            review_reasons=tuple(data.get("review_reasons", ())),
        )


def likeliest_client_category(scores: dict[str, float]) -> tuple[str, float]:
    """The client category (not none) with the highest score, and that score."""
    client = {label: p for label, p in scores.items() if label != "none"}
    if not client:
        return "feedback", 0.0
    category = max(client, key=client.__getitem__)
    return category, client[category]


def _reason(hit: Any) -> str:
    return f"{hit.rule_id}: {hit.description} [{hit.evidence}]"


def _rules_favourite(votes: dict[str, float]) -> tuple[str | None, float, float]:
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked:
        return None, 0.0, 0.0
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][0], ranked[0][1], second


def _rules(report: RuleReport) -> dict[str, Any]:
    """The rules' part of an explanation: those that fired, and how many ran.

    Not the names of those that did not fire: that is every other rule of `rules/`, and
    the list was most of a stored verdict, written again with every change of its row.
    """
    return {
        "rules": [h.to_dict() for h in report.hits],
        "rules_run": len(report.hits) + len(report.misses),
    }


def noise_verdict(report: RuleReport, language: str, model_version: str) -> Verdict:
    hits = report.by_action("noise")
    return Verdict(
        category="none",
        confidence=1.0,
        needs_review=False,
        escalate=False,
        escalate_reasons=(),
        language=language,
        explanation={
            "decided_by": f"noise rule {hits[0].rule_id}",
            **_rules(report),
            "model": None,
            "combination": "a noise rule fired: category none, the model was not run",
        },
        model_version=model_version,
    )


def empty_verdict(report: RuleReport, language: str, model_version: str) -> Verdict:
    """A mail with nothing to read (no subject, no text: a photo sent from a phone)."""
    return Verdict(
        category="feedback",
        confidence=0.0,
        needs_review=True,
        escalate=False,
        escalate_reasons=(),
        language=language,
        explanation={
            "decided_by": "nothing to read",
            **_rules(report),
            "model": None,
            "combination": "no subject and no text: filed as feedback for a person to read",
        },
        model_version=model_version,
        review_reasons=("the mail has no subject and no text to classify",),
    )


def combine(
    report: RuleReport,
    raw: np.ndarray,
    labels: Sequence[str],
    calibration: Calibration,
    *,
    language: str,
    model_version: str,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> Verdict:
    """The verdict for one mail from its rule report and the model's raw probabilities."""
    if report.noise:
        return noise_verdict(report, language, model_version)
    import numpy as np

    votes = report.votes()
    vote_row = np.asarray([[votes.get(label, 0.0) for label in labels]])
    calibrated = calibration.apply(raw.reshape(1, -1), vote_row)[0]
    best = int(np.argmax(calibrated))
    category = labels[best]
    confidence = float(calibrated[best])

    review: list[str] = []
    if category == "none" and confidence < NONE_THRESHOLD and len(labels) > 1:
        category, confidence = likeliest_client_category(
            dict(zip(labels, map(float, calibrated), strict=True))
        )
        review.append(
            f"perhaps not client mail (none {calibrated[best]:.2f} below {NONE_THRESHOLD:.2f}):"
            f" taken as {category}"
        )
    if confidence < review_threshold and not review:
        review.append(
            f"confidence {confidence:.2f} below the review threshold {review_threshold:.2f}"
        )
    favourite, top, second = _rules_favourite(votes)
    if (
        favourite is not None
        and favourite != category
        and top >= STRONG_RULE_VOTE
        and top - second >= STRONG_RULE_MARGIN
    ):
        review.append(f"rules favour {favourite} (weight {top:g}) but the verdict is {category}")
    review.extend(_reason(h) for h in report.by_action("review"))
    escalations = report.by_action("escalate")
    return Verdict(
        category=category,
        confidence=confidence,
        needs_review=bool(review),
        escalate=bool(escalations),
        escalate_reasons=tuple(_reason(h) for h in escalations),
        language=language,
        explanation={
            "decided_by": "model and rules" if votes and calibration.rule_scale else "model",
            **_rules(report),
            "rule_votes": votes,
            "focus": (
                {"sentence": report.focus[:200], "weight": report.focus_weight}
                if report.focus
                else None
            ),
            "model": {
                "raw": {label: round(float(p), 4) for label, p in zip(labels, raw, strict=True)},
                "calibrated": {
                    label: round(float(p), 4) for label, p in zip(labels, calibrated, strict=True)
                },
            },
            "combination": (
                f"softmax((log p_model + {calibration.rule_scale:g} * rule votes)"
                f" / T={calibration.temperature:g})"
            ),
        },
        model_version=model_version,
        review_reasons=tuple(review),
    )
