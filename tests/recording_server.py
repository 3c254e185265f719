"""The scripted HTTP server of the tests: records what it receives, answers what it is told.

Plays "another host" (where Box credentials must never arrive) and, with scripted answers,
any answer a test needs that the emulator never gives (odd error shapes, redirects, a dropped
connection); with raw answers (:class:`Trickle`, :class:`Flood`) a hostile server that trickles
its answer byte by byte or floods a huge body. Real HTTP over loopback; nothing is mocked. The
one such server of the test suite::

    with RecordingServer() as srv:
        srv.script(Answer(429, {"Retry-After": "1"}, b""), Answer(200, body={"ok": True}))
        ...  # point the code under test at srv.url
        assert [r.path for r in srv.received] == [...]

By default it answers like an ordinary server (``Server`` and ``Date`` headers, a JSON
``Content-Type`` unless the answer names one) and, once the script is used up, with
``200 {"ok": true}``. ``RecordingServer(auto_headers=False)`` sends only the scripted headers
(plus ``Content-Length``), for tests where the presence of ``Date`` or ``Content-Type`` matters;
``otherwise=`` sets the answer after the script.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs

__all__ = [
    "DROP",
    "Answer",
    "Flood",
    "Received",
    "RecordingServer",
    "Trickle",
    "echo",
    "recording_server",
]


@dataclass(frozen=True)
class Received:
    """One request as the server saw it; ``headers`` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The body as an ``application/x-www-form-urlencoded`` form (first value per name)."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


Body = bytes | str | Mapping[str, Any]


@dataclass(frozen=True)
class Answer:
    """A scripted answer. ``body`` may be computed from the request (see :func:`echo`);
    ``drop=True`` closes the connection without answering at all."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body | Callable[[Received], Body] = b'{"ok": true}'
    drop: bool = False
    #: When set, writes the whole raw answer (status line included) instead; the connection
    #: is closed afterwards.
    raw: Callable[[BinaryIO], None] | None = None

    def encoded(self, request: Received) -> bytes:
        body = self.body(request) if callable(self.body) else self.body
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        return json.dumps(body).encode("utf-8")


def echo(template: str) -> Callable[[Received], str]:
    """A body that repeats the request body where ``template`` says ``{echo}`` (JSON-escaped),
    like a server that quotes the request back in its error message."""

    def body(request: Received) -> str:
        return template.replace("{echo}", json.dumps(request.body.decode("utf-8"))[1:-1])

    return body


DROP = Answer(drop=True)


class RecordingServer:
    """``with RecordingServer() as srv``: ``srv.url``, ``srv.received``, ``srv.script(...)``."""

    def __init__(self, *, auto_headers: bool = True, otherwise: Answer | None = None) -> None:
        self.received: list[Received] = []
        self._script: list[Answer] = []
        self._otherwise = otherwise if otherwise is not None else Answer()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def _read_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def handle_one(self) -> None:
                body = self._read_body()
                record = Received(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = owner._next(record)
                if answer.drop:
                    self.close_connection = True
                    return
                if answer.raw is not None:
                    self.close_connection = True
                    answer.raw(self.wfile)
                    return
                payload = answer.encoded(record)
                if auto_headers:
                    self.send_response(answer.status)
                else:
                    self.send_response_only(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if auto_headers and "content-type" not in {k.lower() for k in answer.headers}:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_one  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def script(self, *answers: Answer) -> None:
        """Queue answers for the next requests (then the ``otherwise`` answer)."""
        with self._lock:
            self._script.extend(answers)

    def reset(self) -> None:
        """Forget the script and the requests received (for a server shared between tests)."""
        with self._lock:
            self._script.clear()
            self.received.clear()

    def _next(self, record: Received) -> Answer:
        with self._lock:
            self.received.append(record)
            return self._script.pop(0) if self._script else self._otherwise

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def recording_server(**options: Any) -> Iterator[RecordingServer]:
    """A started :class:`RecordingServer`, stopped afterwards."""
    with RecordingServer(**options) as server:
        yield server


class Trickle:
    """A raw answer written one byte every ``interval`` seconds, up to ``limit`` bytes.

    ``head`` is written whole first, then ``tail`` byte by byte: ``part="status"`` trickles
    the status line, ``part="headers"`` the headers and ``part="body"`` the body (after headers
    promising it). ``trickled`` counts the bytes trickled before the client hung up. A client
    that waits for all ``limit`` bytes gets a complete answer with ``body`` (except for
    ``"status"``): a slow but correct server.
    """

    def __init__(
        self,
        *,
        part: str = "body",
        interval: float = 0.02,
        limit: int = 400,
        status: int = 200,
        body: bytes = b'{"access_token": "T", "expires_in": 3600}',
    ) -> None:
        self.interval = interval
        self.limit = limit
        self.trickled = 0
        self.finished = threading.Event()
        padding = b" " * limit
        if part == "status":
            self.head = b"HTTP/1.1 "
            self.tail = padding  # never a complete status line
        elif part == "headers":
            self.head = f"HTTP/1.1 {status} X\r\nX-Slow: ".encode()
            self.tail = padding + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        else:
            self.head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n" % (
                status,
                limit + len(body),
            )
            self.tail = padding + body

    def __call__(self, out: BinaryIO) -> None:
        try:
            out.write(self.head)
            for i in range(len(self.tail)):
                if i < self.limit:
                    time.sleep(self.interval)
                    self.trickled += 1
                    out.write(self.tail[i : i + 1])
                else:
                    out.write(self.tail[i:])
                    break
        except OSError:
            pass  # the client hung up: what we wanted
        finally:
            self.finished.set()


class Flood:
    """A raw answer with a huge body (``size`` bytes, ``Content-Length`` given), written as fast
    as the client takes it. ``sent`` counts body bytes the socket accepted before the client
    hung up (the kernel's buffers included)."""

    def __init__(self, *, status: int = 400, size: int = 64 * 1024 * 1024) -> None:
        self.status = status
        self.size = size
        self.sent = 0
        self.finished = threading.Event()

    def __call__(self, out: BinaryIO) -> None:
        chunk = b'{"error": "' + b"a" * (64 * 1024 - 11)
        try:
            out.write(
                b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (self.status, self.size)
            )
            while self.sent < self.size:
                piece = chunk[: self.size - self.sent]
                out.write(piece)
                self.sent += len(piece)
        except OSError:
            pass  # the client hung up: what we wanted
        finally:
            self.finished.set()
