"""Tables: raw blobs, messages, where each was seen, mailbox cursors, events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailbot.storage.types import UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Blob(Base):
    """The original bytes of a message, content-addressed by sha256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MessageState:
    """Where a message stands: it moves forward one stage at a time.

    received → parsed → classified → filed → answered. A stage that fails leaves the
    message `failed` (with `failed_stage`, the error and the attempt count) until its
    retry is due; after `processing.max_attempts` failures it is `set_aside` for a
    person (`mailbot failed`), never deleted.
    """

    RECEIVED = "received"  # the original bytes are stored; nothing else is known yet
    PARSED = "parsed"  # headers and text extracted
    CLASSIFIED = "classified"  # triage verdict recorded (or triage is off)
    FILED = "filed"  # routed and attached to an item, or recognised as noise
    ANSWERED = "answered"  # the acknowledgement decided (queued or not, with why): done
    FAILED = "failed"  # `failed_stage` failed; retried when `next_attempt_at` comes
    SET_ASIDE = "set_aside"  # failed too often: waits for a person, never retried or deleted
    ALL = (RECEIVED, PARSED, CLASSIFIED, FILED, ANSWERED, FAILED, SET_ASIDE)


class StoredMessage(Base):
    """One distinct message (by content hash) and what the parser saw in it."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_due", "state", "next_attempt_at"),
        # A sender's mails by arrival (the hour's answers, repeats): an index on the
        # sender alone read every mail the sender ever wrote, for every batch.
        # The subject too, so a repeat's lookup reads only the rows of the same subject.
        Index("ix_messages_sender_arrival", "from_email", "arrived_at", "subject_normalized"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), unique=True)
    # Message-ID is not unique in the wild, so it is indexed, not a key.
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    message_id_synthetic: Mapped[bool] = mapped_column(default=False)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[Any]] = mapped_column(default=list)
    from_email: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(500))
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)  # to / cc / reply_to
    subject: Mapped[str | None] = mapped_column(Text)
    subject_normalized: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    body_source: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    signals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    defects: Mapped[list[Any]] = mapped_column(default=list)
    # The triage verdict (None until classified); `verdict` keeps the full explanation.
    category: Mapped[str | None] = mapped_column(String(30), index=True)
    confidence: Mapped[float | None]
    needs_review: Mapped[bool | None]
    escalate: Mapped[bool | None]
    language: Mapped[str | None] = mapped_column(String(10))
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(100))
    # Who sent it and whether it is spam (mailbot.trust), checked at classify; None before.
    # The status columns repeat the verdicts' status for the queue's filters.
    sender_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sender_status: Mapped[str | None] = mapped_column(String(12), index=True)
    spam_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    spam_status: Mapped[str | None] = mapped_column(String(12), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    route: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the routing decision and why
    # Indexed with next_attempt_at (ix_messages_due), which serves a lookup by state too:
    # every stage changes the state, and each index is written again at each change.
    state: Mapped[str] = mapped_column(String(20), default=MessageState.RECEIVED)
    failed_stage: Mapped[str | None] = mapped_column(String(20))  # parse, classify, file, answer
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The work claim (mailbot.storage.work): due time of the next step, and who holds it.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    account: Mapped[str] = mapped_column(String(200))  # where it was first seen
    folder: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)  # stored by us
    # When it reached the mail server (INTERNALDATE, Maildir delivery): clocks start here.
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Location(Base):
    """Where a message was seen on a server; the key that makes re-fetching harmless."""

    __tablename__ = "locations"
    __table_args__ = (
        UniqueConstraint("account", "folder", "uidvalidity", "uid", name="uq_location"),
        Index("ix_locations_pending", "account", "folder", "server_done"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    message: Mapped[StoredMessage] = relationship()
    account: Mapped[str] = mapped_column(String(200))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(500))  # UID as text, or the Maildir file name
    # Where the server copy must go ("processed" or "failed") and whether it has.
    server_target: Mapped[str] = mapped_column(String(20))
    server_done: Mapped[bool] = mapped_column(default=False)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Cursor(Base):
    """Per mailbox folder: the UIDVALIDITY and the highest UID already stored."""

    __tablename__ = "cursors"

    account: Mapped[str] = mapped_column(String(200), primary_key=True)
    folder: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the first fetch


class Event(Base):
    """An audit trail: what happened to which message, who did it and why."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    message: Mapped[StoredMessage | None] = relationship()
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(200), default="mailbot")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxState:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good or too many attempts: set aside for a person
    ALL = (PENDING, SENT, FAILED)


