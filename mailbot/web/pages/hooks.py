"""Webhooks from the team's tracker: POST /hooks/tracker/{project key}.

No session and no CSRF token: the request is verified by its signature instead
(`connectors.webhooks`). Set it up in the tracker with the URL and the project's
`webhook_secret` (docs/integrations.md).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailbot.connectors.webhooks import MAX_BODY_BYTES, handle


async def tracker_hook(request: Request) -> Response:
    web = request.app.state.web
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return JSONResponse({"detail": "too large"}, status_code=413)
    body = await request.body()
    answer = await run_in_threadpool(
        handle,
        web.config,
        web.db,
        request.path_params["key"],
        dict(request.headers),
        body,
        now=web.clock(),
    )
    return JSONResponse({"detail": answer.detail}, status_code=answer.status)


ROUTES = [Route("/hooks/tracker/{key}", tracker_hook, methods=["POST"], name="tracker_hook")]
