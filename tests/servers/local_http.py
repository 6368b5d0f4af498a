"""A threaded HTTP server on 127.0.0.1 that stands in for a platform in tests.

A subclass's `handle(seen)` is the platform: it checks the request against the platform's
documented format and answers as the platform does; a request that breaks the format is
answered 400 and listed in `violations`. `fail_next` plays back refusals first (429 with
Retry-After, 500, an error code in the body) and `clear_failures` forgets them.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Canned:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class Refused(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class LocalServer:
    """A threaded HTTP server on loopback; `handle` is the platform."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self._canned: deque[Canned] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                server._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` requests with this refusal instead of the platform's."""
        for _ in range(times):
            self._canned.append(Canned(status, headers or {}, body))

    def clear_failures(self) -> None:
        """Forget the refusals not played yet: the platform is back."""
        with self._lock:
            self._canned.clear()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        seen = Seen(handler.command, url.path, urllib.parse.parse_qs(url.query), headers, body)
        with self._lock:
            self.requests.append(seen)
            canned = self._canned.popleft() if self._canned else None
        if canned is not None:
            status, answer, extra = canned.status, canned.body, canned.headers
        else:
            try:
                with self._lock:
                    status, answer = self.handle(seen)
                extra = {}
            except Refused as err:
                status, answer, extra = err.status, err.body, err.headers
        data = (
            b""
            if answer is None
            else (answer.encode() if isinstance(answer, str) else json.dumps(answer).encode())
        )
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def violation(self, what: str) -> Refused:
        self.violations.append(what)
        return Refused(400, {"errors": [what]})

    def handle(self, seen: Seen) -> tuple[int, Any]:
        raise NotImplementedError
