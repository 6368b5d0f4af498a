"""Who sent it and whether it is spam, checked at the classify stage and kept with the mail.

The checks are `mailbot.trust` (see docs/security.md); this module gives them what the
pipeline knows (the configured names, the threads we know) and turns their verdicts into
the triage decision:

- spam → category `none` with its reason: never filed to an item, never answered, listed
  by `mailbot spam list` until a person says "not spam";
- a failed or look-alike sender → needs review and escalated as possible impersonation
  (the answer stage and change control refuse such a sender on their own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.message import Message
from mailbot.pipeline.route import is_listed_client
from mailbot.pipeline.stages import noise_verdict
from mailbot.storage.expressions import among
from mailbot.storage.models import Event, OutboxMail, StoredMessage
from mailbot.triage.verdict import Verdict, likeliest_client_category
from mailbot.trust.sender import SenderVerdict, auth_policy, check_sender
from mailbot.trust.signatures import DkimVerifier
from mailbot.trust.spam import SpamChecker, SpamContext, SpamVerdict, check_spam, make_checker

log = logging.getLogger("mailbot.trust")

PERSON = "person"  # the source of a spam verdict a person gave ("not spam", "spam")
FILTERS = ("spamd", "rspamd")
FILTER_DOWN, FILTER_BACK = "spam_filter_down", "spam_filter_back"  # event kinds
MAX_THREAD_IDS = 20  # of In-Reply-To and References looked up
FILTER_REST = 60.0  # seconds a failed spam filter is left alone before it is asked again


@dataclass(frozen=True, slots=True)
class Trust:
    sender: SenderVerdict
    spam: SpamVerdict


def sender_verdict(row: StoredMessage) -> SenderVerdict | None:
    """The stored sender verdict; None when the mail was never checked."""
    try:
        return SenderVerdict.from_dict(row.sender_check) if row.sender_check else None
    except ValueError:
        return None


def spam_verdict(row: StoredMessage) -> SpamVerdict | None:
    try:
        return SpamVerdict.from_dict(row.spam_check) if row.spam_check else None
    except ValueError:
        return None


def record(row: StoredMessage, trust: Trust) -> None:
    row.sender_check, row.sender_status = trust.sender.to_dict(), trust.sender.status
    row.spam_check, row.spam_status = trust.spam.to_dict(), trust.spam.status


class Resting:
    """A spam filter that failed is not asked again for `rest` seconds: a filter that times
    out would otherwise cost its whole timeout for every mail of a backlog."""

    def __init__(
        self,
        checker: SpamChecker,
        rest: float = FILTER_REST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checker = checker
        self.source = checker.source
        self.rest = rest
        self.clock = clock
        self._failed_at: float | None = None
        self._why = ""

    def check(self, raw: bytes) -> SpamVerdict:
        now = self.clock()
        if self._failed_at is not None and now - self._failed_at < self.rest:
            wait = self.rest - (now - self._failed_at)
            return SpamVerdict(
                "not_checked",
                None,
                None,
                self.source,
                (f"{self.source} not asked: it failed {self._why!r}; asked again in {wait:.0f} s",),
            )
        try:
            verdict = self.checker.check(raw)
        except Exception as err:  # check_spam reports it; we only remember to rest
            self._failed_at, self._why = now, f"{type(err).__name__}: {err}"
            raise
        if verdict.status == "not_checked":
            self._failed_at, self._why = now, verdict.reasons[0] if verdict.reasons else "?"
        else:
            self._failed_at = None
        return verdict


class TrustChecks:
    """Both checks with the site's settings; `dkim_verify` and `spam_checker` for tests."""

    def __init__(
        self,
        config: Config,
        *,
        dkim_verify: DkimVerifier | None = None,
        spam_checker: SpamChecker | None = None,
    ) -> None:
        self.config = config
        self.policy = auth_policy(config)
        self.dkim_verify = dkim_verify if config.authentication.verify_dkim else _no_dkim
        checker = spam_checker or make_checker(config.spam)
        self.spam_checker = Resting(checker) if checker is not None else None
        self.protected_names = protected_names(config)

    def check(self, session: Session, row: StoredMessage, raw: bytes, message: Message) -> Trust:
        sender = check_sender(raw, message, self.policy, dkim_verify=self.dkim_verify)
        kept = spam_verdict(row)
        if kept is not None and kept.source == PERSON:
            return Trust(sender, kept)  # a person's word is not checked again
        address = message.from_.email if message.from_ else ""
        context = SpamContext(
            listed_sender=any(is_listed_client(p, address) for p in self.config.projects),
            in_known_thread=in_known_thread(session, message),
            protected_names=self.protected_names,
        )
        spam = check_spam(raw, message, self.config.spam, context, checker=self.spam_checker)
        return Trust(sender, spam)


