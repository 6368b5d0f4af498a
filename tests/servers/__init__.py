"""Real servers started by the test suite (Dovecot for IMAP)."""

from tests.servers.dovecot import DovecotAccount, DovecotError, DovecotServer, dovecot_available

__all__ = ["DovecotAccount", "DovecotError", "DovecotServer", "dovecot_available"]
