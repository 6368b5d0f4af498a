"""Breakers: addresses mailbot stopped answering automatically, for a while.

A breaker stops automatic answers only — the mail is still filed, the client still gets
summaries — and ends by itself after `acknowledgements.breaker_cooldown_hours`. These
are the actions behind `mailbot breakers list | clear` (and the web workspace).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.storage.models import Breaker, Event

log = logging.getLogger("mailbot.ack")


def active_breaker(session: Session, address: str, now: datetime) -> Breaker | None:
    """The breaker that stops answers to `address` now, if any (an expired one is gone)."""
    breaker = session.get(Breaker, address)
    if breaker is not None and breaker.expires_at <= now:
        session.delete(breaker)
        return None
    return breaker


def trip(
    session: Session,
    address: str,
    reason: str,
    now: datetime,
    config: Config,
    *,
    known_off: bool = False,
) -> Breaker | None:
    """Stop answering `address` for the cool-down; None if a breaker is on already.

    `known_off`: the caller has just seen that none is on (it is not asked again).
    """
    if not known_off and active_breaker(session, address, now) is not None:
        return None
    cooldown = timedelta(hours=config.acknowledgements.breaker_cooldown_hours)
    breaker = Breaker(address=address, reason=reason, tripped_at=now, expires_at=now + cooldown)
    session.add(breaker)
    session.add(Event(kind="breaker_tripped", detail={"address": address, "reason": reason}))
    log.warning("stopped answering %s until %s: %s", address, breaker.expires_at, reason)
    return breaker


def list_breakers(session: Session, now: datetime) -> list[Breaker]:
    """The breakers in force, oldest first."""
    return list(
        session.scalars(
            select(Breaker).where(Breaker.expires_at > now).order_by(Breaker.tripped_at)
        )
    )


def clear_breaker(session: Session, address: str, *, actor: str, now: datetime) -> Breaker:
    """Answer `address` again from now on; an audit event says who cleared it."""
    breaker = session.get(Breaker, address.strip().lower())
    if breaker is None or breaker.expires_at <= now:
        raise MailbotError(f"no breaker is on for {address}", "see `mailbot breakers list`")
    session.delete(breaker)
    session.add(
        Event(
            kind="breaker_cleared",
            actor=actor,
            detail={"address": breaker.address, "reason": breaker.reason},
        )
    )
    return breaker
