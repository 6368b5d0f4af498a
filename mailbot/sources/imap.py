"""IMAP mail source on imapclient: UIDs only, capabilities checked once at connect time.

This is the only module that imports imapclient. Every network or protocol
failure leaves it as a `SourceError` (a wrong login as `SourceAuthError`),
so the daemon can reconnect with backoff without knowing about imapclient.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from imapclient import IMAPClient
from imapclient.exceptions import (
    CapabilityError,
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from imapclient.imapclient import _parse_untagged_response

from mailbot.config_types import DEFAULT_IDLE_RENEW, MailboxConfig
from mailbot.errors import ConfigError, SourceError
from mailbot.message import RawMail
from mailbot.text import plural

log = logging.getLogger("mailbot.sources.imap")

PROCESSED_KEYWORD = "$MailbotProcessed"  # set with \Seen when processed mail stays in the inbox
STOP_CHECK_INTERVAL = 0.5  # seconds; how quickly IDLE notices the stop event
SECURITY_MODES = ("tls", "starttls", "none")
AUTH_METHODS = ("password", "xoauth2")
CONFIG_SEPARATOR = "/"  # folder names in the config use "/"; translated to the server's separator
_DEAD_IDLE_CHECKS = 3  # empty IDLE reads in a row that return at once: the server hung up


class SourceAuthError(SourceError):
    """The server refused our credentials: retrying will not help until the config changes."""

    code = "MB301"
    retryable = False


class ImapSource:
    """One IMAP folder as a `Source`; use it as a context manager (connects and logs in)."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        stop_event: threading.Event | None = None,
        ignore_capabilities: Iterable[str] = (),
    ) -> None:
        """`stop_event` ends `wait()` early (set it from a signal handler);
        `ignore_capabilities` pretends the server lacks some (e.g. "MOVE"), for tests."""
        if config.security not in SECURITY_MODES:
            raise ConfigError(
                f"mailbox.security is {config.security!r}",
                f"use one of {', '.join(SECURITY_MODES)}",
            )
        if config.auth not in AUTH_METHODS:
            raise ConfigError(
                f"mailbox.auth is {config.auth!r}", f"use one of {', '.join(AUTH_METHODS)}"
            )
        self.config = config
        self.account = config.account
        self.folder = config.folders.inbox
        self.stop_event = stop_event or threading.Event()
        self._ignored = {name.upper() for name in ignore_capabilities}
        self._where = f"{config.host}:{config.port}"
        self._client: IMAPClient | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._separator = CONFIG_SEPARATOR
        self._prefix = ""
        self._uidvalidity = 0
        self._permanent_flags: tuple[bytes, ...] = ()

    # --- connection ------------------------------------------------------------

    def __enter__(self) -> ImapSource:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect, secure, log in, check capabilities, create our folders, select the inbox."""
        config = self.config
        context = self._ssl_context()
        with self._errors(f"connecting to {self._where}"):
            self._client = IMAPClient(
                config.host,
                config.port,
                ssl=config.security == "tls",
                ssl_context=context,
                timeout=config.timeout,
            )
        try:
            if config.security == "starttls":
                with self._errors(f"STARTTLS with {self._where}"):
                    self._client.starttls(context)
            self._login()
            with self._errors(f"setting up the session on {self._where}"):
                self._read_capabilities()
                self._read_namespace()
                for name in (config.folders.processed, config.folders.failed):
                    if name is not None:
                        self._ensure_folder(name)
                self._select()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Log out; never raises, since it runs after errors on half-dead connections."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception as err:  # the connection is often already gone here
            log.debug("logout from %s failed (%s); closing the socket", self._where, err)
            with suppress(Exception):
                client.shutdown()

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.config.security == "none":
            if self.config.host not in ("127.0.0.1", "::1", "localhost"):
                log.warning("security = none: the password goes to %s unencrypted", self._where)
            return None
        ca_file = str(self.config.ca_file) if self.config.ca_file else None
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(
                f"mailbox.ca_file: cannot load {ca_file}: {getattr(err, 'strerror', None) or err}",
                "point mailbox.ca_file at a PEM file with the CA certificate",
            ) from None
        if not self.config.tls_verify:
            log.warning("TLS certificate checks are off for %s (tls_verify = false)", self._where)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _login(self) -> None:
        config = self.config
        secret = config.secret.reveal() if config.secret is not None else ""
        with self._errors(f"login to {self._where} as {config.username}"):
            if config.auth == "xoauth2":
                self.client.oauth2_login(config.username, secret)
            else:
                self.client.login(config.username, secret)

    def _read_capabilities(self) -> None:
        names = {cap.decode("ascii", "replace").upper() for cap in self.client.capabilities()}
        self._capabilities = frozenset(names - self._ignored)
        log.info(
            "connected to %s as %s: MOVE %s, UIDPLUS %s, IDLE %s%s",
            self._where,
            self.config.username,
            *("yes" if self.has(cap) else "no" for cap in ("MOVE", "UIDPLUS", "IDLE")),
            "" if self.config.idle else " (idle disabled in the config)",
        )
        if not self.has("MOVE") and not self.has("UIDPLUS"):
            log.warning(
                "%s has neither MOVE nor UIDPLUS: moved mail stays behind flagged \\Deleted "
                "(we never EXPUNGE other people's deleted mail)",
                self._where,
            )

    def has(self, capability: str) -> bool:
        """True if the server advertised *capability* (and it is not ignored)."""
        return capability.upper() in self._capabilities

    @property
    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    def list_folders(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every folder as (name in the config's '/' spelling, its flags such as '\\Junk')."""
        found = []
        with self._errors(f"listing the folders on {self._where}"):
            rows = self.client.list_folders()
        for flags, _separator, name in rows:
            shown = str(name)
            if self._separator != CONFIG_SEPARATOR:
                shown = shown.replace(self._separator, CONFIG_SEPARATOR)
            labels = tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags)
            found.append((shown, labels))
        return found

    def _read_namespace(self) -> None:
        """The separator and personal prefix (e.g. "INBOX." on Courier-style servers)."""
        if self.has("NAMESPACE"):
            personal = self.client.namespace().personal
            if personal and personal[0][1]:
                self._prefix, self._separator = str(personal[0][0]), str(personal[0][1])
                return
        for _flags, separator, _name in self.client.list_folders("", ""):
            if separator:
                sep = separator.decode() if isinstance(separator, bytes) else str(separator)
                self._separator = sep
                return

    def _server_name(self, name: str) -> str:
        """A config folder name ("mailbot/processed") as the server spells it."""
        server_name = name.replace(CONFIG_SEPARATOR, self._separator)
        if server_name.upper() == "INBOX" or not self._prefix:
            return server_name
        # Folders outside the personal prefix cannot be created there; INBOX/x is already in.
        return server_name if server_name.startswith(self._prefix) else self._prefix + server_name

    def _ensure_folder(self, name: str) -> None:
        server_name = self._server_name(name)
        if self.client.folder_exists(server_name):
            return
        try:
            self.client.create_folder(server_name)
        except IMAPClientError:
            # Another mailbot instance may have created it in between; only that is fine.
            if not self.client.folder_exists(server_name):
                raise
        log.info("created folder %s on %s", server_name, self._where)

    def _select(self) -> None:
        try:
            info = self.client.select_folder(self._server_name(self.folder))
        except IMAPClientAbortError:
            raise  # the connection broke: reported by the caller's _errors, not as a folder issue
        except IMAPClientError as err:
            raise SourceError(
                f"cannot open folder {self.folder!r} on {self._where}: {_describe(err)}",
                "check mailbox.folders.inbox",
            ) from None
        self._uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        self._take_announcements()  # SELECT's own EXISTS: what the first SEARCH will see
        self._permanent_flags = tuple(info.get(b"PERMANENTFLAGS", ()))

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise SourceError(f"not connected to {self._where}", "use the source in a with block")
        return self._client

    # --- the Source protocol ------------------------------------------------------

    def uidvalidity(self) -> int:
        """UIDVALIDITY of the inbox folder, as reported by SELECT."""
        return self._uidvalidity

    def fetch(self, after_uid: int, batch_size: int) -> Iterator[list[RawMail]]:
        """Yield batches of messages with UID > after_uid, oldest first; never marks them \\Seen."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        with self._errors(f"searching {self.folder} on {self._where}"):
            # NOOP first: the server tells a selected session about new mail only between
            # commands, so without it a SEARCH misses mail that arrived since the last one.
            self.client.noop()
            # What the server announced so far is in the view this SEARCH sees; what it
            # announces from here on (with SEARCH, FETCH or MOVE answers) is kept for wait().
            self._take_announcements()
            found = self.client.search(["UID", f"{after_uid + 1}:*"])
        # "N:*" always matches the highest UID, even when it is <= after_uid: filter.
        uids = sorted(uid for uid in found if uid > after_uid)
        for start in range(0, len(uids), batch_size):
            chunk = uids[start : start + batch_size]
            with self._errors(f"fetching from {self.folder} on {self._where}"):
                # BODY.PEEK leaves \Seen alone, so people reading the inbox see what is new.
                response = self.client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            mails = []
            for uid in chunk:
                body = response.get(uid, {}).get(b"BODY[]")
                if body is None:  # expunged by someone else since the search
                    log.debug("UID %d vanished from %s before it was fetched", uid, self.folder)
                    continue
                arrived = response.get(uid, {}).get(b"INTERNALDATE")
                mails.append(
                    RawMail(uid=uid, key=str(uid), data=bytes(body), arrived_at=_utc(arrived))
                )
            if mails:
                yield mails

    def mark_processed(self, mails: list[RawMail]) -> None:
        """Move to the processed folder, or flag \\Seen in place if there is none."""
        if not mails:
            return
        processed = self.config.folders.processed
        if processed is not None:
            self._move(mails, processed)
            return
        flags = [b"\\Seen"]
        if b"\\*" in self._permanent_flags or PROCESSED_KEYWORD.encode() in self._permanent_flags:
            flags.append(PROCESSED_KEYWORD.encode())
        with self._errors(f"flagging processed mail in {self.folder} on {self._where}"):
            self.client.add_flags([mail.uid for mail in mails], flags, silent=True)

    def mark_failed(self, mails: list[RawMail]) -> None:
        """Move to the failed folder, where a person looks at them."""
        if mails:
            self._move(mails, self.config.folders.failed)

    def _move(self, mails: list[RawMail], folder: str) -> None:
        uids = [mail.uid for mail in mails]
        target = self._server_name(folder)
        with self._errors(f"moving {plural(len(uids), 'message')} to {folder} on {self._where}"):
            if self.has("MOVE"):
                self.client.move(uids, target)
                return
            self.client.copy(uids, target)
            self.client.add_flags(uids, [b"\\Deleted"], silent=True)
            if self.has("UIDPLUS"):
                # Only our UIDs: a plain EXPUNGE would also remove mail others marked \Deleted.
                self.client.uid_expunge(uids)

    def wait(self, timeout: float) -> bool:
        """Block until the server reports new mail (IDLE) or a poll is due; True if new mail."""
        if self.stop_event.is_set():
            return False
        if self._take_announcements():
            # New mail was announced with the answer to another command since the last
            # SEARCH; IDLE would not announce it again, so look now instead of idling.
            log.debug("%s announced new mail since the last search; looking again", self._where)
            return True
        if self.config.idle and self.has("IDLE"):
            if self._idle(timeout) or self.stop_event.is_set():
                return not self.stop_event.is_set()
            self._reselect()
            return False
        # Polling: the stop event ends the sleep early, e.g. on SIGTERM.
        if self.stop_event.wait(min(timeout, self.config.poll_interval)):
            return False
        with self._errors(f"polling {self._where}"):
            _text, responses = self.client.noop()
        return _has_new_mail(responses)

    def _reselect(self) -> None:
        """Open the inbox again after a quiet IDLE: a folder deleted and made anew under
        a selected session (new UIDVALIDITY) is not announced, and IDLE on it stays
        silent; SELECT shows it, and the next intake rescans the folder."""
        before = self._uidvalidity
        with self._errors(f"opening {self.folder} again on {self._where}"):
            self._select()
        if self._uidvalidity != before:
            log.warning(
                "%s on %s was made anew (UIDVALIDITY %s -> %s)",
                self.folder,
                self._where,
                before,
                self._uidvalidity,
            )

    def _idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # RFC 2177: servers may drop an IDLE after 29 minutes, so renew it before.
            if self._idle_once(min(remaining, DEFAULT_IDLE_RENEW)):
                return True
        return False

    def _idle_once(self, span: float) -> bool:
        """One IDLE command for at most *span* seconds; True when the server reports new mail."""
        end = time.monotonic() + span
        new_mail = hung_up = False
        quick_empty = 0
        with self._errors(f"waiting for mail (IDLE) on {self._where}"):
            self.client.idle()
            try:
                while not new_mail and not self.stop_event.is_set():
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    # Short slices, so a stop event is noticed within STOP_CHECK_INTERVAL.
                    piece = min(left, STOP_CHECK_INTERVAL)
                    started = time.monotonic()
                    responses = self._buffered_responses() or self.client.idle_check(timeout=piece)
                    bye = _bye_text(responses)
                    # idle_check also returns [] at once on EOF; a few in a row means the
                    # server hung up (a single one can be a partly received line).
                    quick = not responses and time.monotonic() - started < piece / 2
                    quick_empty = quick_empty + 1 if quick else 0
                    hung_up = bye is not None or quick_empty >= _DEAD_IDLE_CHECKS
                    if hung_up:
                        reason = f" ({bye})" if bye else ""
                        raise ConnectionResetError(f"the server closed the connection{reason}")
                    new_mail = _has_new_mail(responses)
            finally:
                if not hung_up:  # DONE on a closed connection would only add a second error
                    _text, responses = self.client.idle_done()
                    new_mail = new_mail or _has_new_mail(responses)
                    self._take_announcements()  # those are in `responses` already
        return new_mail

    def _buffered_responses(self) -> list[object]:
        """Whole response lines imaplib has already read from the socket but nobody parsed.

        The server often sends its first IDLE news ("* 5 EXISTS") in the same packet as
        "+ idling"; imaplib's buffered reader takes both, and imapclient's idle_check
        waits on the socket, which has nothing more to say: the news would sit there until
        DONE. A partial line is left alone: the rest arrives on the socket.
        """
        imap = self.client._imap
        sock = self.client.socket()
        responses: list[object] = []
        while True:
            sock.setblocking(False)
            try:
                waiting = imap.file.peek(1)  # what the buffer holds; no wait on the socket
            except (BlockingIOError, ssl.SSLWantReadError):  # nothing buffered, none coming
                waiting = b""
            finally:
                sock.setblocking(True)
                self.client._set_read_timeout()
            if b"\n" not in (waiting or b""):
                return responses
            responses.append(_parse_untagged_response(imap._get_line()))

    def _take_announcements(self) -> bool:
        """True if the server announced new mail (EXISTS, RECENT > 0) since the last call.

        imaplib files every untagged response a command brings under its name; imapclient
        reads only those it asked for, so an EXISTS that came with a SEARCH, FETCH or MOVE
        answer would be lost. The lists are emptied here too: over months of MOVEs they
        would otherwise only grow.
        """
        client = self._client
        untagged = getattr(getattr(client, "_imap", None), "untagged_responses", None)
        if not isinstance(untagged, dict):
            return False
        exists = untagged.pop("EXISTS", [])
        recent = untagged.pop("RECENT", [])
        for name in ("EXPUNGE", "VANISHED"):
            untagged.pop(name, None)
        return bool(exists) or any(_count(value) > 0 for value in recent)

    # --- errors -------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn imapclient, socket and TLS errors into SourceError with a plain sentence."""
        try:
            yield
        except LoginError as err:
            raise SourceAuthError(
                f"{action} failed: {_describe(err)}",
                "check mailbox.username and the password (or the OAuth2 token)",
            ) from None
        except CapabilityError as err:
            raise SourceError(
                f"{action} failed: the server lacks a needed capability ({_describe(err)})",
                'check mailbox.security: use "tls" or "none" if STARTTLS is not offered',
            ) from None
        except ssl.SSLCertVerificationError as err:
            raise SourceError(
                f"{action} failed: the TLS certificate is not trusted ({err.verify_message})",
                "set mailbox.ca_file to the CA that signed the server's certificate",
            ) from None
        except ssl.SSLError as err:
            raise SourceError(
                f"{action} failed: TLS error ({err.reason or err})",
                "check mailbox.security and mailbox.port (TLS is usually 993, STARTTLS 143)",
            ) from None
        except ConnectionRefusedError:
            raise SourceError(
                f"{action} failed: connection refused",
                "check mailbox.host and mailbox.port, and that the server is running",
            ) from None
        except TimeoutError:
            raise SourceError(
                f"{action} failed: no answer within {self.config.timeout:g}s",
                "check the network and mailbox.timeout; the daemon will retry",
            ) from None
        except (IMAPClientError, OSError) as err:
            raise SourceError(
                f"{action} failed: {_describe(err)}",
                "the daemon reconnects by itself; if this persists, check the server",
            ) from None


