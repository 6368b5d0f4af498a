"""Change control over email: the PM's impact assessment, the client's approval, PM notices.

A change request moves submitted → under_review when the PM assesses its impact; mailbot
then asks the client, in their thread and language, to approve or reject it. The client's
answer is read by `interpret_reply` (phrases in rules/approval/phrases.toml) and applied by
the `change_control` filing hook. Nothing is ever guessed: an unclear answer goes to the PM.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.items.lifecycle import change_status
from mailbot.message import Address
from mailbot.outgoing.compose import clean_header_text
from mailbot.outgoing.send import send_templated
from mailbot.resources import rules_dir
from mailbot.storage.models import Event, Item, OutboxMail, StoredMessage

AWAITING_DECISION = ("submitted", "under_review")  # change requests the client may still decide
APPROVAL_KIND = "approval"  # outbox kind of the mail asking the client to decide
MAX_FIELD_CHARS = 1000  # per assessment field: a summary, not a specification
MAX_QUOTE_CHARS = 300  # of the client's words quoted as evidence


class ChangeControlError(MailbotError):
    """A change-control step that cannot be done to this item (wrong category, state…)."""

    code = "MB710"


# --- reading the client's answer -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # "approve", "reject" or "ambiguous"
    evidence: str  # the client's words that decided it, quoted; or why it is unclear


@dataclass(frozen=True, slots=True)
class Phrases:
    approve: tuple[str, ...]
    reject: tuple[str, ...]
    negation_words: frozenset[str]
    negation_chinese: tuple[str, ...]
    negation_window: int
    question_marks: tuple[str, ...]
    question_starts: tuple[str, ...]
    question_chinese: tuple[str, ...]
    hedges: tuple[str, ...]


def phrases_path() -> Path:
    return rules_dir() / "approval" / "phrases.toml"


@cache
def load_phrases(path: Path | None = None) -> Phrases:
    """The approval vocabulary; a broken file is an error naming the file and what to fix."""
    path = path or phrases_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        norm = lambda values: tuple(_normalize(v) for v in values)  # noqa: E731
        return Phrases(
            approve=norm(data["approve"]["phrases"]),
            reject=norm(data["reject"]["phrases"]),
            negation_words=frozenset(norm(data["negation"]["words"])),
            negation_chinese=norm(data["negation"]["chinese"]),
            negation_window=int(data["negation"]["window"]),
            question_marks=norm(data["question"]["marks"]),
            question_starts=norm(data["question"]["starts"]),
            question_chinese=norm(data["question"]["chinese"]),
            hedges=norm(data["hedge"]["phrases"]),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as err:
        raise ChangeControlError(
            f"{path}: cannot read the approval phrases: {err!r}",
            "fix the file (it needs [approve], [reject], [negation], [question] and [hedge]); "
            "the shipped version is in rules/approval/phrases.toml",
        ) from None


_SENTENCE = re.compile(r"[^.!?。！？\n]*(?:[.!?。！？]+|\n|$)")
_CLAUSE = re.compile(r"[,;:，；：、]")
_LATIN_WORD = re.compile(r"[a-z0-9']+")


def _normalize(text: str) -> str:
    # NFKC folds full-width "？，" to "?,"; curly apostrophes become straight for "don't".
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"[ \t]+", " ", text.lower())


def _is_latin(phrase: str) -> bool:
    return all(ord(c) < 0x2E80 for c in phrase)


def _find(phrase: str, text: str) -> list[tuple[int, int]]:
    """Spans of `phrase` in `text`: whole words for Latin phrases, any run for Chinese."""
    if _is_latin(phrase):
        pattern = r"(?<![a-z0-9'])" + re.escape(phrase) + r"(?![a-z0-9'])"
    else:
        pattern = re.escape(phrase)
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _negated(sentence: str, start: int, approvals: list[tuple[int, int]], p: Phrases) -> bool:
    """Is the approval at `start` negated earlier in its clause ("we can't go ahead")?"""
    clause_start = max((m.end() for m in _CLAUSE.finditer(sentence, 0, start)), default=0)
    # Words inside approval phrases ("no" in "no problem", "没" in "没问题") do not negate.
    before = _mask(sentence, approvals)[clause_start:start]
    if any(w in p.negation_words or w.endswith("n't") for w in _LATIN_WORD.findall(before)):
        return True
    near = before[-p.negation_window :] if p.negation_window else ""
    return any(neg in near for neg in p.negation_chinese)


def _is_question(sentence: str, p: Phrases) -> bool:
    stripped = sentence.strip()
    return (
        any(stripped.endswith(mark) for mark in p.question_marks)
        or any(stripped.startswith(start + " ") for start in p.question_starts)
        or any(marker in stripped for marker in p.question_chinese)
    )


def _quote(text: str) -> str:
    text = clean_header_text(text)
    return text if len(text) <= MAX_QUOTE_CHARS else text[: MAX_QUOTE_CHARS - 1] + "…"


def interpret_reply(text: str, phrases: Phrases | None = None) -> Decision:
    """Read a client's answer to an approval request: approve, reject, or ambiguous.

    `text` is what the client wrote now (`Message.new_text`, quoted history removed).
    Only one clear kind of answer, with no question, negated approval, condition or
    doubt anywhere, counts as a decision; everything else is ambiguous.
    """
    p = phrases or load_phrases()
    approve: list[str] = []
    reject: list[str] = []
    doubts: list[str] = []
    for match in _SENTENCE.finditer(text or ""):
        original = match.group(0).strip()
        if not original:
            continue
        sentence = _normalize(original)
        rejections = [s for phrase in p.reject for s in _find(phrase, sentence)]
        rest = _mask(sentence, rejections)  # "不同意" and "not approved" hide what they contain
        approvals = [s for phrase in p.approve for s in _find(phrase, rest)]
        quoted = f'"{_quote(original)}"'
        # Doubt anywhere counts: "Approved. But let me check with finance first."
        hedges = sorted({h for h in p.hedges if _find(h, sentence)})
        if hedges:
            doubts.append(f"doubt or a condition ({', '.join(hedges)}): {quoted}")
        if not rejections and not approvals:
            continue
        if _is_question(sentence, p):
            doubts.append(f"a question, not a decision: {quoted}")
        elif any(_negated(rest, start, approvals, p) for start, _ in approvals):
            doubts.append(f"an approval word with a negation: {quoted}")
        else:
            (reject if rejections else approve).append(quoted)
            if rejections and approvals:
                doubts.append(f"approval and rejection in one sentence: {quoted}")
    if approve and reject:
        doubts.append(f"both an approval {approve[0]} and a rejection {reject[0]}")
    if doubts:
        return Decision("ambiguous", "; ".join(doubts))
    if approve:
        return Decision("approve", ", ".join(approve))
    if reject:
        return Decision("reject", ", ".join(reject))
    return Decision("ambiguous", "no approval or rejection in the answer")


# --- the PM's side: assessment and the request for approval ----------------------------


def find_item(session: Session, ref: str) -> Item:
    item = session.scalars(select(Item).where(Item.ref == ref.strip().upper())).first()
    if item is None:
        raise ChangeControlError(
            f"there is no item {ref!r}", "check the reference with `mailbot items`"
        )
    return item


def _require_open_change_request(item: Item, step: str) -> None:
    if item.category != "change_request":
        raise ChangeControlError(
            f"{item.ref} is a {item.category}, not a change request: it has no {step}",
            "only change requests are assessed and approved; reclassify the item if it is one",
        )
    if item.status not in AWAITING_DECISION:
        raise ChangeControlError(
            f"{item.ref} is already {item.status}: the client's decision is recorded",
            "a new change needs a new change request",
        )


def _field(name: str, value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > MAX_FIELD_CHARS:
        raise ChangeControlError(
            f"--{name} is {len(value)} characters; at most {MAX_FIELD_CHARS} fit in the mail",
            "summarise it; put details in a document and mention it in --notes",
        )
    return value


def assess(
    session: Session,
    item: Item,
    *,
    effort: str | None,
    schedule: str | None,
    cost: str | None,
    notes: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> Event:
    """Record the impact of a change request and put it under review; returns the audit event.

    A second assessment replaces the first; an approval requested for the earlier figures
    no longer counts, so the client must be asked again.
    """
    _require_open_change_request(item, "impact assessment")
    impact = {
        "effort": _field("effort", effort),
        "schedule": _field("schedule", schedule),
        "cost": _field("cost", cost),
        "notes": _field("notes", notes),
    }
    if not (impact["effort"] or impact["schedule"] or impact["cost"]):
        raise ChangeControlError(
            f"an assessment of {item.ref} needs the effort, the schedule or the cost",
            'give at least one, e.g. --effort "3 days" --schedule "+1 week" --cost "EUR 2,400"',
        )
    moment = now or datetime.now(UTC)
    previous = item.impact
    item.impact = {**impact, "assessed_by": actor, "assessed_at": moment.isoformat()}
    if item.status == "submitted":
        session.add(change_status(item, "under_review", actor=actor, reason="impact assessed"))
    detail: dict[str, Any] = {"impact": impact}
    if previous:
        detail["replaces"] = previous
    if item.approval_requested_at is not None:
        item.approval_requested_at = None  # the client agreed to other figures, if anything
        detail["note"] = "approval was requested for the earlier assessment: request it again"
    event = Event(item_id=item.id, kind="impact_assessed", actor=actor, detail=detail)
    session.add(event)
    return event


def first_client_message(session: Session, item: Item) -> StoredMessage:
    """The client's first stored mail of the item: the thread the approval request answers."""
    rows = session.scalars(
        select(StoredMessage).where(StoredMessage.item_id == item.id).order_by(StoredMessage.id)
    ).all()
    row = next((r for r in rows if r.from_email == item.client_email), rows[0] if rows else None)
    if row is None:
        raise ChangeControlError(
            f"{item.ref} has no stored client mail to answer",
            "write to the client by hand; mailbot can only reply in an existing thread",
        )
    return row


