"""A TCP proxy on 127.0.0.1 that cuts a connection at a chosen point, for fault tests.

Every connection to `proxy.port` is relayed to the target. Arm a cut and the next
connection to reach the point is closed on both sides, mid-stream::

    with CuttingProxy(dovecot.host, dovecot.imap_port) as proxy:
        proxy.cut("down", after=b" FETCH (", extra=2000)   # inside a message's bytes
        proxy.cut("up", after=b"UID MOVE", line=True)      # the server got MOVE, we never hear
        proxy.cut("up", before=b"UID MOVE")                # MOVE never reaches the server
        proxy.cut("down", at_byte=5000)                    # the 5000th byte from the server
        assert proxy.fired.wait(10)

"down" is server → client, "up" client → server. A cut fires once; `proxy.cuts` counts
those that fired. `proxy.refuse(True)` makes new connections close at once (no greeting).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

HOST = "127.0.0.1"
CHUNK = 4096


@dataclass
class _Cut:
    direction: str
    after: bytes | None
    before: bytes | None
    extra: int
    line: bool
    at_byte: int | None
    nth: int
    seen: int = 0  # bytes in this direction since the cut was armed
    matches: int = 0


class CuttingProxy:
    """Relays 127.0.0.1:port to (host, target_port); see the module docstring."""

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self.port = 0
        self.cuts = 0
        self.connections = 0
        self.fired = threading.Event()
        self._refusing = False
        self._cut: _Cut | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()

    def __enter__(self) -> CuttingProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(16)
        self._listener = listener
        self.port = listener.getsockname()[1]
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        self.drop_all()

    def cut(
        self,
        direction: str,
        *,
        after: bytes | None = None,
        before: bytes | None = None,
        extra: int = 0,
        line: bool = False,
        at_byte: int | None = None,
        nth: int = 1,
    ) -> None:
        """Arm one cut: at the *nth* *after* (then *extra* more bytes, or the rest of its
        line), just before *before*, or at byte *at_byte* of the stream from now."""
        if direction not in ("up", "down"):
            raise ValueError("direction is 'up' (client → server) or 'down'")
        if sum(x is not None for x in (after, before, at_byte)) != 1:
            raise ValueError("give exactly one of after, before, at_byte")
        with self._lock:
            self.fired.clear()
            self._cut = _Cut(direction, after, before, extra, line, at_byte, nth)

    def refuse(self, refusing: bool) -> None:
        """While refusing, every new connection is closed at once; open ones go on."""
        self._refusing = refusing

    def drop_all(self) -> None:
        """Close every relayed connection now (as a server restart would)."""
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    # --- relaying ----------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            if self._refusing:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self.connections += 1
                self._open.update((client, server))
            for source, sink, direction in ((client, server, "up"), (server, client, "down")):
                threading.Thread(
                    target=self._pump,
                    args=(source, sink, client, server, direction),
                    name=f"proxy-{direction}",
                    daemon=True,
                ).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        client: socket.socket,
        server: socket.socket,
        direction: str,
    ) -> None:
        tail = b""  # the end of the last chunk, so a pattern split across chunks is seen
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                keep = self._check(direction, tail, data)
            tail = (tail + data)[-64:]
            try:
                if keep:
                    sink.sendall(data[:keep] if keep is not True else data)
            except OSError:
                break
            if keep is not True:
                self.cuts += 1
                self.fired.set()
                break
        for sock in (client, server):
            _close(sock)
        with self._lock:
            self._open.discard(client)
            self._open.discard(server)

    def _check(self, direction: str, tail: bytes, data: bytes) -> int | bool:
        """True to pass the whole chunk on; else how many of its bytes go before the cut."""
        cut = self._cut
        if cut is None or cut.direction != direction:
            return True
        start = cut.seen
        cut.seen += len(data)
        if cut.at_byte is not None:
            if cut.seen < cut.at_byte:
                return True
            self._cut = None
            return max(0, cut.at_byte - start)
        pattern = cut.after if cut.after is not None else cut.before
        assert pattern is not None
        joined = tail + data
        offset = len(tail)
        position = joined.find(pattern, max(0, offset - len(pattern) + 1))
        while position != -1:
            cut.matches += 1
            if cut.matches == cut.nth:
                break
            position = joined.find(pattern, position + 1)
        if position == -1:
            return True
        if cut.before is not None:
            end = position
        elif cut.line:
            newline = joined.find(b"\n", position)
            end = len(joined) if newline == -1 else newline + 1
        else:
            end = position + len(pattern) + cut.extra
        if end - offset >= len(data):
            if cut.after is not None and not cut.line and cut.extra:
                # The cut point lies beyond this chunk: count down in the next ones.
                self._cut = _Cut(direction, None, None, 0, False, end - offset - len(data), 1)
            else:
                self._cut = None
                return len(data)
            return True
        self._cut = None
        return max(0, end - offset)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
