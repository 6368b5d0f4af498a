"""The signed-in person's own settings: language, time zone, password."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailbot.accounts.passwords import password_matches
from mailbot.accounts.users import LANGUAGES, change_user, find_user, set_password
from mailbot.web.context import SESSION_COOKIE, Ctx, Denied, page


@page()
def account(ctx: Ctx) -> Response:
    return ctx.render(
        "account.html", languages=LANGUAGES, done=ctx.request.query_params.get("done")
    )


@page()
def account_post(ctx: Ctx) -> Response:
    change_user(
        ctx.db,
        ctx.config,
        ctx.me.name,
        actor=ctx.me.name,
        language=ctx.field("language") or None,
        timezone=ctx.field("timezone"),
    )
    return ctx.redirect("/account", done="saved")


@page()
def password_post(ctx: Ctx) -> Response:
    user = find_user(ctx.db, ctx.me.name)
    if not password_matches(user.password_hash, ctx.field("current")):
        raise Denied(400, ctx._("The current password is wrong."))
    if ctx.field("new") != ctx.field("again"):
        raise Denied(400, ctx._("The two new passwords differ."))
    set_password(ctx.db, ctx.me.name, ctx.field("new"), actor=ctx.me.name)
    # Every session ended, this one too: sign in again with the new password.
    response = ctx.redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=ctx.request.scope.get("root_path", "") or "/")
    return response


ROUTES = [
    Route("/account", account, methods=["GET"], name="account"),
    Route("/account", account_post, methods=["POST"]),
    Route("/account/password", password_post, methods=["POST"]),
]
