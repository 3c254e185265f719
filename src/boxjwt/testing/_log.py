"""The emulator's request log: what tests assert on ("exactly one token request")."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RequestLog", "RequestRecord"]

_REDACTED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def redact_headers(headers: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, str]:
    """Header dict with credentials replaced (``Authorization: Bearer <redacted>``)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        if name.lower() in _REDACTED_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} <redacted>".strip()
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received, and how it answered. Holds no secret: the
    ``Authorization`` header is redacted and no request or response body is kept."""

    seq: int
    """Arrival order, from 1."""
    time: float
    """Emulator time (clock + offset) when the request arrived."""
    method: str
    path: str
    """The path without the query string."""
    endpoint: str
    """The route pattern (``"/2.0/folders/{id}"``), or the path when no route matched."""
    status: int | None
    """The answer's status; ``None`` when the connection was dropped."""
    query: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)
    response_headers: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""
    """The request ID the emulator assigned: the ``box-request-id`` header of the answer
    (``/oauth2/*`` errors carry none, as on Box)."""
    grant_type: str | None = None
    """Token endpoint: the ``grant_type`` sent."""
    client_id: str | None = None
    """Token endpoint: the ``client_id`` sent; API calls: the token's app."""
    subject_type: str | None = None
    """Token endpoint: the assertion's ``box_sub_type``; API calls: the token's subject type."""
    subject_id: str | None = None
    """Token endpoint: the assertion's ``sub``; API calls: the token owner's user ID."""
    as_user: str | None = None
    """The ``As-User`` header, if sent."""
    acting_user_id: str | None = None
    """API calls: the user the call acted as (As-User target, or the token owner)."""
    error: str | None = None
    """OAuth ``error``, API error ``code``, or the ``WWW-Authenticate`` error."""
    fault: str | None = None
    """``"status"``, ``"drop"`` or ``"delay"`` when a scripted fault answered."""
    rate_limit: str | None = None
    """Rate-limited (429) calls: the budget that was full (``"general"``, ``"upload"``,
    ``"search"``, ``"search_enterprise"``) or ``"qos"`` for a throttle."""

    def matches(self, **filters: object) -> bool:
        """Whether every filter given (not ``None``) equals this record's field; ``path``
        matches the concrete path or the route pattern, ``method`` any case."""
        for name, want in filters.items():
            if want is None:
                continue
            if name == "path":
                if want not in (self.path, self.endpoint):
                    return False
            elif name == "method":
                if self.method != str(want).upper():
                    return False
            elif getattr(self, name) != want:
                return False
        return True


class RequestLog:
    """Thread-safe, append-only list of :class:`RequestRecord`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._seq = 0

    def next_seq(self) -> int:
        """The next sequence number."""
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, record: RequestRecord) -> None:
        """Add a record."""
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """A copy of every record, in completion order."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()
