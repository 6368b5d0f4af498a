"""Signing in and staying signed in: one small interface in front of how people prove who they are.

`Authenticator` is that interface; `PasswordAuthenticator` checks the argon2 hash in the
database. A single sign-on later is another Authenticator: sessions, throttling and
permissions stay as they are.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailbot.accounts.passwords import hash_password, needs_rehash, password_matches
from mailbot.accounts.users import Person, person
from mailbot.config_types import WebConfig
from mailbot.errors import MailbotError
from mailbot.storage.models import Event, LoginAttempt, User, WebSession

# Attempts from one address, whatever the names, before it must wait.
MAX_FAILED_PER_ADDRESS = 30
# A session's last-seen time is written at most this often (not on every page).
TOUCH_EVERY = timedelta(minutes=1)


class SignInError(MailbotError):
    """The name and password do not let this person in (said the same way for every cause)."""

    code = "MB961"


class TooManyAttempts(SignInError):
    code = "MB962"

    def __init__(self, wait: timedelta) -> None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        super().__init__("too many failed sign-ins", f"wait {minutes} minutes and try again")
        self.minutes = minutes


class Authenticator(Protocol):
    def authenticate(self, session: Session, name: str, secret: str) -> User | None:
        """The user these credentials prove, or None."""
        ...


class PasswordAuthenticator:
    """A name and a password checked against the argon2 hash in `users`."""

    def authenticate(self, session: Session, name: str, secret: str) -> User | None:
        user = session.scalars(select(User).where(User.name == name.strip().lower())).first()
        if not password_matches(user.password_hash if user else None, secret) or user is None:
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(secret)
        return user


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str  # for the cookie; never stored
    person: Person
    csrf: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_throttle(
    session: Session, web: WebConfig, name: str, address: str | None, now: datetime
) -> None:
    window = timedelta(minutes=web.login_window_minutes)
    since = now - window
    failed_for_name = session.scalars(
        select(LoginAttempt.at)
        .where(LoginAttempt.name == name, LoginAttempt.at >= since, LoginAttempt.ok.is_(False))
        .order_by(LoginAttempt.at.desc())
        .limit(web.max_failed_logins)
    ).all()
    if len(failed_for_name) >= web.max_failed_logins:
        raise TooManyAttempts(failed_for_name[-1] + window - now)
    if address:
        count = session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.address == address,
                LoginAttempt.at >= since,
                LoginAttempt.ok.is_(False),
            )
        )
        if (count or 0) >= MAX_FAILED_PER_ADDRESS:
            raise TooManyAttempts(window)


def sign_in(
    session: Session,
    web: WebConfig,
    name: str,
    secret: str,
    *,
    address: str | None,
    now: datetime,
    authenticator: Authenticator | None = None,
) -> SignedIn:
    """Check the credentials (throttled per name and per address) and open a session.

    The caller commits even when this raises: the failed attempt must be counted.
    """
    login = name.strip().lower()[:100]
    _check_throttle(session, web, login, address, now)
    user = (authenticator or PasswordAuthenticator()).authenticate(session, login, secret)
    ok = user is not None and not user.disabled
    session.add(LoginAttempt(at=now, name=login, address=address, ok=ok))
    if not ok or user is None:
        session.add(Event(kind="login_failed", actor=login, detail={"address": address}))
        raise SignInError("the name or the password is wrong", "check both and try again")
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=_digest(token),
        user_id=user.id,
        csrf=secrets.token_urlsafe(32),
        address=address,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=web.session_hours),
    )
    session.add(row)
    session.add(Event(kind="login", actor=user.name, detail={"address": address}))
    return SignedIn(token, person(session, user), row.csrf, row.expires_at)


@dataclass(frozen=True, slots=True)
class Visit:
    """A valid session: who it is, and the token their forms must send back."""

    person: Person
    csrf: str
    session_id: str


def resume(session: Session, web: WebConfig, token: str | None, now: datetime) -> Visit | None:
    """The person behind a session cookie; None when it is unknown, expired, idle or disabled."""
    if not token or len(token) > 200:
        return None
    row = session.get(WebSession, _digest(token))
    if row is None:
        return None
    idle = timedelta(minutes=web.idle_minutes)
    user = session.get(User, row.user_id)
    if row.expires_at <= now or row.last_seen_at + idle <= now or user is None or user.disabled:
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Visit(person(session, user), row.csrf, row.id)


def sign_out(session: Session, token: str | None, *, everywhere: bool = False) -> int:
    """End this session, or with `everywhere` every session of its user; how many ended."""
    if not token:
        return 0
    row = session.get(WebSession, _digest(token))
    if row is None:
        return 0
    user = session.get(User, row.user_id)
    if everywhere:
        result = session.execute(delete(WebSession).where(WebSession.user_id == row.user_id))
        ended = int(getattr(result, "rowcount", 0) or 0)
    else:
        session.delete(row)
        session.flush()
        ended = 1
    actor = user.name if user else "?"
    session.add(Event(kind="logout", actor=actor, detail={"everywhere": everywhere}))
    return ended


def forget_old_attempts(session: Session, web: WebConfig, now: datetime) -> None:
    """Sign-in attempts older than a day are no longer needed for throttling."""
    keep = max(timedelta(days=1), timedelta(minutes=web.login_window_minutes))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - keep))
