"""Operations: mail that failed (the outbox page), breakers, and the mail called spam.

Who sees and does what:

- Outbox: outgoing mail the server would not take and incoming messages a stage could
  not finish (`pipeline/failures.py`). An admin sees every failure; everyone else the
  failures of their projects, as each failure names its project there: a message the
  project of the item it was filed to (TRIAGE while it is filed to none), outgoing mail
  the project of the item or summary it is about. Digests and notices about spam or
  breakers belong to no project: only admins see them. A pm or an admin may resend
  (the same outbox row, so the same Message-ID: the mail still goes out once) or retry
  a message from the stage that failed; a viewer reads.
- Breakers are kept per address, not per project: every signed-in person sees them;
  a pm or an admin may clear one.
- Spam is not tied to a project yet: only admins and people given the TRIAGE
  pseudo-project (who sort the mail not yet filed) see it and act on it. The mail's HTML
  is never shown; its plain text only when a person opens it, escaped.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailbot.accounts.users import TRIAGE_KEY, Person
from mailbot.pipeline.breakers import clear_breaker, list_breakers
from mailbot.pipeline.failures import (
    MESSAGE,
    list_failures,
    message_project,
    parse_key,
    requeue,
    show_failure,
)
from mailbot.pipeline.spam import list_spam, mark_not_spam, mark_spam, spam_text
from mailbot.storage.models import StoredMessage
from mailbot.web.access import visible_projects
from mailbot.web.context import Ctx, Denied, page

SPAM_PAGE_SIZE = 50
TEXT_LIMIT = 20_000  # characters of a spam mail's text shown; enough to judge it


def _sees(me: Person, project: str | None) -> bool:
    """A failure of no project is for admins only."""
    return me.is_admin or (project is not None and me.sees(project))


def _done(ctx: Ctx) -> str:
    return ctx.request.query_params.get("done") or ""


# --- outbox: what failed ------------------------------------------------------------


@page()
def outbox(ctx: Ctx) -> Response:
    failures = list_failures(ctx.db, projects=visible_projects(ctx.me))
    return ctx.render("outbox.html", failures=failures, done=_done(ctx))


@page(write=True)
def outbox_resend(ctx: Ctx) -> Response:
    """Resend an outgoing mail, or send a message round again from the stage that failed."""
    failure = show_failure(ctx.db, ctx.request.path_params["key"]).failure
    if not _sees(ctx.me, failure.project):
        raise Denied(404)
    [key] = requeue(ctx.db, [failure.key], actor=ctx.me.name, now=ctx.now)
    ctx.send_soon()
    return ctx.redirect("/outbox", done=key)


# --- breakers ------------------------------------------------------------------------


@page()
def breakers(ctx: Ctx) -> Response:
    return ctx.render("breakers.html", breakers=list_breakers(ctx.db, ctx.now), done=_done(ctx))


@page(write=True)
def breakers_clear(ctx: Ctx) -> Response:
    address = ctx.field("address")
    if not address:
        raise Denied(400, ctx._("Say which address to answer again."))
    cleared = clear_breaker(ctx.db, address, actor=ctx.me.name, now=ctx.now)
    return ctx.redirect("/breakers", done=cleared.address)


# --- spam ------------------------------------------------------------------------------


def _spam_allowed(ctx: Ctx, *, act: bool = False) -> None:
    if not ctx.me.sees(TRIAGE_KEY):
        raise Denied(
            403,
            ctx._(
                "Spam is not tied to a project yet: only admins and people who sort "
                "unfiled mail (the TRIAGE project) see it. Ask an admin if you need it."
            ),
        )
    if act and not ctx.me.can_act:
        raise Denied(403, ctx._("Your role may not do this."))


def _spam_key(ctx: Ctx) -> str:
    """The message the form names, checked against the projects the person sees."""
    key = ctx.field("key")
    if not key:
        raise Denied(400, ctx._("Say which message (m and its number)."))
    kind, number = parse_key(key)
    row = ctx.db.get(StoredMessage, number) if kind == MESSAGE else None
    # Mail already filed to an item of a project the person does not see: not theirs.
    if row is not None and not _sees(ctx.me, message_project(ctx.db, row)):
        raise Denied(404)
    return f"m{number}"


@page()
def spam(ctx: Ctx) -> Response:
    _spam_allowed(ctx)
    try:
        number = max(1, int(ctx.request.query_params.get("page") or 1))
    except ValueError:
        number = 1
    # One more than a page tells whether there is a next page.
    found = list_spam(ctx.db, limit=SPAM_PAGE_SIZE + 1, offset=(number - 1) * SPAM_PAGE_SIZE)
    mails = found[:SPAM_PAGE_SIZE]
    texts = {m.key: spam_text(ctx.db, m.key)[:TEXT_LIMIT] for m in mails}
    return ctx.render(
        "spam.html",
        mails=mails,
        texts=texts,
        page=number,
        more=len(found) > SPAM_PAGE_SIZE,
        done=_done(ctx),
        action=ctx.request.query_params.get("action") or "",
    )


@page(write=True)
def spam_not_spam(ctx: Ctx) -> Response:
    _spam_allowed(ctx, act=True)
    key = _spam_key(ctx)
    [done] = mark_not_spam(
        ctx.db, [key], actor=ctx.me.name, now=ctx.now, reason=ctx.field("reason")
    )
    return ctx.redirect("/spam", done=done, action="not_spam")


@page(write=True)
def spam_mark(ctx: Ctx) -> Response:
    _spam_allowed(ctx, act=True)
    key = _spam_key(ctx)
    mark_spam(ctx.db, [key], actor=ctx.me.name, now=ctx.now, reason=ctx.field("reason"))
    return ctx.redirect("/spam", done=key, action="spam")


ROUTES = [
    Route("/outbox", outbox, methods=["GET"], name="outbox"),
    Route("/outbox/{key}/resend", outbox_resend, methods=["POST"]),
    Route("/breakers", breakers, methods=["GET"], name="breakers"),
    Route("/breakers/clear", breakers_clear, methods=["POST"]),
    Route("/spam", spam, methods=["GET"], name="spam"),
    Route("/spam/not-spam", spam_not_spam, methods=["POST"]),
    Route("/spam/mark", spam_mark, methods=["POST"]),
]

NAV = [
    ("/spam", "Spam", False),
    ("/outbox", "Outbox", False),
    ("/breakers", "Breakers", False),
]
