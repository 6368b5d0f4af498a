"""A throw-away Dovecot IMAP server for tests.

Everything lives in a fresh temporary directory: config, passwd file,
self-signed certificate, sockets, logs and the users' Maildirs. Nothing is
read from /etc/dovecot. Typical use::

    with DovecotServer() as server:
        account = server.add_account()
        account.append("INBOX", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        config = account.mailbox_config()

Dovecot refuses to run mail processes as root, so when the tests run as root
every Dovecot process except the master runs as the `dovecot` system user;
as a normal user everything runs as that user.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailbot.config_types import Folders, MailboxConfig, Secret
from tests.servers.certificate import CertificateError, make_certificate

HOST = "127.0.0.1"
START_TIMEOUT = 15.0  # seconds to wait for the IMAP greeting
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3  # free ports are picked before Dovecot binds them; retry on a lost race
CLIENT_TIMEOUT = 10.0


class DovecotError(RuntimeError):
    """Dovecot could not be set up or started; the message carries its log."""


def dovecot_available() -> bool:
    """True if the Dovecot binaries needed by `DovecotServer` are installed."""
    return _find_binary("dovecot") is not None


def _find_binary(name: str) -> str | None:
    # /usr/sbin is often missing from a non-root PATH.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def _free_ports(count: int) -> list[int]:
    """Ports that were free a moment ago (all held open together so they differ)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass(frozen=True)
class DovecotAccount:
    """One mail user on a running `DovecotServer`, with helpers for test setup."""

    server: DovecotServer = field(repr=False)
    user: str
    password: str
    password_file: Path

    def client(self, *, tls: bool = False, folder: str | None = None) -> IMAPClient:
        """A logged-in IMAPClient (plain port, or the TLS port trusting the test CA)."""
        if tls:
            context = ssl.create_default_context(cafile=str(self.server.ca_file))
            client = IMAPClient(
                HOST,
                self.server.imaps_port,
                ssl=True,
                ssl_context=context,
                timeout=CLIENT_TIMEOUT,
            )
        else:
            client = IMAPClient(HOST, self.server.imap_port, ssl=False, timeout=CLIENT_TIMEOUT)
        try:
            client.login(self.user, self.password)
            if folder is not None:
                client.select_folder(folder)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, folder: str, data: bytes, flags: tuple[str, ...] = ()) -> int:
        """APPEND one message (creating the folder if needed); returns its UID."""
        return self.append_many(folder, [data], flags)[0]

    def append_many(
        self,
        folder: str,
        messages: list[bytes],
        flags: tuple[str, ...] = (),
        times: list[datetime] | None = None,
    ) -> list[int]:
        """APPEND several messages over one connection; returns their UIDs in order.

        `times` sets each message's INTERNALDATE (when it reached the server), e.g. in the
        past for a backlog.
        """
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            uids = []
            for n, data in enumerate(messages):
                when = times[n] if times else None
                response = client.append(folder, data, flags=flags, msg_time=when)
                uids.append(_appenduid(response))
            return uids

    def folders(self) -> list[str]:
        """Names of all folders of this user."""
        with self.client() as client:
            return sorted(name for _flags, _sep, name in client.list_folders())

    def messages(self, folder: str) -> dict[int, bytes]:
        """UID → exact bytes of every message in *folder* (empty if it does not exist)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return {uid: item[b"BODY[]"] for uid, item in sorted(fetched.items())}

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        """UID → flags of every message in *folder*."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return dict(sorted(client.get_flags(uids).items())) if uids else {}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as client:
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def refuse_logins(self, refusing: bool = True) -> None:
        """Make the server refuse (or accept again) this user's password, as after a
        password change; Dovecot sees the change within a second."""
        # Another length too: Dovecot rereads the file when its size or mtime second changes.
        password = "refused-" + secrets.token_urlsafe(12) if refusing else self.password
        self.server._write_passwd(self.user, password)

    def kick(self) -> None:
        """Disconnect all of this user's IMAP sessions, as a server restart would."""
        self.server.doveadm("kick", self.user)

    def renewed(self) -> DovecotAccount:
        """The account after its credential was renewed, as an OAuth token is by the tool
        that refreshes it: the new one is written to `password_file` (mailbot reads it at
        each login), the server takes only the new one, and its sessions are dropped."""
        # Another length each time: Dovecot rereads a passwd file when its size changes.
        prefix = "tok-" if self.password.startswith("token-") else "token-"
        password = prefix + secrets.token_urlsafe(16)
        self.password_file.write_text(password + "\n")
        self.server._write_passwd(self.user, password)
        account = replace(self, password=password)
        self.server._accounts[self.user] = account
        deadline = time.monotonic() + 30  # Dovecot looks at the file at most once a second
        while True:
            try:
                account.client().logout()
                break
            except LoginError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with suppress(DovecotError):  # no session open right now: nothing to drop
            self.kick()
        return account

    def mailbox_config(self, **overrides: Any) -> MailboxConfig:
        """A MailboxConfig for this user on the plain port (security "none").

        The password comes from a file (`Secret(file=...)`), so no environment
        variable has to be set. Any MailboxConfig field can be overridden; use
        `server.tls_overrides()` for the implicit-TLS port.
        """
        config = MailboxConfig(
            name=f"{self.user}@dovecot-test",
            kind="imap",
            host=HOST,
            port=self.server.imap_port,
            security="none",
            username=self.user,
            auth="password",
            secret=Secret(key="mailbox.password", file=self.password_file),
            tls_verify=True,
            ca_file=self.server.ca_file,
            folders=Folders(),
            poll_interval=1.0,
            idle=True,
            batch_size=100,
            timeout=CLIENT_TIMEOUT,
        )
        return replace(config, **overrides)


