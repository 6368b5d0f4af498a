"""Tables for people: the queue and one item, drawn with rich."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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
    # 80 columns; a wide table reads better there.
    console = Console()
    return console if console.is_terminal else Console(width=200)


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
    """"3 Dec 14:05 UTC" for a person; JSON keeps ISO 8601 with the offset."""
    moment = datetime.fromisoformat(iso)
    return f"{moment.day} {moment:%b %H:%M} {moment.tzname() or ''}".rstrip()


def print_items(rows: list[dict[str, Any]], now: datetime, console: Console | None = None) -> None:
    """The queue as a table: ref, flags, category, status, age, SLA due, client, title."""
    console = console or _console()
    if not rows:
        console.print("no items match")
        return
    table = Table(caption=LEGEND, caption_justify="left")
    for name in ("ref", "flags", "category", "status", "age", "SLA due", "client", "title"):
        table.add_column(name, no_wrap=name in ("ref", "flags", "age"), overflow="fold")
    for row in rows:
        created = datetime.fromisoformat(row["created_at"])
        table.add_row(
            row["ref"],
            row["flags"],
            row["category"],
            row["status"],
            format_age(now - created),
            _due(row, now),
            escape(row["client"] or "-"),
            escape(row["title"]),  # client text: rich markup in it must stay literal
        )
    console.print(table)


def print_detail(detail: dict[str, Any], console: Console | None = None) -> None:
    """One item: its fields, its messages with triage reasons and routes, its history."""
    console = console or _console()
    head = f"[bold]{detail['ref']}[/bold]  {detail['category']} / {detail['status']}"
    console.print(head + (f"  [dim]flags {detail['flags']}[/dim]" if detail["flags"] else ""))
    console.print(f"title:    {escape(detail['title'])}")
    console.print(f"client:   {escape(detail['client'] or '-')}  language {detail['language']}")
    console.print(f"assignee: {escape(detail['assignee'] or '-')}")
    due = detail["sla_due_at"]
    console.print(f"SLA:      {detail['sla']}" + (f" (due {_human_time(due)})" if due else ""))
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
    table = Table(show_header=True)
    for name in ("at", "kind", "actor", "detail"):
        table.add_column(name, overflow="fold")
    for event in detail["events"]:
        table.add_row(
            _human_time(event["at"]) if event["at"] else "",
            event["kind"],
            escape(event["actor"]),
            escape(json.dumps(event["detail"], ensure_ascii=False)),
        )
    console.print(table)
