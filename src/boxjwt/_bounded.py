"""Reading an answer within limits, over ``requests``: a total deadline and a size cap.

A ``requests`` read timeout bounds each wait for the next bytes, not the whole answer: a server
trickling one byte every half second holds a call (and, for a token refresh, the subject's
lock) for as long as it likes, and a 30 MB body is read whole. :func:`bounded_request` reads an
answer so that it must arrive whole (status line, headers and body) within a deadline, and
reads at most a given number of its body's bytes (:class:`boxjwt._http.ReadLimits`; the limits
of each purpose are named in :mod:`boxjwt._http`).

How: one watchdog thread shuts a connection's socket down when its answer's deadline passes
(a blocked read then returns at once). Sessions with a :class:`BoundedAdapter` mounted (the
authenticator's own) are watched from the status line on, any other session from the first
body byte on. Outside :func:`bounded_request` nothing changes.

**One pool per origin.** ``api.box.com`` serves ``/oauth2/token`` and ``/2.0`` alike, so a
cold process should open one connection, not one for its token and another for its first
call. The authenticator's private session is a :class:`TokenSession`: while an
:class:`~boxjwt.AsUserSession` sends (:func:`lending_pool`), a token request made on its
behalf, in that thread, borrows that session's :class:`BoundedAdapter` (its urllib3 pools),
and nothing else: headers, cookies, proxies, ``trust_env``, ``verify`` and the request's
own timeout, deadline, size cap and "no redirects" stay the token session's. An adapter the
caller mounted is never borrowed (its retries or TLS settings are not the token endpoint's).
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import threading
import time
from typing import Any, Final, TypeVar

import requests
import requests.adapters
from urllib3 import connection as urllib3_connection
from urllib3 import connectionpool as urllib3_pool

from boxjwt._http import ERROR_READ_BYTES, ReadLimits
from boxjwt.exceptions import TransportError

__all__ = [
    "AnswerDeadlineExceeded",
    "BoundedAdapter",
    "TokenSession",
    "bounded_request",
    "error_text",
    "lending_pool",
    "mount_bounded_adapters",
    "read_at_most",
    "was_truncated",
]

_CHUNK: Final = 16 * 1024
_S = TypeVar("_S", bound=requests.Session)
_TRUNCATED_ATTR: Final = "_boxjwt_truncated"


# --------------------------------------------------------------------------- reading what is left


def read_at_most(response: requests.Response, limit: int) -> bytes:
    """The body of ``response``, reading at most ``limit`` bytes of it if it is not read yet.

    A body already read (``stream=False``) is returned whole. When more than ``limit`` bytes
    were left, the connection is closed (never reused with unread bytes) and
    :func:`was_truncated` is true. A read error ends the body (without the failed read's part).
    """
    content: object = getattr(response, "_content", False)
    if isinstance(content, bytes):
        return content
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
    except requests.RequestException:
        pass  # what arrived is all there is
    body = b"".join(chunks)
    if size > limit:
        body = body[:limit]
        setattr(response, _TRUNCATED_ATTR, True)
    response.close()
    _set_body(response, body)
    return body


def _set_body(response: requests.Response, body: bytes) -> None:
    # How requests holds a body it has read: .content, .text and .json() use it.
    response._content = body
    setattr(response, "_content_consumed", True)  # noqa: B010 - untyped in types-requests


def error_text(response: requests.Response) -> str:
    """The text of an error answer, of which at most 64 KiB are read (see :func:`read_at_most`).

    A body read whole already (``stream=False``) is returned whole: the exception built from it
    keeps at most ``boxjwt.exceptions.MAX_ERROR_BODY`` characters.
    """
    read_at_most(response, ERROR_READ_BYTES)
    return response.text


def was_truncated(response: requests.Response) -> bool:
    """Whether :func:`bounded_request` (or :func:`read_at_most`) stopped reading ``response``
    at its limit."""
    return bool(getattr(response, _TRUNCATED_ATTR, False))


# --------------------------------------------------------------------------- the watchdog


class _Watch:
    """One answer's deadline: when it passes, its socket is shut down (reads then see EOF)."""

    __slots__ = ("done", "fired", "lock", "sock", "when")

    def __init__(self, when: float, sock: socket.socket | None) -> None:
        self.when = when
        self.sock = sock
        self.done = False
        self.fired = False
        self.lock = threading.Lock()

    def fire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.done = self.fired = True
            sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also for TLS sockets: wakes a blocked read.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        with self.lock:
            self.done = True


class _Watchdog:
    """One daemon thread firing :class:`_Watch` es at their deadlines (earliest first)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.when, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="boxjwt-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    heapq.heappop(self._heap)[2].fire()
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(None if timeout is None else min(timeout, threading.TIMEOUT_MAX))


_watchdog = _Watchdog()


def _reset_after_fork() -> None:  # pragma: no cover - runs in a forked child
    global _watchdog  # noqa: PLW0603 - the child has no watchdog thread: start afresh
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_reset_after_fork)


class _Exchange:
    """The limits of one :func:`bounded_request` and the watch of its latest answer."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.watch: _Watch | None = None

    def arm(self, sock: socket.socket | None) -> None:
        """Start the deadline of a new answer (a retry's answer gets a fresh one)."""
        if self.watch is not None:
            self.watch.cancel()
        self.watch = _Watch(time.monotonic() + self.limits.deadline, sock)
        _watchdog.add(self.watch)

    @property
    def fired(self) -> bool:
        return self.watch is not None and self.watch.fired

    def close(self) -> None:
        if self.watch is not None:
            self.watch.cancel()


_current: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "boxjwt_exchange", default=None
)


