"""A connection pool for many concurrent calls: httpcore's, with a linear assignment step.

httpcore 1.x re-plans its whole pool at every request event: for each idle connection it counts
the idle connections again (quadratic), checks every idle socket for readability, and for each
queued request scans every connection twice. With 32 connections in use that costs more CPU
than the rest of the call (measured: 5.3 ms per call at 32 connections, 2.4 ms at 16), so one
event loop could not keep up with 32 threads. :class:`LeanPool` makes the same decisions in one
pass: drop closed connections, close surplus idle ones, then hand each queued request the first
available connection for its origin (one request per free HTTP/1.1 connection; whether it has
expired is checked on that connection alone), else a new connection, else one made in place of
an idle connection. Waiting, cancellation, closing and errors stay httpcore's.

:func:`lean_client` and :func:`lean_transport` change the class of an
``httpx.AsyncHTTPTransport``'s pool (a client's proxies keep theirs), and only when that pool is
exactly httpcore 1.x's ``AsyncConnectionPool`` with the attributes this relies on; otherwise
the transport keeps httpcore's own pool.
"""

from __future__ import annotations

from typing import Any, Final

import httpcore
import httpx

__all__ = ["LeanPool", "lean_client", "lean_transport"]

_NEEDED: Final = (
    "_connections",
    "_requests",
    "_max_connections",
    "_max_keepalive_connections",
    "create_connection",
)


class LeanPool(httpcore.AsyncConnectionPool):
    """``httpcore.AsyncConnectionPool`` with a one-pass ``_assign_requests_to_connections``."""

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        kept: list[Any] = []
        idle = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle():
                if idle >= self._max_keepalive_connections:
                    closing.append(connection)
                    continue
                idle += 1
            kept.append(connection)
        self._connections = kept
        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return closing
        available = [connection for connection in kept if connection.is_available()]
        spares = [connection for connection in kept if connection.is_idle()]
        for pool_request in queued:
            full = len(self._connections) >= self._max_connections
            if full and not available and not spares:
                break  # nothing is free: every other queued request waits for an event too
            origin = pool_request.request.url.origin
            found = self._take(available, spares, origin, closing)
            if found is not None:
                pool_request.assign_to_connection(found)
                continue
            if len(self._connections) >= self._max_connections:
                if not spares:
                    continue  # the pool is full and busy: the request waits for an event
                spare = spares.pop()
                if spare in available:
                    available.remove(spare)
                self._connections.remove(spare)
                closing.append(spare)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _take(
        self, available: list[Any], spares: list[Any], origin: httpcore.Origin, closing: list[Any]
    ) -> Any | None:
        """The first available connection for ``origin`` that has not expired (its keep-alive
        time is over, or the server closed it: checked here, on the one connection handed
        out, not on every idle connection at every event); expired ones are closed."""
        index = 0
        while index < len(available):
            connection = available[index]
            if not connection.can_handle_request(origin):
                index += 1
                continue
            del available[index]  # one request per free connection and event
            if connection in spares:
                spares.remove(connection)
            if connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


def lean_transport(limits: httpx.Limits, **kwargs: Any) -> httpx.AsyncHTTPTransport:
    """An ``httpx.AsyncHTTPTransport(limits=limits, **kwargs)`` whose pool is a
    :class:`LeanPool` (when the installed httpcore has the pool this expects)."""
    transport = httpx.AsyncHTTPTransport(limits=limits, **kwargs)
    _make_lean(transport)
    return transport


def lean_client(limits: httpx.Limits) -> httpx.AsyncClient:
    """``httpx.AsyncClient(limits=limits)`` (proxies and certificates from the environment, as
    by default) whose direct connections use a :class:`LeanPool`."""
    client = httpx.AsyncClient(limits=limits)
    _make_lean(getattr(client, "_transport", None))
    return client


def _make_lean(transport: object) -> None:
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and all(hasattr(pool, n) for n in _NEEDED):
        pool.__class__ = LeanPool
