"""Scripted faults: the next N answers of an endpoint, replaced by what a test asks for."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "FaultPlan"]


@dataclass(frozen=True)
class Fault:
    """One scripted answer. ``status=None`` means "answer normally" (after ``delay``)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | Mapping[str, Any] | None = None
    """``None``: the usual error body for ``status`` in the endpoint's shape."""
    drop: bool = False
    """Close the connection without answering (the client sees a connection error)."""
    delay: float = 0.0
    """Seconds to wait (really) before answering or dropping: for client timeout tests."""

    @property
    def kind(self) -> str:
        """``"drop"``, ``"status"`` or ``"delay"``, as recorded in the request log."""
        if self.drop:
            return "drop"
        return "status" if self.status is not None else "delay"


@dataclass
class _Entry:
    endpoint: str
    method: str | None
    fault: Fault
    remaining: int


class FaultPlan:
    """Thread-safe queue of scripted faults, reached as ``emulator.faults``.

    An ``endpoint`` is a route pattern as recorded in the request log (``"/oauth2/token"``,
    ``"/2.0/users/me"``, ``"/2.0/folders/{id}"``, ``"/api/2.0/files/content"``...), a concrete
    path (``"/2.0/folders/0"``), or ``"*"`` for every request. Faults are used in the order
    they were pushed; each applies to the next ``count`` matching requests, then normal
    service resumes::

        emu.faults.push("/oauth2/token", 429, retry_after=2)            # one 429
        emu.faults.push("/2.0/users/me", 503, count=3)                  # three 503s
        emu.faults.push("/oauth2/token", 202, retry_after=1)            # "try again"
        emu.faults.push("*", drop=True)                                 # drop the next request
        emu.faults.push("/2.0/folders/{id}", delay=2.5)                 # slow, then normal
        emu.faults.push("/oauth2/token", 302, headers={"Location": other_url})
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []

    def push(
        self,
        endpoint: str = "*",
        status: int | None = None,
        *,
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | Mapping[str, Any] | None = None,
        retry_after: int | str | None = None,
        count: int = 1,
        drop: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Script the next ``count`` answers of ``endpoint`` (optionally only for ``method``).

        ``retry_after`` adds a ``Retry-After`` header (no header otherwise, unless given in
        ``headers``). ``body=None`` produces the endpoint's usual error body for ``status``
        (Box's JSON client error on ``/2.0``, the OAuth shape on ``/oauth2``; empty for 202
        and redirects). At least one of ``status``, ``drop`` or ``delay`` is required.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        if status is None and not drop and delay <= 0:
            raise ValueError("a fault needs a status, drop=True or a delay")
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"invalid HTTP status {status}")
        all_headers = dict(headers or {})
        if retry_after is not None:
            all_headers["Retry-After"] = str(retry_after)
        fault = Fault(status=status, headers=all_headers, body=body, drop=drop, delay=delay)
        with self._lock:
            self._entries.append(_Entry(endpoint, method.upper() if method else None, fault, count))

    def pending(self, endpoint: str | None = None) -> int:
        """How many scripted answers are left (for ``endpoint``, or in total)."""
        with self._lock:
            return sum(e.remaining for e in self._entries if endpoint in (None, e.endpoint))

    def clear(self) -> None:
        """Forget every scripted fault."""
        with self._lock:
            self._entries.clear()

    def take(self, method: str, path: str, endpoint: str) -> Fault | None:
        """Consume and return the first fault matching this request, if any."""
        with self._lock:
            for entry in self._entries:
                if entry.endpoint not in ("*", endpoint, path):
                    continue
                if entry.method is not None and entry.method != method:
                    continue
                entry.remaining -= 1
                if entry.remaining == 0:
                    self._entries.remove(entry)
                return entry.fault
            return None
