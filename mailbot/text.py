"""Words for people: counts with the right plural, text cut where it shows it was cut."""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """The count with its noun: "1 mail", "3 mails", plural(2, "mailbox", "mailboxes").

    `many` defaults to `one` + "s"; give it for any other plural ("mailboxes", "repairs left").
    """
    return f"{count} {one if count == 1 else (many or one + 's')}"


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending in "…" when something was left out."""
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"
