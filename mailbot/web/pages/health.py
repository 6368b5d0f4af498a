"""Site health for admins: the daemon's own checks at a glance, and `mailbot doctor` on demand.

The page reads the database only (last fetch per mailbox, the outbox backlog, breakers,
the answer mode); "run every check" also logs in to IMAP and SMTP as `doctor` does,
which can take seconds when a server does not answer.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from mailbot.ops.checks import FAIL, PASS, WARN, Check
from mailbot.ops.doctor import run_checks
from mailbot.ops.health import check_answer_mode, check_breakers, check_fetches, check_outbox
from mailbot.web.context import Ctx, page


@page(admin=True)
def health(ctx: Ctx) -> Response:
    full = ctx.request.query_params.get("doctor") == "1" and ctx.config.path is not None
    checks: list[Check]
    if full:
        checks = run_checks(ctx.config.path)
    else:
        db, now = ctx.web.db, ctx.now
        checks = [
            *check_answer_mode(ctx.config, now),
            *check_fetches(ctx.config, db, now),
            *check_outbox(db, now),
            *check_breakers(db, now),
        ]
    counts = {s: sum(c.status == s for c in checks) for s in (PASS, WARN, FAIL)}
    return ctx.render("health.html", checks=checks, counts=counts, full=full)


ROUTES = [Route("/health", health, methods=["GET"], name="health")]
NAV = [("/health", "Health", True)]