def _appenduid(response: bytes) -> int:
    """The new UID from an APPEND response: b'[APPENDUID 1700000000 7] Append completed.'"""
    text = response.decode("ascii", "replace")
    if "APPENDUID" not in text:
        raise DovecotError(f"APPEND response without APPENDUID: {text!r}")
    return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])


class DovecotServer:
    """A private Dovecot on 127.0.0.1 with a plain IMAP port and an implicit-TLS port.

    `start()` / `stop()` or use it as a context manager. Attributes once started:
    `host`, `imap_port`, `imaps_port`, `ca_file` (the self-signed certificate,
    also the CA to trust), `base_dir`, and a default account `user` / `password`.
    """

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        separator: str = "/",
        namespace_prefix: str = "",
    ) -> None:
        """*separator* and *namespace_prefix* shape the folder namespace; e.g. "." and
        "INBOX." imitate a Courier-style server where every folder lives under INBOX."""
        self.host = HOST
        self.separator = separator
        self.namespace_prefix = namespace_prefix
        self.imap_port = 0
        self.imaps_port = 0
        self.base_dir: Path | None = None
        self._users = dict(users or {"alice": "alice-secret", "bob": "bob-secret"})
        self._accounts: dict[str, DovecotAccount] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        self._mail_uid, self._mail_gid, self._run_user = self._pick_identity()

    # --- lifecycle -------------------------------------------------------------

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Write the config, start Dovecot and wait until it greets on the IMAP port."""
        if self._process is not None:
            raise DovecotError("this DovecotServer is already running")
        binary = _find_binary("dovecot")
        if binary is None:
            raise DovecotError("dovecot is not installed (apt-get install dovecot-imapd)")
        # A short path: Unix socket paths must stay under 108 bytes.
        self.base_dir = Path(tempfile.mkdtemp(prefix="mbdc", dir="/tmp"))
        try:
            # The mail processes (uid dovecot when we are root) must reach the homes below.
            self.base_dir.chmod(0o755)
            self._make_certificate()
            for user, password in self._users.items():
                self._write_user(user, password)
            last_error: DovecotError | None = None
            for _ in range(START_ATTEMPTS):
                self.imap_port, self.imaps_port = _free_ports(2)
                self._write_config()
                try:
                    self._launch(binary)
                    return
                except DovecotError as err:
                    last_error = err
                    if "Address already in use" not in str(err):
                        raise
            assert last_error is not None
            raise last_error
        except BaseException:
            self._cleanup()
            raise

    def stop(self) -> None:
        """Stop Dovecot and delete every file it had."""
        self._terminate()
        self._cleanup()

    def restart(self) -> None:
        """Stop Dovecot and start it again on the same ports with the same mail; every
        session is dropped, as in a server upgrade."""
        binary = _find_binary("dovecot")
        if binary is None:
            raise DovecotError("dovecot is not installed")
        # The imap processes here outlive their master's SIGTERM; a real restart (and
        # shutdown_clients) ends them: so end them first.
        with suppress(DovecotError):  # nobody connected
            self.doveadm("kick", "*")
        self._terminate()
        self._launch(binary)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # --- accounts --------------------------------------------------------------

    @property
    def user(self) -> str:
        return next(iter(self._users))

    @property
    def password(self) -> str:
        return self._users[self.user]

    @property
    def ca_file(self) -> Path:
        return self._dir / "cert.pem"

    @property
    def log_file(self) -> Path:
        return self._dir / "dovecot.log"

    def account(self, user: str | None = None) -> DovecotAccount:
        """The account for *user* (default: the first configured user)."""
        return self._accounts[user or self.user]

    def add_account(self, user: str | None = None, password: str | None = None) -> DovecotAccount:
        """Create a new user with an empty mailbox, usable at once (no restart needed)."""
        user = user or f"u{next(self._counter)}-{secrets.token_hex(3)}"
        password = password or secrets.token_urlsafe(12)
        self._users[user] = password
        return self._write_user(user, password)

    # Shortcuts on the default account, for quick setup in tests.
    def client(self, *, tls: bool = False, folder: str | None = None) -> IMAPClient:
        return self.account().client(tls=tls, folder=folder)

    def append(self, folder: str, data: bytes, flags: tuple[str, ...] = ()) -> int:
        return self.account().append(folder, data, flags)

    def mailbox_config(self, **overrides: Any) -> MailboxConfig:
        return self.account().mailbox_config(**overrides)

    def tls_overrides(self) -> dict[str, Any]:
        """MailboxConfig overrides for the implicit-TLS port trusting the test certificate."""
        return {"port": self.imaps_port, "security": "tls", "ca_file": self.ca_file}

    def doveadm(self, *args: str) -> str:
        """Run `doveadm` against this server (e.g. "kick", user); returns its output."""
        binary = _find_binary("doveadm")
        if binary is None:
            raise DovecotError("doveadm is not installed")
        done = subprocess.run(
            [binary, "-c", str(self._dir / "dovecot.conf"), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if done.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def log(self) -> str:
        """Dovecot's log so far (for error messages)."""
        try:
            return self.log_file.read_text(errors="replace")
        except (OSError, DovecotError):
            return ""

    # --- internals ---------------------------------------------------------------

    @property
    def _dir(self) -> Path:
        if self.base_dir is None:
            raise DovecotError("the DovecotServer has not been started")
        return self.base_dir

    @staticmethod
    def _pick_identity() -> tuple[int, int, str]:
        if os.geteuid() != 0:
            entry = pwd.getpwuid(os.geteuid())
            return entry.pw_uid, entry.pw_gid, entry.pw_name
        try:
            entry = pwd.getpwnam("dovecot")
        except KeyError:
            raise DovecotError(
                "running as root but there is no 'dovecot' system user to run mail processes as"
            ) from None
        return entry.pw_uid, entry.pw_gid, entry.pw_name

    def _make_certificate(self) -> None:
        try:
            cert, _ = make_certificate(self._dir)
        except CertificateError as error:
            raise DovecotError(str(error)) from None
        assert cert == self.ca_file

    def _write_user(self, user: str, password: str) -> DovecotAccount:
        home = self._dir / "home" / user
        (home / "Maildir").mkdir(parents=True, exist_ok=True)
        for path in (self._dir / "home", home, home / "Maildir"):
            os.chown(path, self._mail_uid, self._mail_gid)
        password_file = self._dir / "secrets" / user
        password_file.parent.mkdir(exist_ok=True)
        password_file.write_text(password + "\n")
        self._write_passwd(user, password)
        account = DovecotAccount(self, user, password, password_file)
        self._accounts[user] = account
        return account

    def _write_passwd(self, user: str, password: str) -> None:
        # One passwd file per user: Dovecot stats a passwd file at most once a second, so
        # appending to a shared one would hide a user added right after the last login.
        home = self._dir / "home" / user
        passwd = self._dir / "passwd" / user
        passwd.parent.mkdir(exist_ok=True)
        passwd.write_text(
            f"{user}:{{PLAIN}}{password}:{self._mail_uid}:{self._mail_gid}::{home}::\n"
        )

    def _write_config(self) -> None:
        base = self._dir
        chroot = "" if os.geteuid() != 0 else "login"
        config = f"""\
# Generated by tests/servers/dovecot.py; nothing here is read from /etc/dovecot.
protocols = imap
listen = {HOST}
base_dir = {base}/run
state_dir = {base}/state
instance_name = mailbot-test-{base.name}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
auth_verbose = yes
# Answer a wrong password at once instead of after 2 s.
auth_failure_delay = 0
default_internal_user = {self._run_user}
default_internal_group = {grp.getgrgid(self._mail_gid).gr_name}
default_login_user = {self._run_user}
first_valid_uid = {self._mail_uid}
last_valid_uid = {self._mail_uid}
first_valid_gid = 0

ssl = yes
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
disable_plaintext_auth = no
# XOAUTH2 without an oauth2 passdb: Dovecot checks the token like a password.
auth_mechanisms = plain login xoauth2

mail_location = maildir:~/Maildir
# Throw-away mail: skip fsync, which dominates the time of bulk APPENDs.
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = {self.separator}
  prefix = {self.namespace_prefix}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/passwd/%u
}}
userdb {{
  driver = passwd-file
  args = {base}/passwd/%u
  override_fields = uid={self._mail_uid} gid={self._mail_gid}
}}

service imap-login {{
  chroot = {chroot}
  inet_listener imap {{
    address = {HOST}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
# No delays after failed logins: the tests log in with wrong passwords on purpose.
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        (base / "dovecot.conf").write_text(config)

    def _launch(self, binary: str) -> None:
        conf = self._dir / "dovecot.conf"
        self.log_file.write_text("")
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            status = self._process.poll()
            if status is not None:
                stdout = self._process.stdout
                output = stdout.read().decode(errors="replace") if stdout else ""
                self._process = None
                raise DovecotError(
                    f"dovecot exited at start-up with status {status}\n"
                    f"--- output ---\n{output}\n--- log ---\n{self.log()}"
                )
            if self._greets():
                return
            time.sleep(0.05)
        log = self.log()
        self._terminate()
        raise DovecotError(
            f"dovecot did not greet on {HOST}:{self.imap_port} in {START_TIMEOUT:.0f}s\n{log}"
        )

    def _greets(self) -> bool:
        try:
            with socket.create_connection((HOST, self.imap_port), timeout=1) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            # SIGTERM makes the master stop all its children before it exits.
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()

    def _cleanup(self) -> None:
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        self._accounts.clear()
