"""The route stage: which project (and which existing item) a message belongs to.

A chain of steps (`rules/pipeline/chains.toml` lists them in order), each recorded in the
explanation: the thread, a reference tag such as [ACME-42] in the subject, the
plus-address alias, a known client address, a client domain, project keywords; when none
places the mail it is unassigned, for the triage queue. A sender who belongs to several
projects is told apart by keywords, else unassigned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mailbot.config_types import ProjectConfig
from mailbot.items.store import ItemRef
from mailbot.message import Message
from mailbot.pipeline.chains import Outcome, checked, load_chains, run_chain

REF_TAG = re.compile(r"\[([A-Z][A-Z0-9]{1,15})-(\d{1,9})\]")
# Headers where the original envelope recipient survives forwarding and BCC.
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to")
OUTSIDER = "outsider"  # the step of a mail written into a thread that is not its writer's


class ItemLookup(Protocol):
    """What routing needs to know about items already filed."""

    def item_for_message_ids(self, message_ids: Sequence[str]) -> ItemRef | None: ...

    def item_for_ref(self, ref: str) -> ItemRef | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    project: str | None  # the project key, or None: unassigned
    item: ItemRef | None  # the existing item this message follows up, if any
    step: str  # thread | ref_tag | alias | address | domain | keywords | unassigned | outsider
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


def is_listed_client(project: ProjectConfig, sender: str) -> bool:
    """Is `sender` one of the project's client addresses, or at one of its client domains?"""
    return project.lists(sender)


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


@dataclass(frozen=True, slots=True)
class RouteInput:
    message: Message
    projects: Sequence[ProjectConfig]
    lookup: ItemLookup
    is_own: Callable[[str], bool] = lambda address: False  # our people and addresses

    @property
    def sender(self) -> str:
        return self.message.from_.email if self.message.from_ else ""

    def may_follow_up(self, item: ItemRef) -> bool:
        """The item's client, another client of its project, or one of us: a copied tag
        or Message-ID never lets anyone else into a client's thread."""
        sender = self.sender
        if not sender:
            return False
        if sender == (item.client_email or "").lower() or self.is_own(sender):
            return True
        project = next((p for p in self.projects if p.key == item.project), None)
        return project is not None and project.lists(sender)


def _outsider(mail: RouteInput, item: ItemRef, how: str) -> Outcome[Route]:
    """Someone else writes into a client's thread: a new item for review, the thread untouched."""
    reason = (
        f"{how} {item.ref}, but {mail.sender or 'the sender'} is not its client nor one of "
        "us: not attached, left for review"
    )
    return Outcome(Route(None, None, OUTSIDER, ()), reason)


Step = Callable[[RouteInput], Outcome[Route]]


def _thread(mail: RouteInput) -> Outcome[Route]:
    message = mail.message
    thread_ids = [i for i in (message.in_reply_to, *reversed(message.references)) if i]
    item = mail.lookup.item_for_message_ids(thread_ids) if thread_ids else None
    if item is not None:
        if not mail.may_follow_up(item):
            return _outsider(mail, item, "In-Reply-To/References name")
        reason = f"follows up {item.ref}"
        return Outcome(Route(item.project, item, "thread", ()), reason)
    return Outcome(None, "no filed message in In-Reply-To/References")


def _ref_tag(mail: RouteInput) -> Outcome[Route]:
    unknown: list[str] = []
    for match in REF_TAG.finditer(mail.message.subject):
        ref = f"{match.group(1)}-{int(match.group(2))}"
        item = mail.lookup.item_for_ref(ref)
        if item is not None:
            if not mail.may_follow_up(item):
                return _outsider(mail, item, "the subject names")
            return Outcome(Route(item.project, item, "ref_tag", ()), f"subject names {ref}")
        unknown.append(f"{ref} in the subject is not a known item")
    return Outcome(None, "; ".join(unknown) or "none in the subject")


def _alias(mail: RouteInput) -> Outcome[Route]:
    recipients = _recipients(mail.message)
    for project in mail.projects:
        if project.alias and project.alias in recipients:
            return Outcome(
                Route(project.key, None, "alias", ()), f"sent to {project.alias} → {project.key}"
            )
    return Outcome(None, "no project alias among the recipients")


def _by_client(step: str, candidates: Sequence[ProjectConfig], mail: RouteInput) -> Outcome[Route]:
    sender = mail.sender
    if len(candidates) == 1:
        project = candidates[0]
        return Outcome(Route(project.key, None, step, ()), f"{sender} is a client of {project.key}")
    if len(candidates) > 1:
        keys = ", ".join(p.key for p in candidates)
        chosen, reason = _by_keywords(candidates, mail.message)
        why = f"{sender} is a client of {keys}; {reason}"
        if chosen is not None:
            return Outcome(Route(chosen.key, None, step, ()), why)
        return Outcome(Route(None, None, "unassigned", ()), why)
    return Outcome(None, f"{sender or 'the sender'} is not a listed client {step}")


def _address(mail: RouteInput) -> Outcome[Route]:
    sender = mail.sender
    return _by_client(
        "address", [p for p in mail.projects if sender and sender in p.client_addresses], mail
    )


def _domain(mail: RouteInput) -> Outcome[Route]:
    domain = mail.sender.rpartition("@")[2]
    candidates = [
        p
        for p in mail.projects
        if domain and any(_domain_matches(domain, d) for d in p.client_domains)
    ]
    return _by_client("domain", candidates, mail)


def _keywords(mail: RouteInput) -> Outcome[Route]:
    chosen, reason = _by_keywords(mail.projects, mail.message)
    if chosen is not None:
        return Outcome(Route(chosen.key, None, "keywords", ()), reason)
    return Outcome(None, reason)


ROUTE_STEPS: dict[str, Step] = {
    "thread": _thread,
    "ref_tag": _ref_tag,
    "alias": _alias,
    "address": _address,
    "domain": _domain,
    "keywords": _keywords,
}


def route_steps(path: Path | None = None) -> tuple[str, ...]:
    """The routing steps in the order `rules/pipeline/chains.toml` lists them."""
    return checked(path, "route", load_chains(path)["route"], ROUTE_STEPS)


def route_to_project(
    message: Message,
    projects: Sequence[ProjectConfig],
    lookup: ItemLookup,
    steps: Sequence[str] | None = None,
    *,
    is_own: Callable[[str], bool] = lambda address: False,
) -> Route:
    """Run the routing chain; the route explains every step it tried. `is_own` tells our
    own people's addresses (they may write in any client's thread)."""
    mail = RouteInput(message, projects, lookup, is_own)
    names = route_steps() if steps is None else steps
    decided, record = run_chain([(name, lambda s=ROUTE_STEPS[name]: s(mail)) for name in names])
    why = tuple(str(link) for link in record)
    if decided is None:
        return Route(None, None, "unassigned", (*why, "unassigned: left for the triage queue"))
    return Route(decided.project, decided.item, decided.step, why)
