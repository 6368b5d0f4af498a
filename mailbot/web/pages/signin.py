"""Signing in and out. The sign-in form is protected by a double-submit CSRF cookie."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mailbot.accounts.signin import SignInError, TooManyAttempts, sign_in, sign_out
from mailbot.web.context import SESSION_COOKIE, Ctx, Web, page
from mailbot.web.i18n import gettext_for

PRE_COOKIE = "mailbot_signin"  # the sign-in form's CSRF token, before there is a session


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _form(request: Request, *, error: str = "", status: int = 200, name: str = "") -> Response:
    web: Web = request.app.state.web
    language = request.query_params.get("lang") or web.config.web.language
    if language not in ("en", "zh-Hans"):
        language = web.config.web.language
    token = secrets.token_urlsafe(24)
    html = web.env.get_template("signin.html").render(
        _=gettext_for(language),
        me=None,
        ctx=None,
        root=request.scope.get("root_path", ""),
        csrf=token,
        error=error,
        name=name,
        next=_safe_next(request.query_params.get("next")),
        language=language,
        site=web.config.site.name,
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        PRE_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=web.config.web.secure_cookies,
        path=request.scope.get("root_path", "") or "/",
    )
    return response


async def signin_page(request: Request) -> Response:
    return _form(request)


async def signin_post(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_signin, request, {k: str(v) for k, v in form.items()})


def _signin(request: Request, form: dict[str, str]) -> Response:
    web: Web = request.app.state.web
    _ = gettext_for(request.query_params.get("lang") or web.config.web.language)
    cookie = request.cookies.get(PRE_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        return _form(
            request, error=_("The sign-in form had expired; please try again."), status=403
        )
    name = form.get("name", "")
    now = web.clock()
    with web.db.session() as db:
        try:
            signed = sign_in(
                db,
                web.config.web,
                name,
                form.get("password", ""),
                address=_address(request),
                now=now,
            )
        except TooManyAttempts as err:
            message = _(
                "Too many failed sign-ins. Wait %(minutes)s minutes and try again.",
                minutes=err.minutes,
            )
            error, status = message, 429
        except SignInError:
            error, status = _("The name or the password is wrong."), 401
        else:
            error, status = "", 200
    # Outside the transaction: a failed attempt is committed and counted.
    if error:
        return _form(request, error=error, status=status, name=name)
    root = request.scope.get("root_path", "")
    response = RedirectResponse(root + _safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(web.config.web.session_hours * 3600),
        httponly=True,
        secure=web.config.web.secure_cookies,
        samesite="lax",
        path=root or "/",
    )
    response.delete_cookie(PRE_COOKIE, path=root or "/")
    return response


def _signed_out(ctx: Ctx, everywhere: bool) -> Response:
    sign_out(ctx.db, ctx.request.cookies.get(SESSION_COOKIE), everywhere=everywhere)
    response = ctx.redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=ctx.request.scope.get("root_path", "") or "/")
    return response


@page()
def signout(ctx: Ctx) -> Response:
    return _signed_out(ctx, everywhere=False)


@page()
def signout_everywhere(ctx: Ctx) -> Response:
    return _signed_out(ctx, everywhere=True)


ROUTES = [
    Route("/login", signin_page, methods=["GET"], name="signin"),
    Route("/login", signin_post, methods=["POST"]),
    Route("/logout", signout, methods=["POST"], name="signout"),
    Route("/logout/everywhere", signout_everywhere, methods=["POST"], name="signout_everywhere"),
]
