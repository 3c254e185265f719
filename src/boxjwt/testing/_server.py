"""HTTP/1.1 plumbing: a threading server whose handler sends each response in one write.

(The stdlib handler writes the status line, headers and body in separate sends; on a kept-alive
connection Nagle plus delayed ACK then stall every request by ~40 ms. Here each response is
one ``sendall`` and ``TCP_NODELAY`` is set as well.)
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from boxjwt.testing._http import Response

__all__ = ["Dispatcher", "EmulatorHTTPServer"]

Dispatcher = Callable[[str, str, dict[str, str], bytes], "Response | None"]
"""``(method, target, headers, body) -> Response``, or ``None`` to drop the connection."""

MAX_BODY = 64 * 1024 * 1024


class _BadRequestError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BoxEmulator"
    timeout = 300  # idle keep-alive connections end eventually
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)
        delay = self.server.connect_latency
        if delay > 0:  # a TLS handshake's round trips, paid once per connection
            time.sleep(delay)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr line."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError as exc:
                    raise _BadRequestError from exc
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError as exc:
            raise _BadRequestError from exc
        if not 0 <= size <= MAX_BODY:
            raise _BadRequestError
        return self.rfile.read(size)

    def _send(self, response: Response) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + response.body)

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _BadRequestError:
            self.close_connection = True
            self._send(Response(400, b"bad request body", [("Content-Type", "text/plain")]))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.dispatch(self.command, self.path, headers, body)
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle  # noqa: N815


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A :class:`ThreadingHTTPServer` (daemon threads) that can close its live connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default listen backlog of 5 resets bursts of clients

    def __init__(self, address: tuple[str, int], dispatch: Dispatcher) -> None:
        self.dispatch = dispatch
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._accepted = 0
        self.connect_latency = 0.0
        """Seconds each new connection waits before its first request is read (real time)."""
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        """Remember (or forget) a live connection."""
        with self._connections_lock:
            if add:
                self._accepted += 1
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    @property
    def connections_accepted(self) -> int:
        """How many connections have been accepted so far (a kept-alive one counts once)."""
        with self._connections_lock:
            return self._accepted

    @property
    def open_connections(self) -> int:
        """How many accepted connections are still open."""
        with self._connections_lock:
            return len(self._connections)

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client simply went away; print anything else (an emulator bug)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def close_connections(self) -> None:
        """Shut down every live (kept-alive) connection."""
        with self._connections_lock:
            live = list(self._connections)
            self._connections.clear()
        for connection in live:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
