"""Drain the outbox over SMTP: every mail sent once, retried with backoff, never lost.

Each mail is first claimed in a short transaction (so a second drain skips it), then
handed to the server, then marked sent in its own commit right after the server
accepted it. A crash before that commit means the mail goes out again after restart
(the same bytes and Message-ID, so most mail programs show it once); once marked,
nothing is sent twice. Temporary problems (4xx, refused or dropped connections,
timeouts) are retried later; a permanent refusal (5xx for the recipient or the
content) or too many attempts marks the row failed for a person to look at. SMTP
problems never raise out of `drain_outbox`: the daemon keeps running.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mailbot.config_types import SmtpConfig
from mailbot.outgoing.connection import (
    close,
    connect,
    decode_reply,
    explain_connect_failure,
    reset,
)
from mailbot.outgoing.outbox import SendStats, SentMarks, claim_due, record_failure
from mailbot.outgoing.pipelining import sendmail
from mailbot.storage import work
from mailbot.storage.db import Database
from mailbot.storage.models import OutboxMail, utcnow

log = logging.getLogger("mailbot.smtp")

DEFAULT_DRAIN_LIMIT = 100  # mails per drain; the rest wait for the next one
CLAIM_LEASE_MIN = 300.0  # seconds a claimed mail is hidden from other senders, at least
CLAIM_BATCH = 10  # mails claimed at once (one short transaction), then sent one by one


class _Failure(Exception):
    """One send went wrong; `permanent` says whether retrying can help."""

    def __init__(self, text: str, *, permanent: bool = False, lost: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.permanent = permanent
        self.lost = lost  # the connection is gone: stop this drain


def _send(smtp: smtplib.SMTP, row: OutboxMail) -> dict[str, Any]:
    """Hand one mail to the server; returns recipients refused while others were accepted."""
    if not row.rcpt_to:
        raise _Failure("the outbox row has no recipients", permanent=True)
    try:
        return sendmail(smtp, row.mail_from, list(row.rcpt_to), row.raw)
    except smtplib.SMTPRecipientsRefused as err:
        answers = {rcpt: (code, decode_reply(msg)) for rcpt, (code, msg) in err.recipients.items()}
        text = "; ".join(f"{rcpt}: {code} {msg}" for rcpt, (code, msg) in answers.items())
        permanent = all(code >= 500 for code, _ in answers.values())
        raise _Failure(f"recipient refused: {text}", permanent=permanent) from None
    except smtplib.SMTPSenderRefused as err:
        # Not this mail's fault: the account may not send as mail_from. Retried, so the
        # mails go out once a person fixes smtp.envelope_from or the account.
        log.error(
            "the SMTP server refused the sender %s: %s %s (what to do: check "
            "smtp.envelope_from and that the SMTP account may send as that address)",
            row.mail_from,
            err.smtp_code,
            decode_reply(err.smtp_error),
        )
        raise _Failure(f"sender refused: {err.smtp_code} {decode_reply(err.smtp_error)}") from None
    except smtplib.SMTPNotSupportedError as err:  # e.g. a non-ASCII address, no SMTPUTF8
        raise _Failure(f"the server cannot take this mail: {err}", permanent=True) from None
    except (UnicodeError, ValueError) as err:  # an address smtplib cannot put on the wire
        raise _Failure(f"unusable address: {err}", permanent=True) from None
    except smtplib.SMTPServerDisconnected as err:
        raise _Failure(f"connection lost: {err}", lost=True) from None
    except smtplib.SMTPResponseException as err:  # SMTPDataError and the like
        code, msg = err.smtp_code, decode_reply(err.smtp_error)
        raise _Failure(
            f"server answered {code} {msg}", permanent=code >= 500, lost=code == 421
        ) from None
    except (OSError, smtplib.SMTPException) as err:  # timeouts, resets, protocol errors
        raise _Failure(f"{err.__class__.__name__}: {err}", lost=True) from None


def claim_lease(config: SmtpConfig) -> timedelta:
    """How long a claimed mail stays hidden from other senders: longer than one send."""
    # MAIL, RCPT, DATA and the end of data may each take up to `timeout`, plus connecting.
    return timedelta(seconds=max(CLAIM_LEASE_MIN, 6 * config.timeout))


def drain_outbox(
    db: Database,
    config: SmtpConfig,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_DRAIN_LIMIT,
    on_set_aside: Callable[[Session, OutboxMail, str, datetime], object] | None = None,
) -> SendStats:
    """Send up to `limit` due outbox mails over one SMTP connection; `on_set_aside` runs
    for a mail given up on (refused for good, or out of attempts)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)  # SQLite compares the stored UTC text
    lease = claim_lease(config)
    stats = SendStats()
    smtp: smtplib.SMTP | None = None
    down: str | None = None  # why the server cannot be used in this drain
    claimed: list[OutboxMail] = []  # taken a few at a time, sent one by one
    marks = SentMarks(db)
    try:
        for _ in range(limit):
            if not claimed:
                claimed = claim_due(db, now, lease * CLAIM_BATCH, CLAIM_BATCH)
                if not claimed:
                    break
            row = claimed.pop(0)
            if smtp is None and down is None:
                try:  # connect only when there is something to send
                    smtp = connect(config)
                except Exception as err:  # every cause is logged and retried later
                    down = explain_connect_failure(err, config)
            failure: _Failure | None = None
            refused: dict[str, Any] = {}
            if smtp is None:
                # Every due mail waits for the next try; the backoff keeps an outage
                # from being hammered on every loop.
                failure = _Failure(down or "no connection")
            else:
                try:
                    refused = _send(smtp, row)
                except _Failure as err:
                    failure = err
            # The outcome in its own commit, right after the server answered.
            if failure is None:
                marks.mark(row, utcnow())
            else:
                with db.session() as session:
                    record_failure(
                        session,
                        row,
                        failure.text,
                        now,
                        config,
                        stats,
                        permanent=failure.permanent,
                        on_set_aside=on_set_aside,
                    )
            if failure is None:
                stats.sent += 1
                if refused:
                    log.warning("outbox mail %d: some recipients refused: %s", row.id, refused)
                log.info("sent outbox mail %d (%s) to %s", row.id, row.kind, ", ".join(row.rcpt_to))
            elif smtp is not None and (failure.lost or not reset(smtp)):
                # The rest keep their turn (no attempt counted) for the next drain.
                close(smtp)
                smtp = None
                down = failure.text
                break
    finally:
        marks.close()
        if claimed:  # not tried in this drain: due again at once, not at the lease's end
            with db.session() as session:
                work.release(session, OutboxMail, [row.id for row in claimed], now)
        if smtp is not None:
            close(smtp)
    return stats
