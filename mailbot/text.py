"""Words for people: counts with the right plural."""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """The count with its noun: "1 mail", "3 mails", plural(2, "mailbox", "mailboxes").

    `many` defaults to `one` + "s"; give it for any other plural ("mailboxes", "repairs left").
    """
    return f"{count} {one if count == 1 else (many or one + 's')}"
