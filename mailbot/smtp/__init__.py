"""Sending: mails queued in the outbox, then drained over SMTP, each at most once."""

from mailbot.smtp.outbox import enqueue
from mailbot.smtp.sender import SendStats, drain_outbox

__all__ = ["SendStats", "drain_outbox", "enqueue"]
