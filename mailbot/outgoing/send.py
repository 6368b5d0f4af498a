"""`send_templated`: the one way mailbot makes a mail, from the template to the outbox row.

Whoever sends (the acknowledgement, a status mail, the approval request, the confirmation of
a decision, a notice to the PM, the digest, the client summary) says what, about which
item or project, and why (the dedupe key); everything else is decided here, the same way
for every mail:

- the language: the one asked for, else the item's; "mixed" or none → the project's
  default → English. Mail to the PM is in `projects.pm_language`.
- the templates: one library per project templates folder (then the site's, then the
  built-in set), made once and kept for the life of the process.
- the shared context: ref, project, client_name, subject, status, pm_name and
  team_signature (templates/README.md); the caller's values come on top.
- the shape: a reply in the thread of `thread_from`, a stored message whose columns give
  the threading headers and the client's address, or a fresh mail with a subject.
- the outbox row: `enqueue` once per dedupe key, in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.config_types import ProjectConfig, SiteConfig
from mailbot.message import Address, clean_text, is_robot_address
from mailbot.outgoing.compose import Composed, ComposeError, compose_notice, compose_reply
from mailbot.outgoing.outbox import enqueue
from mailbot.outgoing.templates import (
    FALLBACK_LANGUAGE,
    Rendered,
    TemplateLibrary,
    TemplateNotFound,
    TemplateRenderError,
    canonical_language,
    language_order,
)
from mailbot.storage.models import Item, OutboxMail, StoredMessage

MIXED = "mixed"  # triage's language for a mail in more than one language
# What a stranger wrote is echoed back at most this long ("Dear <name>", "<subject>").
MAX_NAME_CHARS = 64
MAX_SUBJECT_CHARS = 200
SUBJECT_TEMPLATE = "subject"  # <kind>/subject.<language>.txt.j2: a fresh mail's subject line
# What can stop a mail being queued; the caller keeps what it recorded and reports why.
SEND_ERRORS = (ComposeError, TemplateNotFound, TemplateRenderError)


class Queue(Protocol):
    """Puts a composed mail into the outbox (as `outbox.enqueue`)."""

    def __call__(
        self, session: Session, composed: Composed, *, kind: str, message_pk: int | None
    ) -> OutboxMail | None: ...


class Audience(StrEnum):
    """Who reads the mail, which decides its language and how the PM appears in it."""

    CLIENT = "client"  # in the client's language, signed by the PM (or the team)
    PM = "pm"  # to the project's PM (or the team), in projects.pm_language, greeting the PM


@dataclass(frozen=True, slots=True)
class Draft:
    """A mail rendered but not yet addressed."""

    subject: str | None  # the kind's subject template, rendered when asked for
    body: Rendered


@cache
def _library(project_dir: Path | None, site_dir: Path | None) -> TemplateLibrary:
    return TemplateLibrary([d for d in (project_dir, site_dir) if d is not None])


def template_library(config: Config, project: ProjectConfig | None) -> TemplateLibrary:
    """The templates for `project` (None: the site's and the built-in ones), made once."""
    return _library(project.templates_dir if project else None, config.site.templates_dir)


def choose_language(
    *,
    item: Item | None,
    project: ProjectConfig | None,
    audience: Audience,
    language: str | None = None,
) -> tuple[str, str]:
    """(the language to write in, the one to fall back on before English)."""
    if audience is Audience.PM:
        pm_language = project.pm_language if project else FALLBACK_LANGUAGE
        return language or pm_language, FALLBACK_LANGUAGE
    default = project.language if project else FALLBACK_LANGUAGE
    wanted = language if language is not None else (item.language if item else None)
    if not wanted or wanted == MIXED:
        return default, default
    return refine_language(wanted, default), default


def refine_language(detected: str, known: str) -> str:
    """The detected script, in the regional variant the project (or client) is known for.

    A mail in Traditional Chinese from a project whose language is zh-HK is answered with
    Hong Kong wording, not Taiwan's: `zh-Hant` + `zh-HK` -> `zh-Hant-HK`. A different script
    is never overridden (a Simplified mail in a Hong Kong project stays Simplified).
    """
    wanted, variant = canonical_language(detected), canonical_language(known)
    return variant if variant.startswith(wanted + "-") else wanted


def site_languages(site: SiteConfig, language: str) -> list[str]:
    """`language_order(language)` with the tags as the site's tables spell them.

    The config writes Hong Kong as `zh-HK` (`site.signature_by_language`), the templates as
    `zh-Hant-HK`: a mail in zh-Hant-HK is signed with the `zh-HK` entry, and without one with
    the `zh-Hant` entry."""
    written = sorted({tag for tag, _text in (*site.names, *site.signatures)})
    order: list[str] = []
    for tag in language_order(language):
        order.append(tag)
        order.extend(w for w in written if w != tag and canonical_language(w) == tag)
    return order


def shared_context(
    config: Config,
    *,
    item: Item | None,
    project: ProjectConfig | None,
    audience: Audience,
    thread_from: StoredMessage | None = None,
    language: str = FALLBACK_LANGUAGE,
) -> dict[str, Any]:
    """What every template may use (templates/README.md); the caller adds its own values.

    `language` is the one the mail is written in: the team's name and signature follow it
    (`site.name_by_language`, `site.signature_by_language`)."""
    site = config.site
    pm_name = project.pm_name if project else None
    languages = site_languages(site, language)
    # A client mail is signed by the PM, else the team; a PM is greeted by name or not.
    signer = pm_name or ("" if audience is Audience.PM else site.name_in(languages))
    signature = site.signature_in(languages)
    values: dict[str, Any] = {
        "pm_name": signer,
        "pm_named": bool(pm_name),  # false: `pm_name` is the team's name standing in
        # Without a PM the team signs: its name once, not again as the last line.
        "team_signature": "" if signature == signer else signature,
    }
    if project is not None:
        values["project"] = {"name": project.name, "key": project.key}
    if item is not None:
        if project is None:  # unassigned mail: the team stands in for the project
            values["project"] = {"name": site.name, "key": item.project_key}
        # The name the client wrote under: in the mail answered, else on the item.
        writer = thread_from.from_name if thread_from is not None else item.client_name
        values.update(
            ref=item.ref,
            subject=clean_text(item.title or "", limit=MAX_SUBJECT_CHARS),
            status=item.status,
            client_name=greeting_name(writer or ""),
        )
    return values


_NOT_A_NAME = re.compile(r"://|www\.|@|\.(?:com|net|org|cn|example)\b", re.IGNORECASE)


def greeting_name(name: str) -> str:
    """The name to greet a writer by: their display name, cleaned, or "" (a neutral
    greeting) when it is long or carries a link or an address — a stranger's way of
    making our answer carry an advertisement."""
    name = clean_text(name)
    if len(name) > MAX_NAME_CHARS or _NOT_A_NAME.search(name):
        return ""
    return name


def render_templated(
    config: Config,
    *,
    kind: str,
    category: str,
    item: Item | None = None,
    project: ProjectConfig | None = None,
    audience: Audience = Audience.CLIENT,
    thread_from: StoredMessage | None = None,
    context: Mapping[str, Any] | None = None,
    language: str | None = None,
    subject: bool = False,
) -> Draft:
    """The body of `<kind>/<category>` (and with `subject`, the kind's subject line).

    This is what `send_templated` sends; previews (`mailbot digest --dry-run`) show it.
    """
    if project is None and item is not None:
        project = config.project(item.project_key)
    wanted, default = choose_language(
        item=item, project=project, audience=audience, language=language
    )
    library = template_library(config, project)
    written_in = library.language_for(kind, category, wanted, default)
    values = {
        **shared_context(
            config,
            item=item,
            project=project,
            audience=audience,
            thread_from=thread_from,
            language=written_in,
        ),
        **(context or {}),
    }
    title = None
    if subject:
        line = library.render(kind, SUBJECT_TEMPLATE, wanted, values, default_language=default)
        title = line.text.strip()
    body = library.render(kind, category, wanted, values, default_language=default)
    return Draft(title, body)


def reply_address(row: StoredMessage, project: ProjectConfig | None = None) -> Address | None:
    """Where an answer to a stored message goes: its sender, or its first Reply-To when that
    is a listed client of `project` too. A Reply-To anyone else wrote is never followed, so a
    stranger cannot make us mail a third party (RFC 3834: receipts go to the sender)."""
    reply_to = (row.recipients or {}).get("reply_to") or []
    wanted = reply_to[0]["email"] if reply_to else ""
    if wanted and project is not None and project.lists(wanted) and not is_robot_address(wanted):
        return Address(reply_to[0].get("name") or "", reply_to[0]["email"])
    if row.from_email:
        return Address(row.from_name or "", row.from_email)
    return None


def _recipients(
    to: Sequence[Address] | None,
    *,
    project: ProjectConfig | None,
    audience: Audience,
    thread_from: StoredMessage | None,
) -> list[Address]:
    if to is not None:
        return list(to)
    if audience is Audience.PM:
        return [Address("", project.pm)] if project and project.pm else []
    found = reply_address(thread_from, project) if thread_from is not None else None
    return [found] if found else []


def send_templated(
    session: Session,
    config: Config,
    *,
    kind: str,
    category: str,
    dedupe_key: str,
    now: datetime,
    item: Item | None = None,
    project: ProjectConfig | None = None,
    audience: Audience = Audience.CLIENT,
    to: Sequence[Address] | None = None,
    thread_from: StoredMessage | None = None,
    subject: str | None = None,
    context: Mapping[str, Any] | None = None,
    language: str | None = None,
    template_kind: str | None = None,
    message_pk: int | None = None,
    text: str | None = None,
    queue: Queue | None = None,
) -> OutboxMail | None:
    """Render, compose and queue one mail; None when its dedupe key was queued before.

    `queue`: how the mail goes into the outbox (`outbox.enqueue`, or a batch's own that
    writes its rows together at its end).

    `text`: what a person wrote over the rendered text (edited before sending); the mail is
    then that plain text only, in the template's language.

    `kind` is the outbox kind and, unless `template_kind` says otherwise, the template
    folder; `category` the template in it. With `thread_from` the mail is a reply in
    that message's thread about `item` (`Re: <subject> [REF]`); without, a fresh mail
    with `subject`, by default the kind's subject template. `to` defaults to the author
    of `thread_from` (its Reply-To first), or for `Audience.PM` to the project's PM.
    The outbox row points at `message_pk`, by default `thread_from`: an answer to the
    mail then files under the same item. Raises one of `SEND_ERRORS` when the mail
    cannot be made; nothing is queued then.
    """
    if project is None and item is not None:
        project = config.project(item.project_key)
    reply = thread_from is not None
    draft = render_templated(
        config,
        kind=template_kind or kind,
        category=category,
        item=item,
        project=project,
        audience=audience,
        thread_from=thread_from,
        context=context,
        language=language,
        subject=not reply and subject is None,
    )
    if text is not None and text.strip():
        edited = Rendered(
            language_used=draft.body.language_used,
            text=text.replace("\r\n", "\n").strip() + "\n",
            html=None,
            template_names=(*draft.body.template_names, "(edited by a person)"),
        )
        draft = replace(draft, body=edited)
    recipients = _recipients(to, project=project, audience=audience, thread_from=thread_from)
    if not recipients:
        raise ComposeError(
            f"nobody to send the {kind} mail to",
            "configure the address (projects.pm, client_addresses, digest_to) or write by hand",
        )
    site = config.site
    from_addr = Address(site.name_in(site_languages(site, draft.body.language_used)), site.address)
    envelope_from = config.smtp.envelope_from if config.smtp else None
    if thread_from is not None:
        if item is None or len(recipients) != 1:
            raise ValueError("a reply is about one item and goes to one person")
        composed = compose_reply(
            thread_from,
            draft.body,
            ref=item.ref,
            from_addr=from_addr,
            envelope_from=envelope_from,
            to=recipients[0],
            domain=site.domain,
            dedupe_key=dedupe_key,
            date=now,
        )
    else:
        composed = compose_notice(
            draft.body,
            subject=subject if subject is not None else draft.subject or "",
            from_addr=from_addr,
            envelope_from=envelope_from,
            to=recipients,
            domain=site.domain,
            dedupe_key=dedupe_key,
            date=now,
        )
    if message_pk is None and thread_from is not None:
        message_pk = thread_from.id
    return (queue or enqueue)(session, composed, kind=kind, message_pk=message_pk)
