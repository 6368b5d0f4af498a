"""The people of the workspace (admins only): add, change, disable, sign out, set a password.

The same functions as `mailbot user` (`accounts/users.py`), each recording who did it.
A password is only ever read from the form and hashed: never shown, logged or put back
into a page. The workspace always keeps one enabled admin (the functions refuse to
demote or disable the last). An admin who signs themselves out, disables themselves or
sets their own password is sent to the sign-in page; one who gives up the admin role is
sent to the queue.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailbot.accounts.users import (
    LANGUAGES,
    ROLES,
    TRIAGE_KEY,
    add_user,
    change_user,
    find_user,
    list_users,
    set_disabled,
    set_password,
    sign_out_everywhere,
)
from mailbot.web.context import SESSION_COOKIE, Ctx, Denied, page


def _name(ctx: Ctx) -> str:
    return find_user(ctx.db, ctx.request.path_params["name"]).name


def _projects(ctx: Ctx) -> list[str]:
    """The ticked project boxes."""
    if ctx.form is None:
        return []
    return [value for value in ctx.form.getlist("projects") if isinstance(value, str)]


def _given(ctx: Ctx, name: str) -> str | None:
    """A field's value, or None when the form does not have it (left unchanged)."""
    return ctx.field(name) if ctx.form is not None and name in ctx.form else None


def _password(ctx: Ctx) -> str:
    password = ctx.form.get("password") if ctx.form is not None else None
    again = ctx.form.get("again") if ctx.form is not None else None
    # Not stripped: spaces may be part of a password.
    if not isinstance(password, str) or password != again:
        raise Denied(400, ctx._("The two passwords differ."))
    return password


def _signed_out(ctx: Ctx) -> Response:
    """The person's own sessions were ended: to the sign-in page."""
    response = ctx.redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=ctx.request.scope.get("root_path", "") or "/")
    return response


@page(admin=True)
def users(ctx: Ctx) -> Response:
    return ctx.render(
        "users.html",
        people=list_users(ctx.db),
        roles=ROLES,
        languages=LANGUAGES,
        projects=[*(p.key for p in ctx.config.projects), TRIAGE_KEY],
        done=ctx.request.query_params.get("done") or "",
        who=ctx.request.query_params.get("who") or "",
    )


@page(admin=True)
def add(ctx: Ctx) -> Response:
    user = add_user(
        ctx.db,
        ctx.config,
        ctx.field("name"),
        _password(ctx),
        role=ctx.field("role"),
        projects=_projects(ctx),
        display_name=ctx.field("display_name"),
        email=ctx.field("email") or None,
        language=ctx.field("language") or "en",
        timezone=ctx.field("timezone") or None,
        actor=ctx.me.name,
    )
    return ctx.redirect("/users", done="added", who=user.name)


@page(admin=True)
def change(ctx: Ctx) -> Response:
    user = change_user(
        ctx.db,
        ctx.config,
        _name(ctx),
        actor=ctx.me.name,
        role=ctx.field("role") or None,
        # Unticked boxes are not sent: the form says it showed them.
        projects=_projects(ctx) if _given(ctx, "projects_shown") is not None else None,
        display_name=_given(ctx, "display_name"),
        language=ctx.field("language") or None,
        timezone=_given(ctx, "timezone"),
    )
    if user.name == ctx.me.name and user.role != "admin":
        return ctx.redirect("/")  # no longer an admin: this page is not theirs any more
    return ctx.redirect("/users", done="changed", who=user.name)


@page(admin=True)
def disable(ctx: Ctx) -> Response:
    user = set_disabled(ctx.db, _name(ctx), True, actor=ctx.me.name)
    if user.name == ctx.me.name:
        return _signed_out(ctx)
    return ctx.redirect("/users", done="disabled", who=user.name)


@page(admin=True)
def enable(ctx: Ctx) -> Response:
    user = set_disabled(ctx.db, _name(ctx), False, actor=ctx.me.name)
    return ctx.redirect("/users", done="enabled", who=user.name)


@page(admin=True)
def logout(ctx: Ctx) -> Response:
    name = _name(ctx)
    sign_out_everywhere(ctx.db, name, actor=ctx.me.name)
    if name == ctx.me.name:
        return _signed_out(ctx)
    return ctx.redirect("/users", done="signed_out", who=name)


@page(admin=True)
def password(ctx: Ctx) -> Response:
    user = set_password(ctx.db, _name(ctx), _password(ctx), actor=ctx.me.name)
    if user.name == ctx.me.name:
        return _signed_out(ctx)
    return ctx.redirect("/users", done="password", who=user.name)


ROUTES = [
    Route("/users", users, methods=["GET"], name="users"),
    Route("/users/add", add, methods=["POST"]),
    Route("/users/{name}/set", change, methods=["POST"]),
    Route("/users/{name}/disable", disable, methods=["POST"]),
    Route("/users/{name}/enable", enable, methods=["POST"]),
    Route("/users/{name}/logout", logout, methods=["POST"]),
    Route("/users/{name}/password", password, methods=["POST"]),
]

NAV = [("/users", "Users", True)]
