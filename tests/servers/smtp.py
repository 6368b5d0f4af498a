"""A throw-away SMTP server for tests: aiosmtpd's `Controller` on 127.0.0.1.

It keeps every message it accepts and can be told to refuse the next ones::

    with SmtpSink() as sink:
        config = sink.smtp_config()          # an SmtpConfig pointing at the sink
        ...send...
        assert sink.messages[0].content == raw
        sink.fail_next(2, code=451)          # the next two messages get "451 ..."
        sink.fail_next(1, code=550, stage="rcpt")
        sink.fail_next(1, code=553, stage="mail")  # the sender refused

`security="starttls"` or `"tls"` adds TLS with a fresh self-signed certificate
(`ca_file` trusts it); `users={"name": "password"}` requires AUTH (PLAIN / LOGIN);
`pipelining=False` stops it advertising PIPELINING.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailbot.config_types import Secret, SmtpConfig
from tests.servers.certificate import CertificateError, make_certificate

HOST = "127.0.0.1"
START_ATTEMPTS = 3  # a free port is picked before the server binds it; retry on a lost race
READY_TIMEOUT = 10.0
CLIENT_TIMEOUT = 10.0

# AUTH without TLS is what the plain test sink is for (loopback only); aiosmtpd warns on
# every connection otherwise.
warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)


class SmtpSinkError(RuntimeError):
    """The sink could not be set up or started."""


@dataclass(frozen=True)
class Received:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # as received, dot-unstuffed, CRLF line ends
    login: str | None  # the AUTH user, if any


@dataclass
class _Refusal:
    remaining: int
    code: int
    text: str
    stage: str  # "data", "rcpt" or "mail"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _Handler:
    """aiosmtpd handler; runs in the controller's thread, so all state sits behind a lock."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.sink.pipelining:
            # aiosmtpd reads one command line at a time, so pipelined commands are answered
            # in order; it only does not say so. The last line is "250 HELP".
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.sink._take_refusal("mail")
        if refusal is not None:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.sink._take_refusal("rcpt")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.sink._take_refusal("data")
        if refusal is not None:
            return refusal
        auth = session.auth_data  # what _authenticate put in AuthResult.auth_data
        login = auth.decode() if isinstance(auth, bytes) else None
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        self.sink._record(
            Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), content, login)
        )
        return "250 Message accepted for delivery"


class SmtpSink:
    """A private SMTP server on 127.0.0.1 that keeps what it receives.

    Attributes once started: `host`, `port`, `ca_file` (with TLS), `messages`.
    """

    def __init__(
        self,
        *,
        security: str = "none",
        users: dict[str, str] | None = None,
        pipelining: bool = True,
    ) -> None:
        """`pipelining`: advertise PIPELINING (RFC 2920), as Postfix and Exim do."""
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"security must be none, starttls or tls, not {security!r}")
        self.host = HOST
        self.port = 0
        self.security = security
        self.users = dict(users or {})
        self.pipelining = pipelining
        self.base_dir: Path | None = None
        self.ca_file: Path | None = None
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._refusals: list[_Refusal] = []
        self._controller: Controller | None = None

    # --- lifecycle -------------------------------------------------------------

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it answers."""
        if self._controller is not None:
            raise SmtpSinkError("this SmtpSink is already running")
        self.base_dir = Path(tempfile.mkdtemp(prefix="mbsmtp"))
        try:
            kwargs = self._server_kwargs()
            last: Exception | None = None
            for _ in range(START_ATTEMPTS):
                self.port = _free_port()
                controller = Controller(
                    _Handler(self),
                    hostname=HOST,
                    port=self.port,
                    ready_timeout=READY_TIMEOUT,
                    server_hostname="localhost",
                    **kwargs,
                )
                try:
                    controller.start()
                except Exception as err:  # a lost port race shows up as a bind error
                    last = err
                    time.sleep(0.05)
                    continue
                self._controller = controller
                return
            raise SmtpSinkError(f"the SMTP sink did not start: {last}")
        except BaseException:
            self._cleanup()
            raise

    def stop(self) -> None:
        """Stop the server (the port then refuses connections) and delete its files."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        self._cleanup()

    @property
    def running(self) -> bool:
        return self._controller is not None

    # --- what tests use --------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """A copy of everything accepted so far, in order."""
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._refusals.clear()

    def fail_next(
        self, count: int = 1, *, code: int = 451, text: str = "", stage: str = "data"
    ) -> None:
        """Answer the next `count` messages (stage "data"), recipients ("rcpt") or senders
        ("mail") with `code`, e.g. 451 (try again later) or 550 (refused for good)."""
        if stage not in ("data", "rcpt", "mail"):
            raise ValueError("stage must be 'data', 'rcpt' or 'mail'")
        default = "4.3.0 Try again later" if code < 500 else "5.1.1 Refused"
        with self._lock:
            self._refusals.append(_Refusal(count, code, text or default, stage))

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Wait until at least `count` messages arrived; returns them all (the timeout only
        bounds a failing test: a busy machine may take long)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.messages
            if len(received) >= count:
                return received
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def smtp_config(self, **overrides: Any) -> SmtpConfig:
        """An SmtpConfig for this sink (short timeout; login when the sink has users)."""
        user = next(iter(self.users), None)
        secret = None
        if user is not None:
            assert self.base_dir is not None
            password_file = self.base_dir / "password"
            password_file.write_text(self.users[user] + "\n")
            secret = Secret(key="smtp.password", file=password_file)
        config = SmtpConfig(
            host=self.host,
            port=self.port,
            security=self.security,
            username=user,
            secret=secret,
            timeout=CLIENT_TIMEOUT,
            from_address="team@agency.example",
            from_name="ACME Project Team",
            tls_verify=True,
            ca_file=self.ca_file,
        )
        return replace(config, **overrides)

    # --- internals -------------------------------------------------------------

    def _server_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.security != "none":
            assert self.base_dir is not None
            try:
                cert, key = make_certificate(self.base_dir)
            except CertificateError as error:
                raise SmtpSinkError(str(error)) from None
            self.ca_file = cert
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if self.security == "tls":
                kwargs["ssl_context"] = context
            else:
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = True
        if self.users:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            # aiosmtpd cannot tell implicit TLS from plain, and plain AUTH is fine on loopback.
            kwargs["auth_require_tls"] = self.security == "starttls"
        return kwargs

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True, auth_data=data.login)
        return AuthResult(success=False, handled=False)

    def _take_refusal(self, stage: str) -> str | None:
        with self._lock:
            for refusal in self._refusals:
                if refusal.stage == stage and refusal.remaining > 0:
                    refusal.remaining -= 1
                    return f"{refusal.code} {refusal.text}"
            return None

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def _cleanup(self) -> None:
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
