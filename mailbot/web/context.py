"""One request of a signed-in person: the database session, who they are, how to render.

`page()` wraps every endpoint: it opens one transaction, finds the person behind the
session cookie, checks the CSRF token of every POST and the role an endpoint needs,
and commits only when the handler succeeds. Handlers are plain functions of a `Ctx`.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mailbot.accounts.signin import Visit, resume
from mailbot.accounts.users import Person
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.items.actions import ActionError
from mailbot.storage.db import Database
from mailbot.web.i18n import Gettext, format_moment, gettext_for

log = logging.getLogger("mailbot.web")

SESSION_COOKIE = "mailbot_session"
TEMPLATES = Path(__file__).parent / "templates"
Handler = Callable[["Ctx"], Response]


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Records shown as JSON keep Chinese readable (tojson still escapes < > & ').
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


@dataclass
class Web:
    """What every request shares: the config, the database, the templates, a clock."""

    config: Config
    db: Database
    env: Environment = field(default_factory=make_environment)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # The menu: (path, English label for _(), admins only), from each page module's NAV.
    nav: list[tuple[str, str, bool]] = field(default_factory=list)
    sending: list[threading.Thread] = field(default_factory=list)  # deliveries under way

    def deliver_in_background(self) -> threading.Thread:
        """Send what the outbox has due, off the request (the daemon would, later)."""

        def deliver() -> None:
            from mailbot.outgoing.delivery import deliver_outbox

            try:
                deliver_outbox(self.db, self.config)
            except Exception:  # the daemon's next pass sends it; a page must not fail
                log.exception("sending right after a page's action failed; the daemon will")

        thread = threading.Thread(target=deliver, name="mailbot-web-send", daemon=True)
        thread.start()
        self.sending.append(thread)
        self.sending[:] = [t for t in self.sending if t.is_alive()]
        return thread

    def zone(self, name: str | None) -> ZoneInfo:
        for candidate in (name, self.config.schedules.timezone, "UTC"):
            if candidate:
                try:
                    return ZoneInfo(candidate)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return ZoneInfo("UTC")


class Denied(Exception):
    """The person may not do this (403), or may not know the thing exists (404)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Ctx:
    request: Request
    web: Web
    db: Session
    me: Person
    csrf: str
    form: FormData | None
    now: datetime
    _: Gettext
    zone: ZoneInfo
    send_after_commit: bool = False

    def send_soon(self) -> None:
        """Deliver the outbox once this request's transaction is committed ([web] send_at_once)."""
        self.send_after_commit = self.config.web.send_at_once

    @property
    def config(self) -> Config:
        return self.web.config

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def url(self, path: str, **query: Any) -> str:
        root = self.request.scope.get("root_path", "")
        params = {k: v for k, v in query.items() if v not in (None, "", False)}
        return root + path + (("?" + urlencode(params, doseq=True)) if params else "")

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def day(self, name: str) -> date | None:
        """A date field (YYYY-MM-DD, as <input type=date> sends it); empty is None."""
        text = self.field(name)
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ActionError(f"{text!r} is not a date", "pick the date again") from None

    def when(self, moment: datetime | None, short: bool = True) -> str:
        return format_moment(moment, self.zone, self.me.language, short=short)

    def menu(self) -> list[tuple[str, str]]:
        return [
            (self.url(path), self._(label))
            for path, label, admin_only in self.web.nav
            if self.me.is_admin or not admin_only
        ]

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.web.env.get_template(template).render(ctx=self, _=self._, me=self.me, **values)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def redirect(self, path: str, **query: Any) -> RedirectResponse:
        return RedirectResponse(self.url(path, **query), status_code=303)

    def deny(self, status: int = 403, message: str = "") -> Denied:
        return Denied(status, message)


def _visit(web: Web, db: Session, request: Request, now: datetime) -> Visit | None:
    return resume(db, web.config.web, request.cookies.get(SESSION_COOKIE), now)


def _csrf_ok(visit: Visit, request: Request, form: FormData | None) -> bool:
    sent = request.headers.get("x-csrf-token") or (form.get("csrf") if form is not None else None)
    return isinstance(sent, str) and hmac.compare_digest(sent, visit.csrf)


def _to_login(web: Web, request: Request) -> Response:
    root = request.scope.get("root_path", "")
    target = request.url.path[len(root) :] if request.url.path.startswith(root) else "/"
    if request.url.query:
        target += "?" + request.url.query
    location = f"{root}/login?{urlencode({'next': target})}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_page(
    web: Web, request: Request, status: int, person: Person | None, message: str = ""
) -> Response:
    _ = gettext_for(person.language if person else web.config.web.language)
    titles = {403: _("Not allowed"), 404: _("Not found"), 400: _("Cannot do that")}
    html = web.env.get_template("error.html").render(
        ctx=None,
        _=_,
        me=person,
        status=status,
        title=titles.get(status, str(status)),
        message=message,
        root=request.scope.get("root_path", ""),
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def page(
    *, write: bool = False, admin: bool = False
) -> Callable[[Handler], Callable[[Request], Any]]:
    """An endpoint for signed-in people; `write`: not for viewers; `admin`: admins only.

    Every POST must carry the session's CSRF token (form field `csrf` or header
    X-CSRF-Token), whatever the endpoint.
    """

    def wrap(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else None
            return await run_in_threadpool(_run, handler, request, form)

        def _run(handler: Handler, request: Request, form: FormData | None) -> Response:
            web: Web = request.app.state.web
            now = web.clock()
            me: Person | None = None
            try:
                with web.db.session() as db:  # commits on return, rolls back on Denied
                    visit = _visit(web, db, request, now)
                    if visit is None:
                        return _to_login(web, request)  # an expired session row is deleted
                    me = visit.person
                    _ = gettext_for(me.language)
                    if request.method == "POST" and not _csrf_ok(visit, request, form):
                        log.warning("refused a form without a valid CSRF token from %s", me.name)
                        message = _(
                            "This form has expired. Go back, reload the page and try again."
                        )
                        return error_page(web, request, 403, me, message)
                    if (admin and not me.is_admin) or (write and not me.can_act):
                        return error_page(web, request, 403, me, _("Your role may not do this."))
                    ctx = Ctx(
                        request=request,
                        web=web,
                        db=db,
                        me=me,
                        csrf=visit.csrf,
                        form=form,
                        now=now,
                        _=_,
                        zone=web.zone(me.timezone),
                    )
                    response = handler(ctx)
                if ctx.send_after_commit:
                    web.deliver_in_background()
                return response
            except Denied as denied:
                return error_page(web, request, denied.status, me, denied.message)
            except MailbotError as err:  # an action refused: nothing of it was kept
                hint = f" {err.hint}" if err.hint else ""
                return error_page(web, request, 400, me, f"{err.message}.{hint}")

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def query_args(request: Request) -> Mapping[str, str]:
    return request.query_params