def _has_new_mail(responses: Iterable[object]) -> bool:
    """True if untagged responses include EXISTS or a non-zero RECENT."""
    for item in responses:
        if not (isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], int)):
            continue  # e.g. (b"OK", b"Still here")
        if item[1] == b"EXISTS" or (item[1] == b"RECENT" and item[0] > 0):
            return True
    return False


def _count(value: object) -> int:
    """The number of an untagged "* N RECENT" as imaplib files it (b"3")."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _bye_text(responses: Iterable[object]) -> str | None:
    """The text of an untagged BYE (the server is closing the connection), if any."""
    for item in responses:
        if isinstance(item, tuple) and item and item[0] == b"BYE":
            return b" ".join(part for part in item[1:] if isinstance(part, bytes)).decode(
                "utf-8", "replace"
            )
    return None


def _describe(err: BaseException) -> str:
    """The server's text without Python's b'...' wrapping, e.g. "[AUTHENTICATIONFAILED] ..."."""
    text = str(err) or type(err).__name__
    match = re.fullmatch(r"b(['\"])(.*)\1", text, re.DOTALL)
    return match.group(2) if match else text


def _utc(moment: object) -> datetime | None:
    """INTERNALDATE as an aware UTC time (imapclient gives naive local time by default)."""
    if not isinstance(moment, datetime):
        return None
    return moment.astimezone(UTC)  # a naive value is taken as local time, as imapclient means