def _no_dkim(raw: bytes, *, timeout: float) -> tuple[Any, ...]:
    """`verify_dkim = false`: no signature is looked at (nothing is proven by DKIM)."""
    return ()


def protected_names(config: Config) -> tuple[tuple[str, str], ...]:
    """(display name, real address) of the people a stranger may pretend to be."""
    names = [(config.site.name, config.site.address)]
    names += [(p.pm_name, p.pm) for p in config.projects if p.pm_name and p.pm]
    return tuple(dict.fromkeys((n, a.lower()) for n, a in names if n and a))


def in_known_thread(session: Session, message: Message) -> bool:
    """Do In-Reply-To or References name a mail we filed or sent?"""
    ids = [i for i in (message.in_reply_to, *message.references) if i][:MAX_THREAD_IDS]
    if not ids:
        return False
    ours = session.scalar(select(OutboxMail.id).where(among(OutboxMail.message_id, ids)).limit(1))
    if ours is not None:
        return True
    filed = select(StoredMessage.id).where(
        among(StoredMessage.message_id, ids), StoredMessage.item_id.is_not(None)
    )
    return session.scalar(filed.limit(1)) is not None


def apply(verdict: Verdict | None, trust: Trust, message: Message) -> Verdict | None:
    """The triage verdict after the checks: spam is noise; impersonation needs a person."""
    if trust.spam.spam:
        return noise_verdict(
            f"spam ({trust.spam.source}): " + "; ".join(trust.spam.reasons),
            language=verdict.language if verdict is not None else "en",
            model_version=verdict.model_version if verdict is not None else "spam",
            spam=trust.spam.to_dict(),
            triage_said=verdict.category if verdict is not None else None,
            model=verdict.explanation.get("model") if verdict is not None else None,
        )
    if person_said_not_spam(trust) and verdict is not None and verdict.category == "none":
        # The person knows it is correspondence; triage's "noise" would drop it again.
        verdict = replace(
            verdict,
            category="feedback",
            needs_review=True,
            review_reasons=(
                *verdict.review_reasons,
                "marked not spam, but triage called it noise: check the category",
            ),
        )
    if not trust.sender.suspicious:
        return verdict
    why = "possible impersonation: " + (trust.sender.reasons[0] if trust.sender.reasons else "")
    if verdict is None:  # triage off: the parser's noise is still noise
        if message.signals.noise:
            return None
        verdict = Verdict(
            category="feedback",
            confidence=0.0,
            needs_review=True,
            escalate=False,
            escalate_reasons=(),
            language="en",
            explanation={"decided_by": "nothing: triage is off", "model": None},
            model_version="none",
        )
    if verdict.category == "none":
        model = verdict.explanation.get("model") or {}
        if not model.get("calibrated"):
            return verdict  # a robot's noise stays noise: nobody is answered or escalated for it
        # A person's text from someone posing as a client (a look-alike asking for a payment):
        # not correspondence, but the PM must see the attempt. It is never answered: the answer
        # stage refuses a suspicious sender.
        likeliest, confidence = likeliest_client_category(model["calibrated"])
        none = model["calibrated"].get("none", 0.0)
        verdict = replace(
            verdict,
            category=likeliest,
            confidence=float(confidence),
            review_reasons=(
                *verdict.review_reasons,
                f"triage read it as not client mail (none {none:.2f})",
            ),
        )
    return replace(
        verdict,
        needs_review=True,
        review_reasons=(*verdict.review_reasons, why),
        escalate=True,
        escalate_reasons=(*verdict.escalate_reasons, why),
        explanation={**verdict.explanation, "sender": trust.sender.to_dict()},
    )


def person_said_not_spam(trust: Trust) -> bool:
    return trust.spam.source == PERSON and trust.spam.status == "ham"


def note_filter_health(session: Session, spam: SpamVerdict, now: datetime) -> None:
    """Record the spam filter coming back after it was down (the going down is recorded
    by the filing hook that tells the PM, once)."""
    if spam.source in FILTERS and spam.status != "not_checked" and filter_down(session):
        session.add(Event(kind=FILTER_BACK, detail={"source": spam.source}, at=now))
        log.warning("the spam filter (%s) answers again", spam.source)


def filter_down(session: Session) -> bool:
    """Is the last word about the spam filter that it was down?"""
    last = session.scalar(
        select(Event.kind)
        .where(or_(Event.kind == FILTER_DOWN, Event.kind == FILTER_BACK))
        .order_by(Event.id.desc())
        .limit(1)
    )
    return last == FILTER_DOWN
