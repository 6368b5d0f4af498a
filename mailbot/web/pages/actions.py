"""What a PM does on the item page: each form calls the same function as `mailbot queue …`.

Every action is checked against the person (404 for an item of another project, 403 for
a viewer), recorded with their name, and redirects back to the item page.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from starlette.responses import Response
from starlette.routing import Route

from mailbot.errors import MailbotError
from mailbot.items import actions, change_control, progress
from mailbot.items.lifecycle import LIFECYCLES
from mailbot.storage.models import Item
from mailbot.web.access import item_for
from mailbot.web.context import Ctx, Denied, page


def _ref(ctx: Ctx) -> str:
    return str(ctx.request.path_params["ref"])


def _back(ctx: Ctx, ref: str, done: str) -> Response:
    return ctx.redirect(f"/items/{ref}", done=done)


@page(write=True)
def reclassify(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    actions.reclassify(
        ctx.db,
        ctx.config,
        item.ref,
        ctx.field("category"),
        actor=ctx.me.name,
        reason=ctx.field("reason"),
    )
    return _back(ctx, item.ref, "reclassified")


@page(write=True)
def move(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    moved = actions.move(
        ctx.db,
        ctx.config,
        item.ref,
        ctx.field("project"),
        actor=ctx.me.name,
        reason=ctx.field("reason"),
    )
    if not ctx.me.sees(moved.project_key):
        return ctx.redirect("/", done="moved")  # out of this person's projects
    return _back(ctx, moved.ref, "moved")


@page(write=True)
def assign(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    actions.assign(
        ctx.db, item.ref, ctx.field("who"), actor=ctx.me.name, reason=ctx.field("reason")
    )
    return _back(ctx, item.ref, "assigned")


@page(write=True)
def note(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    actions.add_note(ctx.db, item.ref, ctx.field("text"), actor=ctx.me.name)
    return _back(ctx, item.ref, "noted")


@page(write=True)
def merge(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    target = item_for(ctx.db, ctx.me, ctx.field("into"), act=True)
    actions.merge(ctx.db, item.ref, target.ref, actor=ctx.me.name, reason=ctx.field("reason"))
    return _back(ctx, target.ref, "merged")


@page(write=True)
def split(ctx: Ctx) -> Response:
    row = actions.find_message(ctx.db, str(ctx.request.path_params["id"]))
    source = ctx.db.get(Item, row.item_id) if row.item_id is not None else None
    if source is None:
        raise Denied(404)
    item_for(ctx.db, ctx.me, source.ref, act=True)
    new = actions.split(ctx.db, row.id, actor=ctx.me.name, reason=ctx.field("reason"))
    return _back(ctx, new.ref, "split")


def _mail_text(raw: bytes) -> tuple[str, str, str]:
    """(To, Subject, plain text) of a composed mail."""
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return str(mail["To"] or ""), str(mail["Subject"] or ""), text


@page(write=True)
def status_preview(ctx: Ctx) -> Response:
    """The status mail exactly as the client would get it, made by the real code and undone."""
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    status = ctx.request.query_params.get("status", "")
    note_text = ctx.request.query_params.get("note", "")
    allowed = LIFECYCLES.get(item.category, {}).get(item.status, ())
    if status not in allowed:
        raise Denied(400, ctx._("%(ref)s cannot move to %(status)s.", ref=item.ref, status=status))
    preview = None
    savepoint = ctx.db.begin_nested()
    try:
        change = actions.set_status(
            ctx.db,
            ctx.config,
            item.ref,
            status,
            actor=ctx.me.name,
            note=note_text or None,
            notify=True,
            now=ctx.now,
        )
        if change.outbox is not None:
            preview = _mail_text(change.outbox.raw)
    except MailbotError as err:
        preview = None
        problem = err.message
    else:
        problem = ""
    finally:
        savepoint.rollback()
    ctx.db.expire_all()
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    return ctx.render(
        "action_status.html",
        item=item,
        new_status=status,
        note=note_text,
        preview=preview,
        problem=problem,
    )


@page(write=True)
def status(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    actions.set_status(
        ctx.db,
        ctx.config,
        item.ref,
        ctx.field("status"),
        actor=ctx.me.name,
        note=ctx.field("note") or None,
        notify=ctx.field("notify") == "1",
        now=ctx.now,
        text=_edited(ctx.field("body"), ctx.field("original")),
    )
    if ctx.field("notify") == "1":
        ctx.send_soon()
    return _back(ctx, item.ref, "status")


def _edited(body: str, original: str) -> str | None:
    """The mail text the person changed, or None when they left the preview as it was."""

    def norm(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))

    return body if body.strip() and norm(body) != norm(original) else None


@page(write=True)
def assess(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    change_control.assess(
        ctx.db,
        item,
        effort=ctx.field("effort") or None,
        schedule=ctx.field("schedule") or None,
        cost=ctx.field("cost") or None,
        notes=ctx.field("notes") or None,
        actor=ctx.me.name,
        now=ctx.now,
    )
    return _back(ctx, item.ref, "assessed")


@page(write=True)
def request_approval(ctx: Ctx) -> Response:
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    change_control.request_approval(ctx.db, ctx.config, item, actor=ctx.me.name, now=ctx.now)
    ctx.send_soon()
    return _back(ctx, item.ref, "approval_requested")


@page(write=True)
def target(ctx: Ctx) -> Response:
    """When the team expects the item done; an empty date clears it."""
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    progress.set_target(ctx.db, item.ref, ctx.day("target"), actor=ctx.me.name)
    return _back(ctx, item.ref, "target")


@page(write=True)
def waiting(ctx: Ctx) -> Response:
    """The item waits on the client for something, by a date; "done" ends the wait."""
    item = item_for(ctx.db, ctx.me, _ref(ctx), act=True)
    if ctx.field("done"):
        progress.clear_waiting(ctx.db, item, actor=ctx.me.name, why="marked done")
    else:
        progress.set_waiting(
            ctx.db, item.ref, ctx.field("note"), needed_by=ctx.day("by"), actor=ctx.me.name
        )
    return _back(ctx, item.ref, "waiting")


ROUTES = [
    Route("/items/{ref}/reclassify", reclassify, methods=["POST"]),
    Route("/items/{ref}/target", target, methods=["POST"]),
    Route("/items/{ref}/waiting", waiting, methods=["POST"]),
    Route("/items/{ref}/move", move, methods=["POST"]),
    Route("/items/{ref}/assign", assign, methods=["POST"]),
    Route("/items/{ref}/note", note, methods=["POST"]),
    Route("/items/{ref}/merge", merge, methods=["POST"]),
    Route("/messages/{id:int}/split", split, methods=["POST"]),
    Route("/items/{ref}/status", status_preview, methods=["GET"]),
    Route("/items/{ref}/status", status, methods=["POST"]),
    Route("/items/{ref}/assess", assess, methods=["POST"]),
    Route("/items/{ref}/request-approval", request_approval, methods=["POST"]),
]
