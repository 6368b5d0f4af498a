"""The route stage: which project (and which existing item) a message belongs to.

Steps, in order, each recorded in the explanation: (a) the thread, (b) a
reference tag such as [ACME-42] in the subject, (c) the plus-address alias,
(d) a known client address, (e) a client domain, (f) project keywords,
(g) otherwise unassigned, for the triage queue. A sender who belongs to several
projects is told apart by keywords, else unassigned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mailbot.config_types import ProjectConfig
from mailbot.items.store import ItemRef
from mailbot.message import Message

REF_TAG = re.compile(r"\[([A-Z][A-Z0-9]{1,15})-(\d{1,9})\]")
# Headers where the original envelope recipient survives forwarding and BCC.
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to")


class ItemLookup(Protocol):
    """What routing needs to know about items already filed."""

    def item_for_message_ids(self, message_ids: Sequence[str]) -> ItemRef | None: ...

    def item_for_ref(self, ref: str) -> ItemRef | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    project: str | None  # the project key, or None: unassigned
    item: ItemRef | None  # the existing item this message follows up, if any
    step: str  # thread | ref_tag | alias | address | domain | keywords | unassigned
    explanation: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "project": self.project,
            "item": self.item.ref if self.item else None,
            "step": self.step,
            "explanation": list(self.explanation),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object], item_id: int | None) -> Route:
        """The route as stored with its message; `item_id` is the message's item, if any."""
        ref = data.get("item")
        item = ItemRef(item_id, str(ref), data.get("project")) if ref and item_id else None  # type: ignore[arg-type]
        return cls(
            data.get("project"),  # type: ignore[arg-type]
            item,
            str(data.get("step", "")),
            tuple(data.get("explanation") or ()),  # type: ignore[call-overload]
        )


def _recipients(message: Message) -> set[str]:
    found = {a.email for a in (*message.to, *message.cc)}
    for name, value in message.headers:
        if name in ENVELOPE_HEADERS:
            found.add(value.strip().strip("<>").lower())
    return found


def _domain_matches(sender_domain: str, domain: str) -> bool:
    return sender_domain == domain or sender_domain.endswith("." + domain)


def keyword_hits(project: ProjectConfig, text: str) -> list[str]:
    lowered = text.lower()
    return [k for k in project.keywords if k.lower() in lowered]


def _by_keywords(
    candidates: Sequence[ProjectConfig], message: Message
) -> tuple[ProjectConfig | None, str]:
    text = f"{message.subject}\n{message.new_text}"
    scored = sorted(((len(keyword_hits(p, text)), p) for p in candidates), key=lambda s: -s[0])
    if not scored or scored[0][0] == 0:
        return None, "no project keyword in subject or text"
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        tied = ", ".join(p.key for n, p in scored if n == scored[0][0])
        return None, f"keywords match several projects equally ({tied})"
    best = scored[0][1]
    return best, f"keywords {keyword_hits(best, text)} → {best.key}"


def route_to_project(
    message: Message, projects: Sequence[ProjectConfig], lookup: ItemLookup
) -> Route:
    why: list[str] = []

    thread_ids = [i for i in (message.in_reply_to, *reversed(message.references)) if i]
    item = lookup.item_for_message_ids(thread_ids) if thread_ids else None
    if item is not None:
        return Route(item.project, item, "thread", (f"thread: follows up {item.ref}",))
    why.append("thread: no filed message in In-Reply-To/References")

    for match in REF_TAG.finditer(message.subject):
        ref = f"{match.group(1)}-{int(match.group(2))}"
        item = lookup.item_for_ref(ref)
        if item is not None:
            return Route(item.project, item, "ref_tag", (*why, f"ref_tag: subject names {ref}"))
        why.append(f"ref_tag: {ref} in the subject is not a known item")
    else:
        why.append("ref_tag: none in the subject")

    recipients = _recipients(message)
    for project in projects:
        if project.alias and project.alias in recipients:
            return Route(
                project.key,
                None,
                "alias",
                (*why, f"alias: sent to {project.alias} → {project.key}"),
            )
    why.append("alias: no project alias among the recipients")

    sender = message.from_.email if message.from_ else ""
    by_address = [p for p in projects if sender and sender in p.client_addresses]
    sender_domain = sender.rpartition("@")[2]
    by_domain = [
        p
        for p in projects
        if sender_domain and any(_domain_matches(sender_domain, d) for d in p.client_domains)
    ]
    for step, candidates in (("address", by_address), ("domain", by_domain)):
        if len(candidates) == 1:
            project = candidates[0]
            return Route(
                project.key, None, step, (*why, f"{step}: {sender} is a client of {project.key}")
            )
        if len(candidates) > 1:
            keys = ", ".join(p.key for p in candidates)
            chosen, reason = _by_keywords(candidates, message)
            if chosen is not None:
                return Route(
                    chosen.key,
                    None,
                    step,
                    (*why, f"{step}: {sender} is a client of {keys}; {reason}"),
                )
            return Route(
                None,
                None,
                "unassigned",
                (*why, f"{step}: {sender} is a client of {keys}; {reason}"),
            )
        why.append(f"{step}: {sender or 'the sender'} is not a listed client {step}")

    chosen, reason = _by_keywords(projects, message)
    if chosen is not None:
        return Route(chosen.key, None, "keywords", (*why, f"keywords: {reason}"))
    why.append(f"keywords: {reason}")
    return Route(None, None, "unassigned", (*why, "unassigned: left for the triage queue"))
