"""An HTTP/1.1 transport for httpx on asyncio's own streams and h11: the CPU of a call, cut.

httpx's default transport goes through httpcore and anyio; per call that costs about five
times the CPU of the bare protocol work (measured against the emulator: 1.3 ms against 0.24 ms
per call), which on a small machine decides how many calls one event loop can make. This
transport speaks HTTP/1.1 with ``h11`` (httpcore's own parser) over ``asyncio`` streams:

- a pool per origin of kept-alive connections (last used first), at most ``max_connections``
  in all, at most ``max_keepalive_connections`` idle, each idle for at most
  ``keepalive_expiry`` seconds; a connection the server closed while idle is never reused;
- httpx's timeouts (``connect``, ``read``, ``write``, ``pool``) and exceptions
  (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``, ...), so that callers cannot tell
  it from httpx's own;
- a response body streamed as it arrives; a connection goes back to the pool only after its
  answer was read to the end, else (and on any error or cancellation) it is closed.

HTTP/2, proxies and Unix sockets are not its business: :func:`fast_client` keeps httpx's own
transports for proxied origins (``HTTPS_PROXY``...), and a client of your own keeps whatever
transport you gave it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import h11
import httpx

__all__ = ["H11Transport", "fast_client"]

_READ: Final = 64 * 1024
Origin = tuple[str, str, int]


class _Connection:
    __slots__ = ("h11", "idle_since", "origin", "reader", "writer")

    def __init__(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    def usable(self, now: float, expiry: float | None) -> bool:
        """Fit to send another request: not closed by the server meanwhile, not expired."""
        if self.reader.at_eof() or self.writer.is_closing():
            return False
        return expiry is None or now - self.idle_since < expiry


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    found: Any = request.extensions.get("timeout") or {}
    return {k: found.get(k) for k in ("connect", "read", "write", "pool")}


async def _within(
    seconds: float | None,
    awaitable: Any,
    error: type[httpx.TimeoutException],
    request: httpx.Request,
) -> Any:
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise error("timed out", request=request) from None


class H11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams (see the module documentation)."""

    def __init__(self, limits: httpx.Limits, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._max = limits.max_connections or 2**31
        idle = limits.max_keepalive_connections
        self._max_idle = self._max if idle is None else idle
        self._expiry = limits.keepalive_expiry
        self._ssl = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._idle: dict[Origin, collections.deque[_Connection]] = {}
        self._idle_count = 0
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    # ------------------------------------------------------------------ the pool

    async def _acquire(self, origin: Origin, request: httpx.Request) -> _Connection:
        """A kept-alive connection to ``origin``, else a new one when the pool has room (an
        idle connection to another origin makes room), else wait for an event of the pool."""
        pool_timeout = _timeouts(request)["pool"]
        while True:
            connection = self._take_idle(origin)
            if connection is not None:
                return connection
            if self._open < self._max:
                self._open += 1
                return await self._connect(origin, request)
            if self._idle_count:
                self._drop_oldest_idle()
                continue
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await _within(pool_timeout, waiter, httpx.PoolTimeout, request)
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled or timed out: pass the turn on
                raise

    def _drop_oldest_idle(self) -> None:
        for queue in self._idle.values():
            if queue:
                self._idle_count -= 1
                self._forget(queue.popleft())
                return

    def _forget(self, connection: _Connection) -> None:
        """A connection leaves the pool for good: close it and free its slot."""
        connection.close()
        self._forget_slot()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        queue = self._idle.get(origin)
        now = time.monotonic()
        while queue:
            connection = queue.pop()
            self._idle_count -= 1
            if connection.usable(now, self._expiry):
                return connection
            self._forget(connection)
        return None

    def _give_back(self, connection: _Connection) -> None:
        if self._closed or self._idle_count >= self._max_idle:
            self._forget(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.origin, collections.deque()).append(connection)
        self._idle_count += 1
        self._wake()

    async def _connect(self, origin: Origin, request: httpx.Request) -> _Connection:
        """Open a connection in the slot the caller took (given back on failure)."""
        scheme, host, port = origin
        timeouts = _timeouts(request)
        try:
            tls = self._ssl if scheme == "https" else None
            reader, writer = await _within(
                timeouts["connect"],
                asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_READ
                ),
                httpx.ConnectTimeout,
                request,
            )
        except httpx.TimeoutException:
            self._forget_slot()
            raise
        except (OSError, ssl.SSLError) as exc:
            self._forget_slot()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:
            self._forget_slot()
            raise
        return _Connection(origin, reader, writer)

    def _forget_slot(self) -> None:
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        """Something changed in the pool: the longest waiter looks again."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    # ------------------------------------------------------------------ one exchange

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        origin: Origin = (url.scheme, url.host, port)
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}", request=request)
        connection = await self._acquire(origin, request)
        try:
            status, reason, headers = await self._exchange(connection, request)
        except BaseException:
            self._forget(connection)
            raise
        return httpx.Response(
            status,
            headers=headers,
            stream=_Body(self, connection, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def _exchange(
        self, connection: _Connection, request: httpx.Request
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        timeouts = _timeouts(request)
        target = request.url.raw_path
        events: list[Any] = [
            h11.Request(method=request.method, target=target, headers=request.headers.raw)
        ]
        try:
            data = connection.h11.send(events[0]) or b""
            stream: Any = request.stream
            async for chunk in stream:
                if chunk:
                    data += connection.h11.send(h11.Data(data=chunk)) or b""
                    if len(data) >= _READ:
                        connection.writer.write(data)
                        await _within(
                            timeouts["write"],
                            connection.writer.drain(),
                            httpx.WriteTimeout,
                            request,
                        )
                        data = b""
            data += connection.h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        try:
            connection.writer.write(data)
            await _within(timeouts["write"], connection.writer.drain(), httpx.WriteTimeout, request)
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None
        while True:
            event = await _next_event(connection, request, timeouts["read"])
            if isinstance(event, h11.InformationalResponse):
                continue
            assert isinstance(event, h11.Response)  # noqa: S101 - h11's contract
            return event.status_code, event.reason, list(event.headers)

    async def aclose(self) -> None:
        self._closed = True
        for queue in self._idle.values():
            while queue:
                self._idle_count -= 1
                self._forget(queue.pop())


async def _next_event(
    connection: _Connection, request: httpx.Request, read_timeout: float | None
) -> Any:
    while True:
        try:
            event = connection.h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        if event is not h11.NEED_DATA:
            if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            return event
        try:
            data = await _within(
                read_timeout, connection.reader.read(_READ), httpx.ReadTimeout, request
            )
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        try:
            connection.h11.receive_data(data)
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives; the connection goes back to the pool once it has been
    read to the end (and is closed when the body is closed early)."""

    def __init__(self, transport: H11Transport, connection: _Connection, request: httpx.Request):
        self._transport = transport
        self._connection: _Connection | None = connection
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        read_timeout = _timeouts(self._request)["read"]
        try:
            while True:
                event = await _next_event(connection, self._request, read_timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
        except BaseException:
            await self.aclose()
            raise
        self._connection = None
        state = connection.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            self._transport._give_back(connection)
        else:
            self._transport._forget(connection)

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:  # closed before the end: the connection cannot be reused
            self._transport._forget(connection)


def fast_client(limits: httpx.Limits) -> httpx.AsyncClient:
    """``httpx.AsyncClient(limits=limits)`` (proxies and certificates from the environment, as
    by default) whose direct connections go through an :class:`H11Transport`."""
    client = httpx.AsyncClient(limits=limits)
    if hasattr(client, "_transport"):
        client._transport = H11Transport(limits, ssl_context=_client_ssl(client))
    return client


def _client_ssl(client: httpx.AsyncClient) -> ssl.SSLContext | None:
    """The SSL context httpx made for ``client`` (``SSL_CERT_FILE`` and all), if reachable."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    context = getattr(pool, "_ssl_context", None)
    return context if isinstance(context, ssl.SSLContext) else None
