"""Errors a user can meet: a stable code and a sentence saying what to do."""

from __future__ import annotations


class MailbotError(Exception):
    """An error explained to the user; never shown with a stack trace."""

    code = "MB000"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        return f"{text}\n  what to do: {self.hint}" if self.hint else text


class ConfigError(MailbotError):
    code = "MB100"


class StorageError(MailbotError):
    code = "MB200"


class SourceError(MailbotError):
    """The mailbox cannot be reached or refused us; the daemon retries these."""

    code = "MB300"


class ParseError(MailbotError):
    code = "MB400"


class RulesError(MailbotError):
    code = "MB500"


class ModelError(MailbotError):
    code = "MB600"