# --------------------------------------------------------------------------- the adapter


class _WatchedHTTPConnection(urllib3_connection.HTTPConnection):
    """Arms the current exchange's deadline before waiting for the status line."""

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        exchange = _current.get()
        if exchange is not None:
            exchange.arm(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3_connection.HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        exchange = _current.get()
        if exchange is not None:
            exchange.arm(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(urllib3_pool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3_pool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_DEFAULT_POOLS: Final = {
    "http": urllib3_pool.HTTPConnectionPool,
    "https": urllib3_pool.HTTPSConnectionPool,
}
_WATCHED_POOLS: Final = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _watch_pools(manager: Any) -> None:
    """Use the watched pools in a urllib3 pool manager that uses the default ones."""
    if getattr(manager, "pool_classes_by_scheme", None) == _DEFAULT_POOLS:
        manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)


class BoundedAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose connections honour :func:`bounded_request`'s deadline from the
    status line on (plain, TLS and proxied connections; not SOCKS proxies). Outside
    :func:`bounded_request` it behaves exactly as ``HTTPAdapter``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        _watch_pools(manager)
        return manager


def mount_bounded_adapters(session: _S) -> _S:
    """Mount a :class:`BoundedAdapter` for ``http://`` and ``https://`` on ``session``."""
    session.mount("https://", BoundedAdapter())
    session.mount("http://", BoundedAdapter())
    return session


#: The session whose pool a token request made in this thread (or task) may borrow.
lending_pool: contextvars.ContextVar[requests.Session | None] = contextvars.ContextVar(
    "boxjwt_lending_pool", default=None
)


class TokenSession(requests.Session):
    """The authenticator's own session for ``/oauth2/*``: :class:`BoundedAdapter` s mounted,
    and the pool of the session in :data:`lending_pool` borrowed when both adapters are
    boxjwt's (see the module documentation)."""

    def __init__(self) -> None:
        super().__init__()
        mount_bounded_adapters(self)

    def get_adapter(self, url: str) -> requests.adapters.BaseAdapter:
        """The lender's adapter for ``url`` when both are :class:`BoundedAdapter` s, else ours."""
        own = super().get_adapter(url)
        lender = lending_pool.get()
        if lender is not None and isinstance(own, BoundedAdapter):
            try:
                lent = lender.get_adapter(url)
            except requests.exceptions.InvalidSchema:  # the lender unmounted its adapters
                return own
            if isinstance(lent, BoundedAdapter):
                return lent
        return own


# --------------------------------------------------------------------------- reading


class AnswerDeadlineExceeded(requests.exceptions.ReadTimeout):
    """The whole answer did not arrive within the deadline (a ``requests`` read timeout)."""


def _socket_of(response: requests.Response) -> socket.socket | None:
    connection = getattr(response.raw, "connection", None) or getattr(
        response.raw, "_connection", None
    )
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _too_slow(exchange: _Exchange, request: Any) -> AnswerDeadlineExceeded:
    return AnswerDeadlineExceeded(
        f"no complete answer within {exchange.limits.deadline:g} s (the deadline for a whole "
        "answer: the server is too slow, or is trickling it)",
        request=request,
    )


def _read_body(response: requests.Response, exchange: _Exchange) -> bytes:
    limit = exchange.limits.max_bytes
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def bounded_request(
    session: requests.Session, method: str, url: str, *, limits: ReadLimits, **kwargs: Any
) -> requests.Response:
    """``session.request(method, url, **kwargs)``, read within ``limits``.

    The answer (each answer, if the session retries) must arrive whole within
    ``limits.deadline`` seconds, or :class:`AnswerDeadlineExceeded` (a
    ``requests.ReadTimeout``: map it with ``transport_error``) is raised, whatever the session;
    the session's other errors (e.g. an :class:`~boxjwt.AsUserSession`'s
    :class:`~boxjwt.exceptions.TransportError`) propagate as they are. At
    most ``limits.max_bytes`` of the body are kept: when there was more, the connection is
    closed and :func:`was_truncated` is true. The returned response is fully read
    (``.content``, ``.text`` and ``.json()`` work; ``.raw`` is spent).
    """
    exchange = _Exchange(limits)
    token = _current.set(exchange)
    try:
        try:
            response = session.request(method, url, stream=True, **kwargs)
            if exchange.watch is None:  # a session without BoundedAdapter: watch the body
                exchange.arm(_socket_of(response))
            body = _read_body(response, exchange)
        except requests.RequestException as exc:
            if exchange.fired:
                raise _too_slow(exchange, exc.request) from None
            raise
        except TransportError:  # an AsUserSession's own wrapping of a requests error
            if exchange.fired:
                raise _too_slow(exchange, None) from None
            raise
        if exchange.fired:  # the shutdown may look like the end of a read-until-close body
            response.close()
            raise _too_slow(exchange, response.request)
        if len(body) > limits.max_bytes:
            response.close()  # do not reuse a connection with unread bytes
            body = body[: limits.max_bytes]
            setattr(response, _TRUNCATED_ATTR, True)
        _set_body(response, body)
        return response
    finally:
        exchange.close()
        _current.reset(token)
