"""Sending: the outbox drained over SMTP, each mail at most once."""

from mailbot.smtp.sender import SendStats, drain_outbox, enqueue

__all__ = ["SendStats", "drain_outbox", "enqueue"]