class OutboxMail(Base):
    """One email to send, composed in full when it was decided, sent at most once.

    The row is written in the same transaction as the decision to send it;
    the Message-ID is fixed then, so a retry after a crash is the same email.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        # A message's mails of one kind, read from the index alone (its answers by sender).
        Index("ix_outbox_message_kind", "message_pk", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # "ack", "status", "digest", "summary", ...
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # What makes this email unique, e.g. "ack:<message pk>"; a second insert is refused.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    mail_from: Mapped[str] = mapped_column(String(320))  # SMTP envelope sender
    rcpt_to: Mapped[list[Any]] = mapped_column(default=list)  # envelope recipients
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # the exact bytes to send
    state: Mapped[str] = mapped_column(String(20), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Item(Base):
    """One client thread filed against a project: an issue, a change request or feedback."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_key", "number", name="uq_item_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)  # ACME-42
    project_key: Mapped[str] = mapped_column(String(16), index=True)  # TRIAGE when unassigned
    number: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(Text)
    client_email: Mapped[str | None] = mapped_column(String(320), index=True)
    client_name: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(10))
    confidence: Mapped[float | None]
    needs_review: Mapped[bool] = mapped_column(default=False, index=True)
    escalate: Mapped[bool] = mapped_column(default=False, index=True)
    assignee: Mapped[str | None] = mapped_column(String(320))
    # SLA: when a person (not mailbot) first answered the client; None while waiting.
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Change control: the PM's impact assessment (effort, schedule, cost, notes).
    impact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    approval_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Progress: when the team expects it done; waiting on the client (a question asked).
    target_date: Mapped[date | None] = mapped_column(Date)
    waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    waiting_note: Mapped[str | None] = mapped_column(Text)
    needed_by: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Correction(Base):
    """A person's correction of mailbot's decision: a labelled example for retraining."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    field: Mapped[str] = mapped_column(String(30))  # "category" or "project"
    old_value: Mapped[str | None] = mapped_column(String(100))
    new_value: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)  # subject + new text, as the model saw it
    language: Mapped[str | None] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Report(Base):
    """A scheduled mail (PM digest, client summary) for one period: made once, sent once."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("kind", "scope", "period", name="uq_report_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # "digest" or "summary"
    scope: Mapped[str] = mapped_column(String(50))  # a project key, or "*" for all
    period: Mapped[str] = mapped_column(String(50))  # e.g. "2026-11-27" or "2026-W48"
    state: Mapped[str] = mapped_column(String(20))  # "held" (waits for the PM) or "queued"
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)  # the PM's words, shown first (held reports)


class Heartbeat(Base):
    """What each running daemon last did, for `mailbot doctor` and monitoring."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)  # host:pid:mailbox
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Milestone(Base):
    """A project milestone as the PM last set it (the config's milestones are the start)."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("project_key", "name", name="uq_milestone_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_key: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(20))  # None: as in the config
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProjectState(Base):
    """The PM's word on a project's overall status, over what mailbot derives."""

    __tablename__ = "project_states"

    project_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # on_track, at_risk, delayed
    note: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProjectCounter(Base):
    """The last item number per project; incremented under a row lock, so refs never repeat."""

    __tablename__ = "project_counters"

    project_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Breaker(Base):
    """An address we stopped answering automatically (a loop, another robot), for a while.

    A breaker stops automatic answers only: the mail is still filed, and the client still
    gets summaries. It ends by itself at `expires_at`, or when a person clears it.
    """

    __tablename__ = "breakers"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    tripped_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    """A person who works the queue in the browser: admin, pm or viewer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # the login name, lower-case
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))  # "admin" | "pm" | "viewer"
    language: Mapped[str] = mapped_column(String(10), default="en")  # of the web pages
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: schedules.timezone
    password_hash: Mapped[str] = mapped_column(String(300))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class UserProject(Base):
    """A project a pm or viewer may see; admins see every project without rows here."""

    __tablename__ = "user_projects"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    project_key: Mapped[str] = mapped_column(String(16), primary_key=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class LoginAttempt(Base):
    """One try to sign in, kept a while to slow down password guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_name_at", "name", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(100), index=True)
    ok: Mapped[bool] = mapped_column(default=False)


class PushState:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # refused for good or too many attempts: set aside for a person
    ALL = (PENDING, DONE, FAILED)


class Push(Base):
    """One effect on the team's tracker or chat (mailbot.connectors), done at most once.

    Written in the transaction that decides it, like an outbox mail; the worker claims it
    through `storage.work`. `remote_id` is what the tracker answered (the issue's id), so
    a retry after a crash finds the issue instead of making a second.
    """

    __tablename__ = "pushes"
    __table_args__ = (Index("ix_pushes_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(
        String(100), index=True
    )  # "tracker:ACME", "ACME:slack:0"
    kind: Mapped[str] = mapped_column(String(30))  # "create", "note", "status", "chat"
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # What makes this push unique, e.g. "create:ACME-42"; a second insert is refused.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default=PushState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class TrackerLink(Base):
    """An item's issue in the team's tracker, and the tracker status last seen there."""

    __tablename__ = "tracker_links"
    __table_args__ = (UniqueConstraint("connector", "remote_id", name="uq_tracker_remote"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    remote_id: Mapped[str] = mapped_column(String(200))  # the tracker's own id: 123
    remote_key: Mapped[str] = mapped_column(String(200))  # as people say it: "#123", "ACME-7"
    url: Mapped[str] = mapped_column(Text)
    remote_status: Mapped[str | None] = mapped_column(String(100))
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConnectorCursor(Base):
    """How far a tracker connector has read: its last poll, the last status event pushed."""

    __tablename__ = "connector_cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # "tracker:ACME"
    polled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the next "updated since"
    status_event_id: Mapped[int] = mapped_column(Integer, default=0)
