"""What Box's answers look like on the wire: headers, JSON objects, HTTP dates, Retry-After.

Pure functions over plain values (a headers mapping, a body's text), free of ``requests``, so
that every transport (the ``requests`` one today, an asyncio one later) reads answers the same
way. This is the one place HTTP dates are parsed.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "get_header",
    "json_object",
    "opt_str",
    "parse_http_date",
    "parse_retry_after",
    "server_time",
]


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value, case-insensitively, from any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object, or None (not JSON, or JSON of another type)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def opt_str(value: object) -> str | None:
    """``str(value)``, or None for None and the empty string."""
    if value is None or value == "":
        return None
    return str(value)


def parse_http_date(value: str | None) -> float | None:
    """An HTTP date (RFC 9110: IMF-fixdate, RFC 850 or asctime) as Unix seconds.

    None when absent, unreadable, or without a time zone (a date whose zone is unknown cannot
    be compared with anything).
    """
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    seconds = when.timestamp()
    return seconds if math.isfinite(seconds) else None


def server_time(headers: Mapping[str, str]) -> float | None:
    """Box's clock from the ``Date`` header (Unix seconds), or None if absent or unreadable."""
    return parse_http_date(get_header(headers, "date"))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``now`` (Unix seconds, ideally the server's ``Date``) is needed for the date form; without
    it the local clock is used. Anything unreadable, negative or not finite gives None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        seconds = max(when - (time.time() if now is None else now), 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
