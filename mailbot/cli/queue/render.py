"""Tables for people: the queue and one item, drawn with rich."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from mailbot.items.views import format_age
from mailbot.message import clean_text


def escape(text: str) -> str:
    """Client text for the terminal: no control or bidi characters (an ESC sequence could
    rewrite the PM's screen), and rich markup in it stays literal."""
    return rich_escape(clean_text(text, multiline=True))


LEGEND = "flags: ! escalated  ? needs review  L SLA breached  M merged"


def _console() -> Console:
    # Piped output (less, a file) gets no terminal width: rich would then wrap every cell at
    # 80 columns; a wide table reads better there, unless COLUMNS asks for a width.
    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=200)


def _due(row: dict[str, Any], now: datetime) -> str:
    if row["sla"] == "met":
        return "met"
    if row["sla"] in ("none", "closed") or not row["sla_due_at"]:
        return "-"
    due = datetime.fromisoformat(row["sla_due_at"])
    if due < now:
        return f"[red]late {format_age(now - due)}[/red]"
    return f"in {format_age(due - now)}"


def _human_time(iso: str) -> str:
    """ "3 Dec 14:05 UTC" for a person; JSON keeps ISO 8601 with the offset."""
    moment = datetime.fromisoformat(iso)
    return f"{moment.day} {moment:%b %H:%M} {moment.tzname() or ''}".rstrip()


def _words(code: str) -> str:
    """ "change_request" as "change request": a table may then wrap it between the words."""
    return code.replace("_", " ")


# Below this width the client column is left out (`queue show` has it): the title needs the room.
CLIENT_FROM_WIDTH = 110


def _table(**options: Any) -> Table:
    """A table without side borders, so that 80 columns leave room for the text."""
    return Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, **options
    )


def print_items(rows: list[dict[str, Any]], now: datetime, console: Console | None = None) -> None:
    """The queue as a table: ref, flags, category, status, age, SLA due, client, title.

    One item is one line where the width allows; the title wraps between words, a long
    client address is cut with "…".
    """
    console = console or _console()
    if not rows:
        console.print("no items match")
        return
    with_client = console.width >= CLIENT_FROM_WIDTH
    table = _table(caption=LEGEND, caption_justify="left")
    for name in ("ref", "flags"):
        table.add_column(name, no_wrap=True)
    table.add_column("category")
    table.add_column("status")
    for name in ("age", "SLA due"):
        table.add_column(name, no_wrap=True)
    if with_client:
        table.add_column(
            "client", no_wrap=True, overflow="ellipsis", max_width=max(20, console.width // 5)
        )
    table.add_column("title", overflow="fold")
    for row in rows:
        created = datetime.fromisoformat(row["created_at"])
        cells = [
            row["ref"],
            row["flags"],
            _words(row["category"]),
            _words(row["status"]),
            format_age(now - created),
            _due(row, now),
        ]
        if with_client:
            cells.append(escape(row["client"] or "-"))
        cells.append(escape(row["title"]))  # client text: rich markup in it must stay literal
        table.add_row(*cells)
    console.print(table)


def _sla_line(detail: dict[str, Any], now: datetime | None) -> str:
    """ "due 4 Dec 06:54 UTC (in 3h)", "late: was due … (2h ago)", "met", "none"."""
    due = detail["sla_due_at"]
    state = detail["sla"]
    if not due or state in ("none", "closed"):
        return state
    when = _human_time(due)
    if state == "met":
        return f"met (was due {when})"
    moment = datetime.fromisoformat(due)
    if state == "breached" or (now is not None and moment < now):
        return f"[red]late[/red]: was due {when}" + (
            f" ({format_age(now - moment)} ago)" if now is not None else ""
        )
    return f"due {when}" + (f" (in {format_age(moment - now)})" if now is not None else "")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(
            f"{key} {_value_text(inner)}"
            for key, inner in value.items()
            if inner not in (None, "", [], {}) and not isinstance(inner, list | dict)
        )
    if isinstance(value, list):
        if len(value) <= 3 and all(isinstance(v, str | int | float) for v in value):
            return ", ".join(str(v) for v in value)
        return str(len(value))
    return str(value)


def event_text(detail: dict[str, Any] | None) -> str:
    """An event's detail as "key: value; …" for a person; `--json` has all of it.

    Empty values are left out, a nested record shows its plain fields, a long list its length
    ("checks: 13").
    """
    parts = []
    for key, value in (detail or {}).items():
        if value in (None, "", [], {}):
            continue
        text = _value_text(value)
        if text:
            parts.append(f"{key.replace('_', ' ')}: {text}")
    return "; ".join(parts)


def print_detail(
    detail: dict[str, Any], console: Console | None = None, now: datetime | None = None
) -> None:
    """One item: its fields, its messages with triage reasons and routes, its history."""
    console = console or _console()
    head = (
        f"[bold]{detail['ref']}[/bold]  {_words(detail['category'])} / {_words(detail['status'])}"
    )
    console.print(head + (f"  [dim]flags {detail['flags']}[/dim]" if detail["flags"] else ""))
    console.print(f"title:    {escape(detail['title'])}")
    console.print(f"client:   {escape(detail['client'] or '-')}  language {detail['language']}")
    console.print(f"assignee: {escape(detail['assignee'] or '-')}")
    console.print(f"SLA:      {_sla_line(detail, now)}")
    tracker = detail.get("tracker")
    if tracker:
        status = f" ({escape(tracker['status'])})" if tracker.get("status") else ""
        console.print(f"tracker:  {escape(tracker['key'])} {escape(tracker['url'])}{status}")
    if detail["old_refs"]:
        console.print(f"formerly: {', '.join(detail['old_refs'])}")
    if detail["merged_into"]:
        console.print(f"merged into {detail['merged_into']}")
    for message in detail["messages"]:
        console.rule(f"message {message['id']}  {escape(message['from'] or '?')}")
        console.print(f"subject: {escape(message['subject'] or '')}")
        console.print(escape(message["new_text"] or ""))
        if message["category"]:
            console.print(
                f"[dim]triage: {message['category']} ({message['confidence'] or 0:.2f})[/dim]"
            )
        for reason in message["reasons"]:
            console.print(f"[dim]  - {escape(reason)}[/dim]")
        sender = message.get("sender_check")
        if sender:
            why = "; ".join(sender.get("reasons") or [])
            style = "bold red" if sender["status"] in ("failed", "lookalike") else "dim"
            console.print(f"[{style}]sender: {sender['status']}[/{style}] [dim]{escape(why)}[/dim]")
        route = message.get("route") or {}
        for line in route.get("explanation") or []:
            console.print(f"[dim]  route: {escape(str(line))}[/dim]")
    console.rule("history")
    table = _table()
    table.add_column("at", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("by", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("detail", overflow="fold")
    for event in detail["events"]:
        table.add_row(
            _human_time(event["at"]) if event["at"] else "",
            _words(event["kind"]),
            escape(event["actor"]),
            escape(event_text(event["detail"])),
        )
    console.print(table)