def request_approval(
    session: Session, config: Config, item: Item, *, actor: str, now: datetime
) -> OutboxMail | None:
    """Queue the mail that asks the client to approve or reject the assessed change.

    Returns the outbox row, or None when this very request (same assessment) was queued
    before. The client's answer is read by the change_control filing hook.
    """
    _require_open_change_request(item, "approval")
    if not item.impact:
        raise ChangeControlError(
            f"{item.ref} has no impact assessment: the client would approve blindly",
            f"assess it first: mailbot queue assess {item.ref} --effort … --schedule … --cost …",
        )
    if not item.client_email:
        raise ChangeControlError(
            f"{item.ref} has no client address", "ask the client by hand and record the answer"
        )
    original = first_client_message(session, item)
    impact = {k: item.impact.get(k, "") for k in ("effort", "schedule", "cost", "notes")}
    # One request per assessment: re-running the command does not mail the client twice.
    assessment = json.dumps([item.impact.get("assessed_at"), impact], sort_keys=True)
    digest = hashlib.sha256(assessment.encode()).hexdigest()[:16]
    outbox = send_templated(
        session,
        config,
        kind=APPROVAL_KIND,
        category="change_request",
        item=item,
        thread_from=original,
        to=[Address(item.client_name or "", item.client_email)],
        context={"impact": impact},
        dedupe_key=f"{APPROVAL_KIND}:{item.ref}:{digest}",
        now=now,
    )
    if outbox is None:
        return None
    item.approval_requested_at = now
    session.add(
        Event(
            item_id=item.id,
            kind="approval_requested",
            actor=actor,
            detail={"to": item.client_email, "outbox": outbox.message_id, "impact": impact},
        )
    )
    return outbox
