"""Accounts: add, change, disable and list the people who may use the web workspace.

Each function works in the caller's transaction and records an audit `Event`; the CLI
(`mailbot user …`) and the web admin pages call these same functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailbot.accounts.passwords import hash_password
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.storage.models import Event, User, UserProject, WebSession

ROLES = ("admin", "pm", "viewer")
LANGUAGES = ("en", "zh-Hans")
# Items not yet filed to a client project; a pm sees them only when given this "project".
TRIAGE_KEY = "TRIAGE"
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")


class UserError(MailbotError):
    """An account cannot be changed as asked."""

    code = "MB960"  # MB960-MB969: accounts and the web workspace


@dataclass(frozen=True, slots=True)
class Person:
    """An account as the web pages and the CLI see it (no password hash)."""

    id: int
    name: str
    display_name: str
    role: str
    language: str
    timezone: str | None
    projects: tuple[str, ...]  # empty for an admin: every project
    disabled: bool

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_act(self) -> bool:
        """May change items (a viewer only reads)."""
        return self.role in ("admin", "pm")

    def sees(self, project_key: str) -> bool:
        return self.is_admin or project_key in self.projects


def person(session: Session, user: User) -> Person:
    keys = session.scalars(
        select(UserProject.project_key)
        .where(UserProject.user_id == user.id)
        .order_by(UserProject.project_key)
    )
    return Person(
        id=user.id,
        name=user.name,
        display_name=user.display_name,
        role=user.role,
        language=user.language,
        timezone=user.timezone,
        projects=tuple(keys),
        disabled=user.disabled,
    )


def find_user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name.strip().lower())).first()
    if user is None:
        raise UserError(f"no user {name!r}", "see `mailbot user list`")
    return user


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"the password is too short ({len(password)} characters)",
            f"use at least {MIN_PASSWORD_LENGTH}; a few words make a good one",
        )


def _check_choice(what: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise UserError(f"unknown {what} {value!r}", f"use one of: {', '.join(allowed)}")


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {name!r}", "use an IANA name such as Asia/Shanghai"
        ) from None


def _check_projects(config: Config, keys: Iterable[str]) -> tuple[str, ...]:
    known = [p.key for p in config.projects]
    wanted = tuple(dict.fromkeys(k.strip().upper() for k in keys if k.strip()))
    for key in wanted:
        if key != TRIAGE_KEY and key not in known:
            raise UserError(
                f"no project {key!r} in the configuration",
                f"use one of: {', '.join([*known, TRIAGE_KEY])}",
            )
    return wanted


def add_user(
    session: Session,
    config: Config,
    name: str,
    password: str,
    *,
    role: str,
    projects: Iterable[str] = (),
    display_name: str = "",
    email: str | None = None,
    language: str = "en",
    timezone: str | None = None,
    actor: str,
) -> User:
    login = name.strip().lower()
    if not _NAME.match(login):
        raise UserError(
            f"{name!r} cannot be a user name",
            "use 2-100 letters, digits and . _ @ - (for example anna or anna@agency.example)",
        )
    _check_choice("role", role, ROLES)
    _check_choice("language", language, LANGUAGES)
    _check_timezone(timezone)
    keys = _check_projects(config, projects)
    check_password_rules(password)
    if session.scalars(select(User.id).where(User.name == login)).first() is not None:
        raise UserError(f"user {login!r} exists already", "use `mailbot user set` to change it")
    user = User(
        name=login,
        display_name=display_name.strip(),
        email=email,
        role=role,
        language=language,
        timezone=timezone,
        password_hash=hash_password(password),
        disabled=False,
    )
    session.add(user)
    session.flush()
    for key in keys:
        session.add(UserProject(user_id=user.id, project_key=key))
    _audit(session, "user_added", actor, {"user": login, "role": role, "projects": list(keys)})
    return user


def set_password(session: Session, name: str, password: str, *, actor: str) -> User:
    """A new password ends every session of the user: whoever knew the old one is out."""
    check_password_rules(password)
    user = find_user(session, name)
    user.password_hash = hash_password(password)
    end_sessions(session, user)
    _audit(session, "user_password_changed", actor, {"user": user.name})
    return user


def change_user(
    session: Session,
    config: Config,
    name: str,
    *,
    actor: str,
    role: str | None = None,
    projects: Iterable[str] | None = None,
    display_name: str | None = None,
    language: str | None = None,
    timezone: str | None = None,
) -> User:
    user = find_user(session, name)
    changed: dict[str, object] = {}
    if role is not None:
        _check_choice("role", role, ROLES)
        if role != "admin":
            _keep_an_admin(session, user, "take the admin role from")
        user.role, changed["role"] = role, role
    if language is not None:
        _check_choice("language", language, LANGUAGES)
        user.language, changed["language"] = language, language
    if timezone is not None:
        tz = timezone.strip() or None
        _check_timezone(tz)
        user.timezone, changed["timezone"] = tz, tz
    if display_name is not None:
        user.display_name, changed["display_name"] = display_name.strip(), display_name.strip()
    if projects is not None:
        keys = _check_projects(config, projects)
        session.execute(delete(UserProject).where(UserProject.user_id == user.id))
        for key in keys:
            session.add(UserProject(user_id=user.id, project_key=key))
        changed["projects"] = list(keys)
    if not changed:
        raise UserError("nothing to change", "give --role, --project, --language, ...")
    _audit(session, "user_changed", actor, {"user": user.name, **changed})
    return user


def set_disabled(session: Session, name: str, disabled: bool, *, actor: str) -> User:
    """A disabled user cannot sign in, and is signed out of every browser at once."""
    user = find_user(session, name)
    if disabled:
        _keep_an_admin(session, user, "disable")
    user.disabled = disabled
    if disabled:
        end_sessions(session, user)
    _audit(session, "user_disabled" if disabled else "user_enabled", actor, {"user": user.name})
    return user


def _keep_an_admin(session: Session, user: User, doing: str) -> None:
    """Refuse to leave the workspace without an enabled admin to manage the accounts."""
    if user.role != "admin" or user.disabled:
        return
    # Locked on PostgreSQL, so two admins demoting each other at once cannot both win.
    admins = session.scalars(
        select(User.id).where(User.role == "admin", User.disabled.is_(False)).with_for_update()
    ).all()
    if all(admin_id == user.id for admin_id in admins):
        raise UserError(
            f"cannot {doing} {user.name}: the last enabled admin",
            "make another user an admin first (mailbot user set NAME --role admin)",
        )


def sign_out_everywhere(session: Session, name: str, *, actor: str) -> int:
    """End every session of the user (a lost laptop); returns how many ended."""
    user = find_user(session, name)
    ended = end_sessions(session, user)
    _audit(session, "user_signed_out", actor, {"user": user.name, "sessions": ended})
    return ended


def end_sessions(session: Session, user: User) -> int:
    """Sign the user out everywhere; returns how many sessions ended."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


def list_users(session: Session) -> list[Person]:
    return [person(session, u) for u in session.scalars(select(User).order_by(User.name))]


def _audit(session: Session, kind: str, actor: str, detail: dict[str, object]) -> None:
    session.add(Event(kind=kind, actor=actor, detail=detail))
