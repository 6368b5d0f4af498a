"""The ASGI application: routes of every page, static files, security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailbot.config import Config
from mailbot.storage.db import Database
from mailbot.web.context import Web
from mailbot.web.pages import PAGES

STATIC = Path(__file__).parent / "static"

# Client text is shown on these pages: nothing inline runs, nothing loads from elsewhere,
# no page may be framed, and no form posts anywhere but here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; frame-src 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    for module in PAGES:
        found += module.ROUTES
    return found


def create_app(
    config: Config, db: Database, *, clock: Callable[[], datetime] | None = None
) -> Starlette:
    """The web workspace for `config`'s database; `clock` lets tests set the time."""
    web = Web(config=config, db=db)
    if clock is not None:
        web.clock = clock
    web.nav = [link for module in PAGES for link in getattr(module, "NAV", [])]
    app = Starlette(routes=routes())
    app.state.web = web
    app.add_middleware(SecurityHeaders)
    return app


__all__ = ["Route", "create_app"]
